#include "app/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "app/bot.hpp"
#include "app/control_server.hpp"

namespace meshbot::app {

void configure_logging(const config::LogConfig& log) {
    auto logger = spdlog::stdout_color_mt("meshbot");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    logger->set_level(spdlog::level::from_str(log.level));
    // Operators tail the log and tests read it through a pipe: never hold lines back.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

namespace {

// The control socket's `keys accept`.
ControlReply accept_from_operator(Bot& bot, std::string_view query) {
    auto outcome = bot.accept_key(query);
    return ControlReply{outcome.accepted, std::move(outcome.text)};
}

}  // namespace

int run_daemon(const config::AppConfig& config) {
    boost::asio::io_context io;
    Bot bot(io.get_executor(), config);
    ControlServer control(
        io.get_executor(), control_socket_path(config.bot.data_dir),
        ControlHandlers{[&bot](std::string_view node) { return accept_from_operator(bot, node); }});

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
        control.stop();
        bot.stop([&io] { io.stop(); });
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    spdlog::info("meshbot {} starting with {}", MESHBOT_VERSION, config.source.string());
    try {
        bot.open_store();
    } catch (const std::exception& e) {  // StoreError, or the file system refusing the folder
        spdlog::critical("{}", e.what());
        return 1;
    }
    // Before the plugins: no plugin thread may exist while start() sets the umask.
    control.start();
    bot.load_plugins();
    bot.start();
    io.run();
    spdlog::info("meshbot stopped");
    return 0;
}

int list_plugins(const config::AppConfig& config) {
    boost::asio::io_context io;  // never run: listing loads and unloads, it does not connect
    spdlog::set_level(spdlog::level::critical);  // the table below says it all
    Bot bot(io.get_executor(), config);
    bot.load_plugins();
    const auto statuses = bot.plugins().statuses();
    if (statuses.empty()) std::printf("no plugins found in the configured [plugins] dirs\n");
    for (const auto& s : statuses) {
        std::printf("%-16s %-18s %-8s %s\n", s.id.c_str(), plugins::to_string(s.state),
                    s.version.empty() ? "-" : s.version.c_str(), s.library.string().c_str());
        if (!s.reason.empty()) std::printf("%-16s %s\n", "", s.reason.c_str());
    }
    bot.plugins().unload_all();
    return 0;
}

}  // namespace meshbot::app
