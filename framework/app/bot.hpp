#pragma once
// The bot: the radio link, what it knows about nodes, the command router and the plugins,
// wired together.

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string_view>

#include "config/app_config.hpp"
#include "nodes/node_directory.hpp"
#include "plugin_host/command_router.hpp"
#include "plugin_host/plugin_host.hpp"
#include "radio/radio_link.hpp"

namespace meshbot::app {

// Owns every long-lived part of the daemon; io_context thread only.
class Bot final : public plugins::MeshServices {
public:
    Bot(boost::asio::any_io_executor executor, const config::AppConfig& config);
    ~Bot() override;

    void load_plugins() { plugins_.load_all(); }
    void start() { link_.start(); }
    // Unloads the plugins, says goodbye to the radio; `done` runs when all is closed.
    void stop(std::function<void()> done);

    plugins::PluginHost& plugins() { return plugins_; }
    radio::RadioLink& link() { return link_; }

    // MeshServices
    std::uint32_t send_packet(pb::MeshPacket packet, radio::SendCallback done) override;
    void send_text(std::uint32_t to, std::uint32_t channel, std::string_view text) override;
    const nodes::NodeDirectory& directory() const override { return directory_; }
    bool link_ready() const override { return link_.state() == radio::LinkState::ready; }
    plugins::HostStatus status() const override;

private:
    void on_ready(const radio::RadioInfo& radio);
    void on_down(const std::string& reason);
    void on_packet(const pb::MeshPacket& packet, bool replayed);

    const config::AppConfig& config_;
    const std::uint64_t started_at_;  // epoch seconds
    nodes::NodeDirectory directory_;
    radio::RadioLink link_;
    plugins::CommandRouter router_;
    plugins::PluginHost plugins_;
};

}  // namespace meshbot::app
