#pragma once
// Every node the bot has heard of in this run: the radio's NodeDB from each handshake, kept
// current from live packets. (Persistence and key pinning come with the node store.)

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mesh.pb.h"
#include "radio/radio_info.hpp"

namespace meshbot::nodes {

// io_context thread only.
class NodeDirectory {
public:
    using Listener = std::function<void(const pb::NodeInfo& node)>;

    // Replaces what the radio told us in a handshake (nodes we heard before stay known).
    void on_handshake(const radio::RadioInfo& radio);
    // Learns from a live packet: names and keys (NODEINFO), position, device metrics, and
    // header data (last heard, SNR, hops). Calls the listener when something changed.
    void on_packet(const pb::MeshPacket& packet);

    std::uint32_t self_num() const { return self_; }
    const pb::NodeInfo* find(std::uint32_t num) const;
    // By number ("123", "0x7b"), "!id", short name or long name, case-insensitive; an exact
    // short name wins over a long-name match.
    const pb::NodeInfo* find(std::string_view query) const;
    void for_each(const std::function<void(const pb::NodeInfo&)>& fn) const;
    std::size_t size() const { return nodes_.size(); }

    void set_listener(Listener listener) { listener_ = std::move(listener); }

private:
    pb::NodeInfo& upsert(std::uint32_t num);

    std::uint32_t self_ = 0;
    std::unordered_map<std::uint32_t, pb::NodeInfo> nodes_;
    Listener listener_;
};

}  // namespace meshbot::nodes
