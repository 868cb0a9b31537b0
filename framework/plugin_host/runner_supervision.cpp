// PluginHost: out-of-process plugins' lives: starting a runner, hearing it started or failed,
// a crash (busy answers, restart with backoff, faulted after too many), an operator's restart,
// and stopping them all within a bounded time.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "plugin_channel/runner_contract.hpp"
#include "plugin_host/plugin_host.hpp"

namespace meshbot::plugins {

namespace fs = std::filesystem;

namespace {

constexpr auto kMaxRestartDelay = std::chrono::seconds(30);

std::chrono::milliseconds millis(config::Seconds s) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(s.count() * 1000));
}

// meshbot-plugin lives beside the executable that hosts the plugins (build/bin/, /usr/bin/).
fs::path default_runner() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return (ec ? fs::path(".") : self.parent_path()) / channel::kRunnerName;
}

}  // namespace

void PluginHost::start_runner(PluginRecord& plugin) {
    router_.remove_owner(plugin.id());  // the "busy" stand-ins of a crashed runner
    if (!plugin.runner) {
        plugin.runner = std::make_unique<RunnerBridge>(executor_, *this, plugin,
                                                       millis(config_.plugins.callback_timeout));
    }
    RunnerOptions options;
    options.runner = config_.plugins.runner.empty() ? default_runner() : config_.plugins.runner;
    options.library = plugin.manifest->library_path();
    options.id = plugin.id();
    options.memory_limit_mb = config_.plugins.memory_limit_mb;
    if (config_.radio.transport == config::Transport::tcp) {
        options.radio_host = config_.radio.host;
        options.radio_port = config_.radio.port;
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
        if (next.status.state == PluginState::starting) starting_now_ = &next;
    }
}

void PluginHost::runner_settled(PluginRecord& plugin) {
    if (starting_now_ != &plugin) return;
    starting_now_ = nullptr;
    start_next_runner();
}

void PluginHost::runner_started(PluginRecord& plugin, const channel::Started& started) {
    runner_settled(plugin);
    if (plugin.status.state != PluginState::starting) return;
    plugin.status.state = PluginState::loaded;
    if (plugin.status.restarts == 0) {
        spdlog::info("plugin {} {}: loaded from {} (runner pid {})", plugin.id(), started.version(),
                     plugin.status.library.string(), plugin.runner->pid());
    } else {
        spdlog::info("plugin {}: restarted (runner pid {}, restart {})", plugin.id(),
                     plugin.runner->pid(), plugin.status.restarts);
    }
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
        case channel::StartFailed::INIT:
            state = PluginState::failed_init;
            why = plugin.status.library.string() + ": init failed: " + why;
            if (!plugin.last_refusal.empty()) why += " (" + plugin.last_refusal + ")";
            break;
        default:
            break;
    }
    fail(plugin, state, why);
    spdlog::error("plugin {}: {}: {}", plugin.id(), to_string(state), why);
}

void PluginHost::runner_exited(PluginRecord& plugin, const std::string& why, bool had_started) {
    runner_settled(plugin);
    const bool crashed = !stopping_ && plugin.active();
    std::vector<CommandEntry> commands;  // taken over by "busy" stand-ins below
    for (const auto& [name, entry] : router_.commands()) {
        if (entry.owner == plugin.id()) commands.push_back(entry);
    }
    release_registrations(plugin);
    flush_releases();
    if (!crashed) return check_stopped();

    plugin.status.last_crash = why;
    const std::string what =
        std::string(had_started ? "" : "while starting: ") + "its runner " + why;
    spdlog::error("plugin {}: {}", plugin.id(), what);
    if (count_fault(plugin, what)) {
        plugin.status.state = PluginState::faulted;
        plugin.status.reason = std::to_string(plugin.fault_times.size()) + " faults within " +
                               fmt::format("{:g}", config_.plugins.fault_window.count()) +
                               " s, the last: " + what;
        spdlog::error(
            "plugin {}: faulted ({}); the other plugins keep running; `meshbot plugin restart {}` "
            "starts it again",
            plugin.id(), plugin.status.reason, plugin.id());
        return;
    }
    plugin.status.state = PluginState::crashed;
    plugin.status.reason = what;
    for (auto& entry : commands) {
        entry.handler = [this, id = plugin.id()](const CommandCall& call) {
            const auto it = events_.find(call.event);
            if (it == events_.end()) return;
            mesh_.send_text(it->second.to, it->second.channel,
                            id + " is restarting, try again in a few seconds");
        };
        router_.add(std::move(entry));
    }
    schedule_restart(plugin);
}

bool PluginHost::count_fault(PluginRecord& plugin, std::string_view) {
    const auto now = std::chrono::steady_clock::now();
    const auto window = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        config_.plugins.fault_window);
    plugin.fault_times.push_back(now);
    while (!plugin.fault_times.empty() && now - plugin.fault_times.front() > window)
        plugin.fault_times.pop_front();
    ++plugin.faults;
    return plugin.fault_times.size() >= config_.plugins.max_faults;
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
        if (ec || stopping_ || p->status.state != PluginState::crashed) return;
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
    spdlog::info("plugin {}: restart asked by the operator", plugin.id());
    plugin.fault_times.clear();
    plugin.last_refusal.clear();
    if (plugin.restart_timer) plugin.restart_timer->cancel();
    unload(plugin);
    ++plugin.status.restarts;
    if (plugin.isolation == config::Isolation::process || force_runners_) {
        start_runner(plugin);
    } else {
        load_in_process(plugin);
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
        if (plugin.runner && plugin.runner->running()) {
            plugin.runner->stop(grace);
        } else if (plugin.instance || plugin.library.is_loaded()) {
            unload(plugin);
        }
    }
    check_stopped();
}

void PluginHost::check_stopped() {
    if (!stopped_) return;
    const bool running = std::any_of(plugins_.begin(), plugins_.end(), [](const auto& p) {
        return p->runner && p->runner->running();
    });
    if (running) return;
    unload_all();  // what is left: registrations, the workers
    boost::asio::post(executor_, std::exchange(stopped_, nullptr));
}

void PluginHost::warn_slow(PluginRecord& plugin, std::string_view what,
                           std::chrono::steady_clock::duration took) {
    if (took <= config_.plugins.callback_budget) return;
    // In a runner a slow callback holds up only its own plugin; in the bot, everything.
    spdlog::warn(
        "plugin {}: {} took {} ms (budget {} ms): it blocks {}; use post_work for slow work",
        plugin.id(), what, std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
        static_cast<long long>(config_.plugins.callback_budget.count() * 1000),
        plugin.out_of_process() ? "the plugin's other callbacks" : "the bot");
}

}  // namespace meshbot::plugins
