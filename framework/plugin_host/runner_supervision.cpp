// PluginHost: out-of-process plugins' lives: starting a runner, hearing it started or failed,
// a crash (busy answers, restart with backoff, faulted after too many), an operator's restart,
// and stopping them all within a bounded time.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "plugin_channel/runner_contract.hpp"
#include "plugin_host/plugin_folders.hpp"
#include "plugin_host/plugin_host.hpp"
#include "plugin_host/utf8_chunker.hpp"

namespace meshbot::plugins {

namespace fs = std::filesystem;

namespace {

constexpr auto kMaxRestartDelay = std::chrono::seconds(30);

std::chrono::milliseconds millis(config::Seconds s) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(s.count() * 1000));
}

// meshbot-plugin lives beside the executable that hosts the plugins (build/bin/, /usr/bin/).
fs::path default_runner() {
    return executable_folder() / channel::kRunnerName;
}

}  // namespace

void PluginHost::start_runner(PluginRecord& plugin) {
    if (!plugin.runner) {
        plugin.runner = std::make_unique<RunnerBridge>(executor_, *this, plugin,
                                                       millis(config_.plugins.callback_timeout));
    }
    RunnerOptions options;
    options.runner = config_.plugins.runner.empty() ? default_runner() : config_.plugins.runner;
    options.library = plugin.manifest->library_path();
    options.id = plugin.id();
    options.memory_limit_mb = config_.plugins.memory_limit_mb;
    options.probe = !plugin.in_runner;
    options.sandbox = config_.plugins.sandbox;
    // The one folder it may write, beside (not holding) its key-value store. (No data
    // directory, as in benchmarks: no folder to write.)
    std::error_code ec;
    if (!config_.bot.data_dir.empty()) {
        options.private_dir = private_folder(config_.bot.data_dir, plugin.id());
        fs::create_directories(options.private_dir, ec);
        if (!ec) fs::permissions(options.private_dir, fs::perms::owner_all, ec);
    }
    if (ec) {
        return fail(
            plugin, PluginState::failed_load,
            options.private_dir.string() + ": cannot make the plugin's folder: " + ec.message());
    }
    const auto settings = config_.plugins.settings.find(plugin.id());
    const bool has_settings = settings != config_.plugins.settings.end();
    options.grant_exec = granted(plugin, "exec");
    if (granted(plugin, "network")) {
        ConnectPolicy policy;
        if (has_settings)
            policy.local_ports.insert(settings->second.allow_local_ports.begin(),
                                      settings->second.allow_local_ports.end());
        if (config_.radio.transport == config::Transport::tcp) {
            policy.radio_host = config_.radio.host;
            policy.radio_port = static_cast<std::uint16_t>(config_.radio.port);
        }
        options.network = std::move(policy);
    }
    std::string error;
    if (!plugin.runner->start(options, error)) {
        return fail(plugin, PluginState::failed_load,
                    options.library.string() + ": cannot start its runner: " + error);
    }
    plugin.status.state = PluginState::starting;
    plugin.status.reason.clear();
}

void PluginHost::start_next_runner() {
    while (starting_now_ == nullptr && !start_queue_.empty()) {
        PluginRecord& next = *start_queue_.front();
        start_queue_.pop_front();
        start_runner(next);
        if (next.status.state == PluginState::starting) {
            starting_now_ = &next;
        } else {
            notify_settled(next);  // its runner could not even start
        }
    }
}

void PluginHost::runner_settled(PluginRecord& plugin) {
    if (starting_now_ != &plugin) return;
    starting_now_ = nullptr;
    start_next_runner();
}

void PluginHost::runner_started(PluginRecord& plugin, const channel::Started&) {
    runner_settled(plugin);
    if (plugin.status.state != PluginState::starting) return;
    if (!plugin.in_runner) {  // the library passed its checks: now it may load in the bot
        load_in_process(plugin);
        drop_stand_ins(plugin);  // (a reloaded plugin's) commands it did not register again
        log_state(plugin);
        return notify_settled(plugin);
    }
    plugin.status.state = PluginState::loaded;
    drop_stand_ins(plugin);  // commands it did not register again
    if (plugin.status.restarts == 0) {
        log_state(plugin);
    } else {
        spdlog::info("plugin {}: restarted (runner pid {}, restart {})", plugin.id(),
                     plugin.runner->pid(), plugin.status.restarts);
    }
    notify_settled(plugin);
}

// The layers in the order they stack, for the log and `meshbot plugins`.
constexpr const char* kLayerOrder[] = {"nnp",     "userns",   "netns",   "ipcns",
                                       "seccomp", "landlock", "rlimits", "broker"};

void PluginHost::runner_sandboxed(PluginRecord& plugin, const channel::Sandboxed& sandboxed) {
    std::string layers;
    for (const char* layer : kLayerOrder) {
        const auto& applied = sandboxed.applied();
        if (std::find(applied.begin(), applied.end(), layer) == applied.end()) continue;
        if (!layers.empty()) layers += ' ';
        layers += layer;
    }
    if (sandboxed.off()) layers = "off";
    const bool changed = plugin.status.sandbox != layers;
    plugin.status.sandbox = layers;
    // Said once per plugin, and again only if a restart finds the machine changed.
    if (!changed) return;
    if (sandboxed.off()) {
        spdlog::warn("plugin {}: sandbox: off ([plugins] sandbox = false)", plugin.id());
        return;
    }
    spdlog::info("plugin {}: sandbox: {}", plugin.id(), layers.empty() ? "none" : layers);
    for (const auto& gap : sandboxed.missing())
        spdlog::warn("plugin {}: sandbox: {}", plugin.id(), printable(gap, 300));
}

void PluginHost::runner_start_failed(PluginRecord& plugin, const channel::StartFailed& failed) {
    runner_settled(plugin);
    PluginState state = PluginState::failed_load;
    std::string why = failed.reason();
    switch (failed.kind()) {
        case channel::StartFailed::VERSION:
            state = PluginState::failed_version;
            break;
        case channel::StartFailed::MANIFEST:
            state = PluginState::failed_manifest;
            break;
        case channel::StartFailed::SANDBOX:
            why =
                plugin.status.library.string() + ": its runner could not apply the sandbox: " + why;
            break;
        case channel::StartFailed::INIT:
            state = PluginState::failed_init;
            why = plugin.status.library.string() + ": init failed: " + why;
            if (!plugin.last_refusal.empty()) why += " (" + plugin.last_refusal + ")";
            break;
        default:
            break;
    }
    fail(plugin, state, why);
    log_state(plugin);
    notify_settled(plugin);
}

void PluginHost::runner_exited(PluginRecord& plugin, const std::string& why, bool had_started) {
    runner_settled(plugin);
    if (!plugin.in_runner) {  // the check's runner: it ended before saying yes or no
        if (plugin.status.state == PluginState::starting) {
            fail(plugin, PluginState::failed_load,
                 plugin.status.library.string() + ": its library crashed a runner checking it (" +
                     why + ")");
            log_state(plugin);
            notify_settled(plugin);
        }
        return check_stopped();
    }
    const bool crashed = !stopping_ && !plugin.retiring && plugin.active();
    auto commands = commands_of(plugin);  // taken over by "busy" stand-ins below
    release_registrations(plugin);
    flush_releases();
    if (!crashed) {
        if (plugin.retiring) finish_retire(plugin);
        return check_stopped();
    }

    plugin.status.last_crash = why;
    const std::string what =
        std::string(had_started ? "" : "while starting: ") + "its runner " + why;
    spdlog::error("plugin {}: {}", plugin.id(), what);
    if (count_fault(plugin, what)) return notify_settled(plugin);
    plugin.status.state = PluginState::crashed;
    plugin.status.reason = what;
    add_stand_ins(plugin, std::move(commands));
    schedule_restart(plugin);
    notify_settled(plugin);
}

std::vector<CommandEntry> PluginHost::commands_of(const PluginRecord& plugin) const {
    std::vector<CommandEntry> out;
    for (const auto& [name, entry] : router_.commands()) {
        if (entry.owner == plugin.id()) out.push_back(entry);
    }
    return out;
}

void PluginHost::add_stand_ins(PluginRecord& plugin, std::vector<CommandEntry> commands) {
    for (auto& entry : commands) {
        entry.handler = [this, id = plugin.id()](const CommandCall& call) {
            const auto it = events_.find(call.event);
            if (it == events_.end()) return;
            mesh_.send_text(it->second.to, it->second.channel,
                            id + " is restarting, try again in a few seconds");
        };
        const std::string name = entry.name;
        if (router_.add(std::move(entry)).empty()) plugin.stand_ins.insert(name);
    }
}

void PluginHost::take_back_stand_in(PluginRecord& plugin, const std::string& name) {
    if (plugin.stand_ins.erase(name) > 0) router_.remove(name, plugin.id());
}

void PluginHost::drop_stand_ins(PluginRecord& plugin) {
    for (const auto& name : plugin.stand_ins)
        router_.remove(name, plugin.id());
    plugin.stand_ins.clear();
}

bool PluginHost::count_fault(PluginRecord& plugin, std::string_view what) {
    const auto now = std::chrono::steady_clock::now();
    const auto window = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        config_.plugins.fault_window);
    plugin.fault_times.push_back(now);
    while (!plugin.fault_times.empty() && now - plugin.fault_times.front() > window)
        plugin.fault_times.pop_front();
    ++plugin.faults;
    if (plugin.fault_times.size() < config_.plugins.max_faults) return false;
    plugin.status.state = PluginState::faulted;
    plugin.status.reason = std::to_string(plugin.fault_times.size()) + " faults within " +
                           fmt::format("{:g}", config_.plugins.fault_window.count()) +
                           " s, the last: " + std::string(what);
    spdlog::error(
        "plugin {}: faulted ({}); the other plugins keep running; `meshbot plugin restart {}` "
        "starts it again",
        plugin.id(), plugin.status.reason, plugin.id());
    return true;
}

void PluginHost::schedule_restart(PluginRecord& plugin) {
    const auto shift = std::min<std::size_t>(plugin.fault_times.size() - 1, 5);
    const auto delay = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(1000) * (1 << shift), kMaxRestartDelay);
    spdlog::info("plugin {}: restarting in {} ms", plugin.id(), delay.count());
    if (!plugin.restart_timer)
        plugin.restart_timer = std::make_unique<boost::asio::steady_timer>(executor_);
    plugin.restart_timer->expires_after(delay);
    plugin.restart_timer->async_wait([this, p = &plugin](const boost::system::error_code& ec) {
        if (ec || stopping_ || p->retiring || p->status.state != PluginState::crashed) return;
        ++p->status.restarts;
        start_runner(*p);
    });
}

std::string PluginHost::restart(std::string_view id) {
    const auto it = std::find_if(plugins_.begin(), plugins_.end(),
                                 [&](const auto& p) { return p->id() == id; });
    if (it == plugins_.end()) return "no plugin '" + std::string(id) + "'";
    PluginRecord& plugin = **it;
    const auto state = plugin.status.state;
    if (state != PluginState::loaded && state != PluginState::faulted &&
        state != PluginState::crashed && state != PluginState::failed_init &&
        state != PluginState::starting) {
        return std::string(id) + " is " + to_string(state) + ": " + plugin.status.reason;
    }
    if (stopping_) return "the bot is stopping";
    if (plugin.retiring || reloading_.count(plugin.id()))
        return std::string(id) + " is being reloaded; try again in a few seconds";
    if (plugin.lifecycle == PluginRecord::Lifecycle::unloading)
        return std::string(id) + " is still finishing its work; try again in a few seconds";
    spdlog::info("plugin {}: restart asked by the operator", plugin.id());
    plugin.fault_times.clear();
    plugin.last_refusal.clear();
    if (plugin.restart_timer) plugin.restart_timer->cancel();
    auto commands = commands_of(plugin);
    unload(plugin);
    ++plugin.status.restarts;
    if (plugin.in_runner) {
        start_runner(plugin);
        if (plugin.status.state == PluginState::starting)
            add_stand_ins(plugin, std::move(commands));
    } else {
        load_in_process(plugin);  // its library was checked when it first loaded
    }
    return {};
}

void PluginHost::stop(std::chrono::milliseconds grace, std::function<void()> done) {
    stopping_ = true;
    stopped_ = std::move(done);
    start_queue_.clear();
    for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) {
        PluginRecord& plugin = **it;
        if (plugin.restart_timer) plugin.restart_timer->cancel();
        if (plugin.in_runner && plugin.runner && plugin.runner->running()) {
            plugin.runner->stop(grace);
        } else if (plugin.instance || plugin.library.is_loaded() || plugin.runner) {
            unload(plugin);
        }
    }
    check_stopped();
}

void PluginHost::check_stopped() {
    if (!stopped_) return;
    const bool running = std::any_of(plugins_.begin(), plugins_.end(), [](const auto& p) {
        return (p->runner && p->runner->running()) ||
               p->lifecycle == PluginRecord::Lifecycle::unloading;
    });
    if (running) return;
    unload_all();  // what is left: registrations, the workers
    boost::asio::post(executor_, std::exchange(stopped_, nullptr));
}

void PluginHost::warn_slow(PluginRecord& plugin, std::string_view what,
                           std::chrono::steady_clock::duration took) {
    plugin.status.callback_times.observe(std::chrono::duration<double>(took).count());
    if (took <= config_.plugins.callback_budget) return;
    // In a runner a slow callback holds up only its own plugin; in the bot, everything.
    spdlog::warn(
        "plugin {}: {} took {} ms (budget {} ms): it blocks {}; use post_work for slow work",
        plugin.id(), what, std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
        static_cast<long long>(config_.plugins.callback_budget.count() * 1000),
        plugin.out_of_process() ? "the plugin's other callbacks" : "the bot");
}

}  // namespace meshbot::plugins
