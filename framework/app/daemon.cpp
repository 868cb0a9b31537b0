#include "app/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <ctime>

#include "radio/radio_link.hpp"

namespace meshbot::app {

namespace {

std::string age(std::uint32_t last_heard) {
    if (last_heard == 0) return "never";
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto secs = std::max<std::int64_t>(0, now - last_heard);
    if (secs < 120) return std::to_string(secs) + "s ago";
    if (secs < 7200) return std::to_string(secs / 60) + "m ago";
    if (secs < 172800) return std::to_string(secs / 3600) + "h ago";
    return std::to_string(secs / 86400) + "d ago";
}

void log_node_list(const radio::RadioInfo& radio) {
    spdlog::info("nodes: {} ({} '{}') and {} others", radio::node_id(radio.my_node_num),
                 radio.own_user.short_name(), radio.own_user.long_name(), radio.nodes.size());
    for (const auto& [num, node] : radio.nodes) {
        const std::string hops = node.has_hops_away() ? std::to_string(node.hops_away()) : "?";
        spdlog::info("  {}  {:<4}  {:<24}  snr {:>5.1f}  hops {}  heard {}{}",
                     radio::node_id(num), node.user().short_name(), node.user().long_name(),
                     node.snr(), hops, age(node.last_heard()),
                     node.user().public_key().size() == 32 ? "  key" : "");
    }
}

}  // namespace

void configure_logging(const config::LogConfig& log) {
    auto logger = spdlog::stdout_color_mt("meshbot");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(spdlog::level::from_str(log.level));
    // Operators tail the log and tests read it through a pipe: never hold lines back.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

int run_daemon(const config::AppConfig& config) {
    boost::asio::io_context io;
    radio::RadioLink::Handlers handlers;
    handlers.on_ready = log_node_list;
    handlers.on_packet = [](const pb::MeshPacket& packet, bool replayed) {
        spdlog::debug("packet {:#010x} from {} port {}{}", packet.id(), radio::node_id(packet.from()),
                      packet.has_decoded() ? static_cast<int>(packet.decoded().portnum()) : -1,
                      replayed ? " (replayed)" : "");
    };
    radio::RadioLink link(io.get_executor(), config.radio, handlers);

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    int signals_seen = 0;
    on_signal = [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (++signals_seen > 1) {
            spdlog::warn("second signal ({}): exiting now", signo);
            std::_Exit(128 + signo);
        }
        spdlog::info("signal {}: stopping (send it again to exit at once)", signo);
        link.stop([&io] { io.stop(); });
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    spdlog::info("meshbot {} starting with {}", MESHBOT_VERSION, config.source.string());
    link.start();
    io.run();
    spdlog::info("meshbot stopped");
    return 0;
}

}  // namespace meshbot::app
