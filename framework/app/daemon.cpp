#include "app/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "app/bot.hpp"
#include "app/config_reload.hpp"
#include "app/control_server.hpp"
#include "app/service_notify.hpp"
#include "app/signal_watch.hpp"
#include "http/http_server.hpp"
#include "nodes/store_files.hpp"

#include <algorithm>

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

constexpr auto kControlTimeout = std::chrono::milliseconds(5000);
// Runners report within their own start deadline; this only bounds a loop that waits for them.
constexpr auto kPluginSettleLimit = std::chrono::seconds(60);

// The control socket's `keys accept`.
ControlReply accept_from_operator(Bot& bot, std::string_view query) {
    auto outcome = bot.accept_key(query);
    return ControlReply{outcome.accepted, std::move(outcome.text)};
}

// A plugin the config asks for that is not running: failed, faulted, or crashed (a crash at
// start-up is the usual one).
bool cannot_load(const plugins::PluginStatus& s) {
    using plugins::PluginState;
    return s.wanted && s.state != PluginState::loaded && s.state != PluginState::starting &&
           s.state != PluginState::disabled_by_config;
}

// `meshbot plugins`: a row per plugin, then what the host warned about; ok when every enabled
// plugin loaded.
ControlReply plugin_table(const plugins::PluginHost& host) {
    const auto statuses = host.statuses();
    std::string out;
    if (statuses.empty()) {
        out += "no plugins found in:";
        for (const auto& folder : host.searched())
            out += " " + folder.string();
        out += host.searched().empty() ? " (no plugin folder exists)\n" : "\n";
    }
    for (const auto& s : statuses) {
        const char* isolation = s.isolation == config::Isolation::none ? "in-bot" : "process";
        const std::string pid = s.runner_pid ? "pid " + std::to_string(s.runner_pid) : "-";
        const std::string sandbox = s.isolation == config::Isolation::none ? "none (in the bot)"
                                    : s.sandbox.empty()                    ? "-"
                                                                           : s.sandbox;
        out += fmt::format("{:<16} {:<18} {:<8} {:<8} {:<10} restarts {:<3} {} sandbox: {}\n", s.id,
                           plugins::to_string(s.state), s.version.empty() ? "-" : s.version,
                           isolation, pid, s.restarts, s.library.string(), sandbox);
        // A reason of several lines (every bad value of a table) stays in the reason column.
        std::string reason = s.reason;
        for (auto at = reason.find('\n'); at != std::string::npos; at = reason.find('\n', at + 1))
            reason.insert(at + 1, 17, ' ');
        if (!reason.empty()) out += fmt::format("{:<16} {}\n", "", reason);
        if (!s.last_crash.empty()) out += fmt::format("{:<16} last crash: {}\n", "", s.last_crash);
    }
    for (const auto& warning : host.warnings())
        out += "warning: " + warning + "\n";
    const auto failed = std::count_if(statuses.begin(), statuses.end(), cannot_load);
    if (failed > 0) out += fmt::format("{} enabled plugin(s) could not load\n", failed);
    return ControlReply{failed == 0, std::move(out)};
}

// Runs the loop until no plugin is starting (their runners answer or time out).
void settle_plugins(boost::asio::io_context& io, const plugins::PluginHost& plugins) {
    const auto limit = std::chrono::steady_clock::now() + kPluginSettleLimit;
    while (!plugins.settled() && !io.stopped() && std::chrono::steady_clock::now() < limit)
        io.run_one_for(std::chrono::milliseconds(100));
}

}  // namespace

int run_daemon(config::AppConfig config) {
    boost::asio::io_context io;
    // Before the bot, so that it outlives the link that reports its state to it.
    ServiceNotify notify(io.get_executor());
    Bot bot(io.get_executor(), config);
    ConfigReload reload(config, bot, notify);  // `config` is the one every part reads
    ControlServer control(
        io.get_executor(), control_socket_path(config.bot.data_dir),
        ControlHandlers{[&bot](std::string_view node) { return accept_from_operator(bot, node); },
                        [&bot] { return plugin_table(bot.plugins()); },
                        [&bot](std::string_view id) {
                            const std::string why = bot.plugins().restart(id);
                            return ControlReply{
                                why.empty(), why.empty() ? "restarting " + std::string(id) : why};
                        },
                        [&bot] {
                            auto [ok, text] = bot.status_text();
                            return ControlReply{ok, std::move(text)};
                        },
                        [&bot](std::string_view id, std::function<void(ControlReply)> answer) {
                            bot.plugins().reload(id, [answer](bool ok, std::string text) {
                                answer(ControlReply{ok, std::move(text)});
                            });
                        }});

    // Only a plugin in the bot's process can hold the loop; runners have their own timeout.
    const auto& plugins = config.plugins;
    const bool in_bot =
        plugins.isolation == config::Isolation::none ||
        std::any_of(plugins.settings.begin(), plugins.settings.end(),
                    [](const auto& s) { return s.second.isolation == config::Isolation::none; });
    http::HttpServer web(io.get_executor(), config.http, bot);
    std::function<std::string()> stuck;
    if (in_bot) {
        const auto after = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            plugins.callback_timeout);
        stuck = [&bot, after] { return bot.plugins().stuck_callback(after); };
    }
    SignalWatch watch(
        [&](int) {
            notify.stopping();  // from the signal thread: a stuck loop could not say it
            boost::asio::post(io, [&] {
                web.stop();
                control.stop();
                bot.stop([&io] { io.stop(); });
            });
        },
        std::move(stuck), [&] { boost::asio::post(io, [&] { reload.reload(); }); });

    spdlog::info("meshbot {} starting with {}", MESHBOT_VERSION, config.source.string());
    try {
        bot.open_store();
    } catch (const std::exception& e) {  // StoreError, or the file system refusing the folder
        spdlog::critical("{}", e.what());
        return 1;
    }
    // Before the plugins: no plugin thread may exist while start() sets the umask.
    control.start();
    if (config.http.enabled) web.start();
    bot.load_plugins();
    settle_plugins(io, bot.plugins());  // commands find their plugins from the first packet on
    notify.follow(bot.link());
    bot.start();
    notify.ready();  // config, store and plugins are up; the radio may take its time
    io.run();
    spdlog::info("meshbot stopped");
    return 0;
}

int list_plugins(const config::AppConfig& config) {
    std::string why;
    const auto daemon = ask_running_bot(config, "plugins", kControlTimeout, &why);
    for (const std::string_view answer : {"ok: ", "failed: "}) {
        if (!daemon || daemon->rfind(answer, 0) != 0) continue;
        const std::string table = unescape_lines(std::string_view(*daemon).substr(answer.size()));
        std::fputs(table.c_str(), stdout);
        return answer == "ok: " ? 0 : 1;
    }
    // No answer, yet a daemon holds the data directory: starting its plugins here would have
    // them write their stores behind its back.
    nodes::DirectoryLock lock;
    if (!lock.try_lock(config.bot.data_dir)) {
        std::fprintf(stderr,
                     "meshbot: a running bot holds %s but its control socket did not answer (%s)\n",
                     config.bot.data_dir.c_str(), daemon ? daemon->c_str() : why.c_str());
        return 1;
    }
    boost::asio::io_context io;
    spdlog::set_level(spdlog::level::critical);  // the table below says it all
    Bot bot(io.get_executor(), config);
    bot.plugins().force_runners();  // listing never runs plugin code in this process
    bot.load_plugins();
    settle_plugins(io, bot.plugins());
    const auto table = plugin_table(bot.plugins());
    std::fputs(table.text.c_str(), stdout);
    bot.plugins().stop(std::chrono::milliseconds(2000), [&io] { io.stop(); });
    io.restart();
    io.run();
    return table.ok ? 0 : 1;
}

int show_status(const config::AppConfig& config) {
    std::string why;
    const auto answer = ask_running_bot(config, "status", kControlTimeout, &why);
    if (!answer) {
        std::fprintf(stderr, "meshbot: the bot is not running (%s)\n", why.c_str());
        return 3;
    }
    const bool ok = answer->rfind("ok: ", 0) == 0;
    const auto colon = answer->find(": ");
    const std::string text =
        unescape_lines(colon == std::string::npos ? *answer : answer->substr(colon + 2));
    std::fputs(text.c_str(), stdout);
    return ok ? 0 : 1;
}

int restart_plugin(const config::AppConfig& config, const std::string& id) {
    std::string why;
    const auto answer = ask_running_bot(config, "plugin restart " + id, kControlTimeout, &why);
    if (!answer) {
        std::fprintf(stderr, "meshbot: the bot is not running (%s)\n", why.c_str());
        return 1;
    }
    std::printf("%s\n", answer->c_str());
    return answer->rfind("ok: ", 0) == 0 ? 0 : 1;
}

int reload_plugin(const config::AppConfig& config, const std::string& id) {
    std::string why;
    // The bot answers once the plugin has stopped and started again, within kAnswerDeadline.
    const auto answer = ask_running_bot(config, "plugin reload " + id,
                                        kAnswerDeadline + std::chrono::seconds(5), &why);
    if (!answer) {
        std::fprintf(stderr, "meshbot: the bot is not running (%s)\n", why.c_str());
        return 3;
    }
    std::printf("%s\n", answer->c_str());
    return answer->rfind("ok: ", 0) == 0 ? 0 : 1;
}

}  // namespace meshbot::app
