#pragma once
// What the HTTP listener reads of the running bot: the parts it shows on /metrics and the
// status page, never anything it could change.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "nodes/key_sync.hpp"
#include "nodes/node_store.hpp"
#include "plugin_host/command_router.hpp"
#include "plugin_host/plugin_host.hpp"
#include "proxy/virtual_node.hpp"
#include "radio/radio_link.hpp"

namespace meshbot::http {

// A key event the status page lists (pinned, changed, accepted, restored). Plain data.
struct KeyEventRecord {
    std::uint64_t at = 0;  // epoch seconds
    std::uint32_t node = 0;
    std::string short_name;
    const char* what = "";
    // Same-second pins are one record (a handshake pins hundreds): `node` is the first of them.
    std::uint32_t count = 1;
};

// Implemented by the bot; io_context thread only, like everything it returns.
class BotView {
public:
    virtual ~BotView() = default;
    virtual const radio::RadioLink& radio_link() const = 0;
    virtual const nodes::NodeStore& node_store() const = 0;
    virtual const nodes::KeySync& keys() const = 0;
    virtual const plugins::CommandRouter& commands() const = 0;
    virtual std::vector<plugins::PluginStatus> plugin_statuses() const = 0;
    virtual const std::deque<KeyEventRecord>& key_events() const = 0;  // oldest first
    virtual std::uint64_t text_parts_sent() const = 0;
    virtual std::uint64_t started_at() const = 0;                // epoch seconds
    virtual std::uint64_t link_changed_at() const = 0;           // epoch seconds: up or down since
    virtual const proxy::VirtualNode& virtual_node() const = 0;  // listening() false when off
};

}  // namespace meshbot::http
