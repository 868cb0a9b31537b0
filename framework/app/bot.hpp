#pragma once
// The bot: the radio link, the node store and key sync, the command router and the plugins,
// wired together.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "config/app_config.hpp"
#include "http/bot_view.hpp"
#include "nodes/key_sync.hpp"
#include "nodes/node_store.hpp"
#include "plugin_host/command_router.hpp"
#include "plugin_host/plugin_host.hpp"
#include "proxy/virtual_node.hpp"
#include "radio/radio_link.hpp"
#include "radio/warning_throttle.hpp"

namespace meshbot::app {

// Owns every long-lived part of the daemon; io_context thread only.
class Bot final : public plugins::MeshServices, public http::BotView {
public:
    Bot(boost::asio::any_io_executor executor, const config::AppConfig& config);
    ~Bot() override;

    // Locks the data directory and loads the node store (run_daemon only; `meshbot plugins`
    // never touches the store). Throws nodes::StoreError when the store cannot be used.
    void open_store();
    void load_plugins() { plugins_.load_all(); }
    // Connects to the radio, and opens the virtual node when [proxy] listen says so.
    void start();
    // Unloads the plugins, saves the store, says goodbye to the radio; `done` runs when all is
    // closed.
    void stop(std::function<void()> done);

    // The operator accepts a node's changed key (control socket, `meshbot keys accept`); the
    // radio gets the accepted key at once.
    nodes::KeyAcceptance accept_key(std::string_view node);

    // What `meshbot status` shows: the link, the nodes, whether the store is being saved.
    // ok is false while something needs the operator (e.g. keys are not being saved).
    std::pair<bool, std::string> status_text() const;

    plugins::PluginHost& plugins() { return plugins_; }
    plugins::CommandRouter& router() { return router_; }
    radio::RadioLink& link() { return link_; }
    const nodes::KeySync& key_sync() const { return key_sync_; }

    // MeshServices
    std::uint32_t send_packet(pb::MeshPacket packet, radio::SendCallback done) override;
    void send_text(std::uint32_t to, std::uint32_t channel, std::string_view text) override;
    const nodes::NodeStore& directory() const override { return store_; }
    bool radio_holds_key(std::uint32_t num) const override;
    bool link_ready() const override { return link_.state() == radio::LinkState::ready; }
    plugins::HostStatus status() const override;

    // BotView: what /metrics and the status page show.
    const radio::RadioLink& radio_link() const override { return link_; }
    const nodes::NodeStore& node_store() const override { return store_; }
    const nodes::KeySync& keys() const override { return key_sync_; }
    const plugins::CommandRouter& commands() const override { return router_; }
    std::vector<plugins::PluginStatus> plugin_statuses() const override {
        return plugins_.statuses();
    }
    const std::deque<http::KeyEventRecord>& key_events() const override { return key_events_; }
    std::uint64_t text_parts_sent() const override { return text_parts_sent_; }
    std::uint64_t started_at() const override { return started_at_; }
    std::uint64_t link_changed_at() const override { return link_changed_at_; }
    const proxy::VirtualNode& virtual_node() const override { return proxy_; }

private:
    void remember_key_event(const nodes::NodeRecord& node, const nodes::KeyEvent& event);
    void on_ready(const radio::RadioInfo& radio);
    void on_down(const std::string& reason);
    void on_refreshed(const radio::RadioInfo& radio);
    void on_packet(const pb::MeshPacket& packet, bool replayed);
    // Saves the store a while after the first unsaved change, so a busy mesh costs one write
    // per debounce period rather than one per packet.
    void schedule_save();
    // While the disk refuses the store, tries again every kStoreRetry (a change tries too).
    void schedule_store_retry();
    // Arms the one log line about skipped backlog commands.
    void report_backlog_soon();

    const config::AppConfig& config_;
    const std::uint64_t started_at_;  // epoch seconds
    nodes::DirectoryLock lock_;
    nodes::NodeStore store_;
    // Texts the radio never got (full outbox, expiry, NAK): a burst is one warning and a
    // summary, not one line per text. Before link_: the link's callbacks may still use it.
    radio::WarningThrottle undelivered_;
    radio::SendResult::Status last_undelivered_ = radio::SendResult::Status::nak;
    radio::RadioLink link_;
    nodes::KeySync key_sync_;
    plugins::CommandRouter router_;
    plugins::PluginHost plugins_;
    proxy::VirtualNode proxy_;  // after the link and key sync it sends through
    boost::asio::steady_timer save_timer_;
    bool save_pending_ = false;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer backlog_timer_;
    bool backlog_report_pending_ = false;
    std::deque<http::KeyEventRecord> key_events_;  // the last kKeyEvents, oldest first
    std::uint64_t text_parts_sent_ = 0;            // text parts the radio took
    std::uint64_t link_changed_at_ = 0;            // epoch seconds: up or down since
};

}  // namespace meshbot::app
