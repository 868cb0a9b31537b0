// PluginHost: an operator's reload of one plugin while the bot runs: what the plugin folders
// hold for it now replaces what the bot runs, without touching the radio link or other plugins.
//
// Records are referred to by raw pointer from many places (subscriptions, timers, pending sends,
// the start queue, bridges, posted handlers), so an old record is erased only once it has
// stopped: its runner exited (or its library was unmapped) and release_registrations() dropped
// every registration, start_queue_ and starting_now_ no longer name it, its timers were
// cancelled, and the erasure runs from a handler posted after all that (so that completions
// already queued for it run first). Completions from worker threads check its `alive` token.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "plugin_host/plugin_host.hpp"

namespace meshbot::plugins {

struct PluginHost::ReloadOp {
    std::string id;
    std::vector<std::unique_ptr<PluginRecord>> found;  // what the folders hold for it now
    std::vector<CommandEntry> commands;  // its commands before, kept by "busy" stand-ins
    std::size_t retiring = 0;            // old records still stopping
    ReloadDone done;
};

namespace {

std::string folder_list(const std::vector<std::filesystem::path>& folders) {
    if (folders.empty()) return "(no plugin folder exists)";
    std::string out;
    for (const auto& folder : folders)
        out += (out.empty() ? "" : ", ") + folder.string();
    return out;
}

// The record a reload answers for: the one to load, else a disabled one, else the first.
PluginRecord* main_record(const std::vector<std::unique_ptr<PluginRecord>>& records) {
    for (const auto& r : records) {
        if (r->manifest && r->status.state == PluginState::failed_load) return r.get();
    }
    for (const auto& r : records) {
        if (r->status.state == PluginState::disabled_by_config) return r.get();
    }
    return records.empty() ? nullptr : records.front().get();
}

}  // namespace

void PluginHost::reload(std::string_view id_view, ReloadDone done) {
    const std::string id(id_view);
    if (stopping_) return done(false, "the bot is stopping");
    if (reloading_.count(id)) return done(false, "plugin " + id + " is already being reloaded");
    Scan found_now = scan();
    for (const auto& w : found_now.warnings) {
        if (w.id == id) spdlog::warn("plugins: {}", w.text);
    }
    auto op = std::make_shared<ReloadOp>();
    op->id = id;
    op->done = std::move(done);
    for (auto& record : found_now.records) {
        if (record && record->id() == id) op->found.push_back(std::move(record));
    }
    std::vector<PluginRecord*> known;
    for (const auto& p : plugins_) {
        if (p->id() == id) known.push_back(p.get());
    }
    if (op->found.empty() && known.empty())
        return op->done(false, "no plugin " + id + " in " + folder_list(found_now.searched));

    spdlog::info("plugin {}: reload asked by the operator", id);
    reloading_.insert(id);
    if (known.empty()) return replace_records(op);
    // While the old one stops and the new one starts, its commands answer "busy" and keep their
    // names from other plugins (as across a restart); a plugin that is gone loses them now.
    const PluginRecord* next = main_record(op->found);
    const bool loads_again = next && next->status.state == PluginState::failed_load;
    op->commands = commands_of(*known.front());
    router_.remove_owner(id);
    if (loads_again) add_stand_ins(*known.front(), op->commands);
    op->retiring = known.size();
    for (PluginRecord* old : known) {
        retire(*old, [this, op] {
            if (--op->retiring == 0) replace_records(op);
        });
    }
}

void PluginHost::retire(PluginRecord& plugin, std::function<void()> then) {
    plugin.retiring = true;
    plugin.retired = std::move(then);
    plugin.settled = nullptr;
    if (plugin.restart_timer) plugin.restart_timer->cancel();
    std::erase(start_queue_, &plugin);
    if (starting_now_ == &plugin) {
        starting_now_ = nullptr;
        start_next_runner();
    }
    if (plugin.runner && plugin.runner->running()) {
        // Its runner destroys the plugin and exits (or is killed after the grace); the
        // callbacks already running finish meanwhile, and runner_exited() continues.
        if (plugin.in_runner) return plugin.runner->stop(kRunnerStopGrace);
        plugin.runner->abandon();  // only checking the library: nothing to wait for
    }
    if (!plugin.in_runner && plugin.lifecycle == PluginRecord::Lifecycle::loaded) {
        unload(plugin);  // destroys it; unmaps its library once its post_work jobs are done
        if (plugin.lifecycle == PluginRecord::Lifecycle::unloading) return;  // finish_unload()
    } else {
        release_registrations(plugin);
        flush_releases();
    }
    finish_retire(plugin);
}

void PluginHost::finish_retire(PluginRecord& plugin) {
    auto then = std::exchange(plugin.retired, nullptr);
    if (!then) return;
    // Posted: the caller (a bridge's exit handler, the unload timer) may still be on the stack
    // of what the erasure destroys, and completions queued for the record run first.
    boost::asio::post(executor_, [alive = std::weak_ptr<int>(alive_), then = std::move(then)] {
        if (!alive.expired()) then();
    });
}

void PluginHost::replace_records(const std::shared_ptr<ReloadOp>& op) {
    const auto first = std::find_if(plugins_.begin(), plugins_.end(),
                                    [&](const auto& p) { return p->id() == op->id; });
    auto at = first - plugins_.begin();
    // Every record with this id was retired; none other has taken the id since (reloading_).
    std::erase_if(plugins_, [&](const auto& p) { return p->id() == op->id && p->retiring; });
    auto finish = [this, op](bool ok, std::string text) {
        reloading_.erase(op->id);
        op->done(ok, std::move(text));
    };
    if (stopping_) return finish(false, "the bot is stopping");
    if (op->found.empty()) {
        spdlog::info("plugin {}: removed", op->id);
        return finish(true, "plugin " + op->id + " removed");
    }
    PluginRecord* next = main_record(op->found);
    at = std::min<std::ptrdiff_t>(at, static_cast<std::ptrdiff_t>(plugins_.size()));
    for (auto& record : op->found) {
        plugins_.insert(plugins_.begin() + at, std::move(record));
        ++at;
    }
    op->found.clear();

    const auto& s = next->status;
    if (s.state == PluginState::disabled_by_config) {
        log_state(*next);
        const std::string how = s.reason.find("enabled = false") != std::string::npos
                                    ? "remove enabled = false from [plugins." + s.id + "]"
                                    : "add \"" + s.id + "\" to [plugins] enabled";
        return finish(false, "plugin " + s.id + " is not enabled in " + config_.source.string() +
                                 " (" + s.reason + "): " + how + ", then restart meshbot");
    }
    if (s.state != PluginState::failed_load || !next->manifest) {
        log_state(*next);
        return finish(false, "plugin " + s.id + ": " + s.reason);
    }
    next->settled = [this, next, finish] {
        const auto& st = next->status;
        if (st.state != PluginState::loaded) {
            drop_stand_ins(*next);
            return finish(false, "plugin " + st.id + ": " + st.reason);
        }
        const std::string where = next->in_runner && next->runner
                                      ? "process, pid " + std::to_string(next->runner->pid())
                                      : "in the bot's process";
        finish(true, "plugin " + st.id + " " + st.version + " loaded (" + where + ")");
    };
    add_stand_ins(*next, std::move(op->commands));
    load(*next);
    if (next->status.state != PluginState::starting) {
        log_state(*next);
        notify_settled(*next);
    }
}

void PluginHost::notify_settled(PluginRecord& plugin) {
    if (plugin.status.state == PluginState::starting || !plugin.settled) return;
    std::exchange(plugin.settled, nullptr)();
}

}  // namespace meshbot::plugins
