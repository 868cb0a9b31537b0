#pragma once
// Loads plugins and connects them to the bot through the C function table.

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/app_config.hpp"
#include "mesh.pb.h"
#include "meshbot/abi.h"
#include "meshbot/sdk/values.hpp"
#include "nodes/node_store.hpp"
#include "plugin_host/command_router.hpp"
#include "plugin_host/kv_store.hpp"
#include "plugin_host/line_budget.hpp"
#include "plugin_host/manifest.hpp"
#include "plugin_host/plugin_config.hpp"
#include "plugin_host/runner_bridge.hpp"
#include "radio/outbox.hpp"

namespace meshbot::plugins {

enum class PluginState {
    starting,  // its runner process is starting it
    loaded,
    crashed,  // its runner died; it restarts after a backoff
    disabled_by_config,
    failed_manifest,  // plugin.toml missing or malformed
    failed_config,    // its [plugins.<id>] table breaks the manifest's [config] schema
    failed_load,      // dlopen failed, or no entry point
    failed_version,
    failed_audit,
    failed_init,
    faulted,
};
const char* to_string(PluginState state);

// How long a plugin's callbacks took, in fixed buckets (the /metrics histogram). Plain data.
struct CallbackTimes {
    // Upper bounds in seconds: from a trivial reply to past any sane budget.
    static constexpr std::array<double, 10> kBounds{0.0001, 0.0005, 0.001, 0.005, 0.01,
                                                    0.05,   0.1,    0.5,   1.0,   5.0};
    std::array<std::uint64_t, kBounds.size()> in_bucket{};  // per bound, not cumulative
    std::uint64_t count = 0;
    double sum = 0;  // seconds

    void observe(double seconds) {
        ++count;
        sum += seconds;
        for (std::size_t i = 0; i < kBounds.size(); ++i) {
            if (seconds <= kBounds[i]) {
                ++in_bucket[i];
                break;
            }
        }
    }
};

struct PluginStatus {
    std::string id;
    std::string version;
    std::filesystem::path library;
    PluginState state = PluginState::failed_load;
    std::string reason;
    config::Isolation isolation = config::Isolation::process;
    int runner_pid = 0;  // 0: none running
    unsigned restarts = 0;
    std::string last_crash;
    // The operator's config asks for it (no allow-list or listed, not enabled = false); a
    // disabled_by_config plugin is not, nor a broken one the allow-list leaves out.
    bool wanted = true;
    // Its runner's sandbox layers ("nnp userns netns ipcns seccomp landlock rlimits"), "off", or
    // empty before a runner reported.
    std::string sandbox;
    CallbackTimes callback_times;  // in the bot: on the loop; in a runner: as it reports
};

// The health figures the host reports to plugins (mb_status): the SDK's Status, so that the
// fields and their conversions have one home (meshbot/sdk/values.hpp).
using HostStatus = ::meshbot::Status;

// What the bot offers plugins: the mesh and what it knows about nodes.
class MeshServices {
public:
    virtual ~MeshServices() = default;
    // Queues one packet for the radio; returns its id, or 0 when refused (`done` has run).
    virtual std::uint32_t send_packet(pb::MeshPacket packet, radio::SendCallback done) = 0;
    // A text to a node or a channel, split into numbered parts and paced.
    virtual void send_text(std::uint32_t to, std::uint32_t channel, std::string_view text) = 0;
    virtual const nodes::NodeStore& directory() const = 0;
    // Whether the connected radio holds the node's pinned key (the key sync's view).
    virtual bool radio_holds_key(std::uint32_t num) const = 0;
    virtual bool link_ready() const = 0;
    virtual HostStatus status() const = 0;
};

struct PluginRecord;

// How long a plugin's runner gets to destroy the plugin (at shutdown, at a reload) before it is
// killed.
inline constexpr auto kRunnerStopGrace = std::chrono::milliseconds(2000);

// Owns every plugin, everything they registered, and the worker pool for post_work.
// io_context thread only (worker threads only run post_work jobs and never touch this).
class PluginHost {
public:
    PluginHost(boost::asio::any_io_executor executor, const config::AppConfig& config,
               MeshServices& mesh, CommandRouter& router);
    ~PluginHost();
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    // Finds and loads every enabled plugin. Out-of-process plugins are `starting` until their
    // runner reports; settled() says when none is.
    void load_all();
    bool settled() const;
    // Stops every plugin at once: runners are killed (used when the loop no longer runs).
    void unload_all();
    // Stops every plugin, giving runners `grace` to destroy theirs; `done` runs when all ended.
    void stop(std::chrono::milliseconds grace, std::function<void()> done);
    std::vector<PluginStatus> statuses() const;
    // What load_all() found wrong that is no plugin's state: missing folders, unknown manifest
    // keys, names in the config that match no plugin. Each was logged as a warning.
    const std::vector<std::string>& warnings() const { return warnings_; }
    // The folders load_all() searched, in order.
    const std::vector<std::filesystem::path>& searched() const { return searched_; }
    // An operator's restart (control socket): a faulted or crashed plugin starts afresh with
    // its fault count cleared; a running one is restarted. "" or why not.
    std::string restart(std::string_view id);
    // An operator's reload (control socket): plugin `id` as the plugin folders hold it now,
    // found as load_all() finds plugins. A new one loads; a known one stops (its runner given
    // kRunnerStopGrace) and loads afresh from its folder, its fault count cleared; one no
    // longer found is stopped and forgotten. `done` runs once on this thread, after the
    // outcome is known: ok with "plugin X 1.1.0 loaded (process, pid N)" or "plugin X removed",
    // else why not ("plugin X: <reason>", "no plugin X in <folders>").
    using ReloadDone = std::function<void(bool ok, std::string text)>;
    void reload(std::string_view id, ReloadDone done);
    // The in-bot plugin callback that has been running for longer than `threshold`, as
    // "plugin X: its command handler (for 12 s)", or "". Any thread: the daemon's watchdog asks
    // from its own, since a stuck callback holds the loop.
    std::string stuck_callback(std::chrono::steady_clock::duration threshold) const;
    // Every plugin runs in a runner, whatever its isolation says (`meshbot plugins` probes
    // plugins without running their code in the calling process).
    void force_runners() { force_runners_ = true; }

    // ---- what a RunnerBridge reports (runner_supervision.cpp)
    void runner_started(PluginRecord& plugin, const channel::Started& started);
    void runner_sandboxed(PluginRecord& plugin, const channel::Sandboxed& sandboxed);
    void runner_start_failed(PluginRecord& plugin, const channel::StartFailed& failed);
    void runner_exited(PluginRecord& plugin, const std::string& why, bool had_started);
    // A restarting plugin's commands answer "busy" through stand-ins that keep their names
    // from other plugins; its new runner takes each back as it registers it again.
    void take_back_stand_in(PluginRecord& plugin, const std::string& name);
    // A callback returned after `took`: counted in its times, and warned about over budget.
    void warn_slow(PluginRecord& plugin, std::string_view what,
                   std::chrono::steady_clock::duration took);
    // Runs the release functions of what plugins dropped; never while plugin code runs.
    void flush_releases();

    // Events from the bot.
    std::uint64_t remember_event(const pb::MeshPacket& packet);
    void on_text(const pb::MeshPacket& packet, bool replayed, std::uint64_t event);
    void on_packet(const pb::MeshPacket& packet, bool replayed);
    void on_node_updated(const nodes::NodeRecord& node);
    void on_key_changed(const nodes::NodeRecord& node);
    void on_link_up();
    void on_link_down(std::string_view reason);

    // ---- the C function table's implementation (host_api.cpp), one per mb_host_api entry
    static const mb_host_api& api();
    bool on_loop_thread(PluginRecord& plugin, const char* call);
    void log(PluginRecord& plugin, mb_log_level level, std::string_view text);
    void report_fault(PluginRecord& plugin, std::string_view what);
    mb_result reply(PluginRecord& plugin, std::uint64_t event, std::string_view text);
    mb_result send_text(PluginRecord& plugin, std::uint32_t to, std::uint32_t channel,
                        std::string_view text);
    mb_result send_data(PluginRecord& plugin, const mb_data_request& request, mb_send_fn done,
                        void* user, mb_release_fn release, std::uint32_t* out_id);
    mb_result register_command(PluginRecord& plugin, const mb_command_spec& spec, mb_command_fn fn,
                               void* user, mb_release_fn release);
    std::uint64_t subscribe(PluginRecord& plugin, mb_event_kind kind, std::uint32_t portnum,
                            mb_event_fn fn, void* user, mb_release_fn release);
    void unsubscribe(PluginRecord& plugin, std::uint64_t id);
    std::uint64_t timer_start(PluginRecord& plugin, std::uint64_t delay_ms, std::uint64_t period_ms,
                              mb_timer_fn fn, void* user, mb_release_fn release);
    void timer_cancel(PluginRecord& plugin, std::uint64_t id);
    mb_result post_work(PluginRecord& plugin, mb_work_fn work, mb_work_fn done, void* user,
                        mb_release_fn release);
    const nodes::NodeStore& directory() const { return mesh_.directory(); }
    mb_node node_to_abi(const nodes::NodeRecord& node, const std::string& id) const;
    mb_result status(mb_status& out) const;

private:
    struct Closure {  // a plugin callback and the `user` the plugin handed over with it
        void* user = nullptr;
        mb_release_fn release = nullptr;
    };
    struct Subscription {
        PluginRecord* plugin;
        mb_event_kind kind;
        std::uint32_t portnum;
        mb_event_fn fn;
        Closure closure;
    };
    struct TimerEntry {
        PluginRecord* plugin;
        std::unique_ptr<boost::asio::steady_timer> timer;
        std::chrono::milliseconds period;
        mb_timer_fn fn;
        Closure closure;
    };
    struct PendingSend {
        PluginRecord* plugin;
        mb_send_fn fn;
        Closure closure;
        bool want_response;
        std::chrono::milliseconds timeout;
        // Counts from when the radio took the packet: paced sends may wait in the outbox first.
        std::chrono::steady_clock::time_point deadline;
    };
    struct ReplyTarget {
        std::uint32_t to;
        std::uint32_t channel;
    };

    // What a scan of the plugin folders found: a record per plugin folder (or stray library),
    // in folder order, nothing loaded yet. One home for the rules of finding plugins (order,
    // shadowing, duplicates, [plugins] enabled and enabled = false), for load_all() and reload().
    struct Scan {
        std::vector<std::unique_ptr<PluginRecord>> records;
        std::map<std::string, std::filesystem::path> seen;  // id -> library, to refuse duplicates
        std::vector<std::filesystem::path> searched;
        struct Warning {
            std::string id;  // the plugin it is about, "" for none
            std::string text;
        };
        std::vector<Warning> warnings;
    };
    struct ReloadOp;  // one reload in progress (plugin_reload.cpp)
    Scan scan() const;
    // `configured`: a folder from [plugins] dirs, where a second plugin with a known id is an
    // error; in a default folder it is only shadowed (and warned about).
    void scan_folder(const std::filesystem::path& folder, Scan& scan, bool configured) const;
    // Stops a plugin for good (a reload replaces or forgets it); `then` runs from a fresh
    // handler once it has stopped and released everything, when the record may be erased.
    void retire(PluginRecord& plugin, std::function<void()> then);
    void finish_retire(PluginRecord& plugin);
    // Every old record of the reload retired: they go, the ones found take their place.
    void replace_records(const std::shared_ptr<ReloadOp>& op);
    // Runs the record's settle waiter (a reload's answer) once it is no longer starting.
    void notify_settled(PluginRecord& plugin);
    void load(PluginRecord& plugin);
    void load_in_process(PluginRecord& plugin);
    bool prepare(PluginRecord& plugin);
    void start_runner(PluginRecord& plugin);
    // At load, runners start one after the other, in folder order, so that which plugin gets
    // a contested command name does not depend on which process happened to be faster.
    void start_next_runner();
    void runner_settled(PluginRecord& plugin);
    void schedule_restart(PluginRecord& plugin);
    std::vector<CommandEntry> commands_of(const PluginRecord& plugin) const;
    void add_stand_ins(PluginRecord& plugin, std::vector<CommandEntry> commands);
    void drop_stand_ins(PluginRecord& plugin);
    // Counts a fault (exception, crash, timeout) in the window; at max_faults moves the plugin to
    // faulted with the reason and says so. True when it is now faulted.
    bool count_fault(PluginRecord& plugin, std::string_view what);
    void check_stopped();
    bool audit(PluginRecord& plugin);
    // Whether the plugin may use `permission` ("network", "exec"): it asks for it, and the
    // operator granted it in [plugins.<id>] or when installing it (plugins.lock).
    bool granted(const PluginRecord& plugin, std::string_view permission) const;
    std::string grant_source(const PluginRecord& plugin, std::string_view permission) const;
    void fail(PluginRecord& plugin, PluginState state, std::string reason);
    void warn(std::string text);
    void log_state(const PluginRecord& plugin) const;
    void unload(PluginRecord& plugin);
    // Unmaps an unloading plugin's library once its post_work jobs are done, polling the loop
    // meanwhile (never blocking it), for at most kWorkGrace.
    void finish_unload(PluginRecord& plugin);
    // unload_all()'s form, when the loop no longer runs: waits for the jobs, blocking.
    void finish_unload_now(PluginRecord& plugin);
    void unmap(PluginRecord& plugin);
    void release_registrations(PluginRecord& plugin);
    void defer_release(Closure closure);
    template <typename Body>
    void invoke(PluginRecord& plugin, const char* what, Body&& body);
    void dispatch(mb_event_kind kind, std::uint32_t portnum, const mb_event& event);
    bool has_subscribers(mb_event_kind kind) const;
    void arm_timer(std::uint64_t id);
    void finish_send(std::uint32_t id, const mb_send_result& result);
    void sweep_pending();
    void arm_sweep();
    void node_event(mb_event_kind kind, const nodes::NodeRecord& node);

    boost::asio::any_io_executor executor_;
    const config::AppConfig& config_;
    MeshServices& mesh_;
    CommandRouter& router_;
    const std::string data_dir_;  // handed to plugins in mb_status, so it must outlive them
    std::thread::id loop_thread_;

    std::vector<std::unique_ptr<PluginRecord>> plugins_;
    std::vector<std::string> warnings_;
    std::vector<std::filesystem::path> searched_;
    std::map<std::uint64_t, Subscription> subscriptions_;
    std::map<std::uint64_t, TimerEntry> timers_;
    std::map<std::uint32_t, PendingSend> pending_;
    std::vector<Closure> releases_;
    std::uint64_t next_id_ = 1;

    std::map<std::uint64_t, ReplyTarget> events_;  // recent events, for reply()
    std::uint64_t next_event_ = 1;

    boost::asio::steady_timer sweep_timer_;  // the earliest deadline in pending_, if any
    bool sweep_armed_ = false;
    std::unique_ptr<boost::asio::thread_pool> workers_;
    bool force_runners_ = false;
    // The file each library loaded in the bot's process had when it was loaded: dlclose() may
    // leave a library mapped (GNU unique symbols, work still running), and dlopen() of its path
    // then hands back the old code, whatever the file holds now.
    std::map<std::string, std::string> in_bot_files_;
    std::deque<PluginRecord*> start_queue_;
    PluginRecord* starting_now_ = nullptr;
    bool stopping_ = false;
    std::set<std::string> reloading_;   // ids with a reload in progress
    mutable std::mutex running_mutex_;  // guards the two below: the watchdog reads them
    std::string running_;               // "plugin X: its command handler" while one runs in-bot
    std::chrono::steady_clock::time_point running_since_;
    // Deferred completions (post_work's, on the loop or a worker) hold it weakly: once the host
    // is gone they do nothing.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    std::function<void()> stopped_;  // stop()'s `done`, once every runner has ended
};

}  // namespace meshbot::plugins

// The per-plugin handle the C ABI passes around: which host, which plugin.
struct mb_host {
    meshbot::plugins::PluginHost* owner;
    meshbot::plugins::PluginRecord* plugin;
};

namespace meshbot::plugins {

// Everything the host keeps about one plugin found in a plugin folder.
struct PluginRecord {
    PluginStatus status;
    std::optional<Manifest> manifest;
    mb_host handle{};
    boost::dll::shared_library library;
    const mb_plugin_info* info = nullptr;
    mb_plugin* instance = nullptr;
    PluginConfig config;
    KvStore store;
    unsigned faults = 0;  // since start, for messages; fault_times decides
    std::deque<std::chrono::steady_clock::time_point> fault_times;  // within the fault window
    config::Isolation isolation = config::Isolation::process;
    bool in_runner = false;  // runs in its runner (else: checked by one, then loaded here)
    std::unique_ptr<RunnerBridge> runner;  // its runner's bridge
    std::unique_ptr<boost::asio::steady_timer> restart_timer;
    LineBudget log_budget;            // its log() lines
    std::set<std::string> stand_ins;  // its commands that answer "busy" while it restarts
    std::string last_refusal;  // why the host last refused a call, for the init failure message
    std::vector<std::string> install_grants;  // granted at install (plugins.lock), this library
    std::shared_ptr<std::atomic<int>> work_in_flight = std::make_shared<std::atomic<int>>(0);

    // In the bot's process, whether its library is mapped: loaded -> unloading (destroyed, its
    // post_work jobs finishing) -> unloaded. Every deferred completion checks it before calling
    // into the plugin's code. A plugin in a runner stays `unloaded` here.
    enum class Lifecycle { unloaded, loaded, unloading };
    Lifecycle lifecycle = Lifecycle::unloaded;
    std::chrono::steady_clock::time_point unloading_since;
    std::unique_ptr<boost::asio::steady_timer> unload_timer;  // polls its work while unloading

    // A reload stops it for good: no callbacks start any more (those running finish), a crash
    // is no crash, and `retired` runs once it has stopped.
    bool retiring = false;
    std::function<void()> retired;
    std::function<void()> settled;  // once it is no longer starting (a reload waits for it)
    // Deferred completions from other threads (post_work's) hold it weakly: a reload may erase
    // the record before they arrive.
    std::shared_ptr<int> alive = std::make_shared<int>(0);

    const std::string& id() const { return status.id; }
    bool active() const {
        return (status.state == PluginState::loaded || status.state == PluginState::starting) &&
               lifecycle != Lifecycle::unloading;
    }
    bool out_of_process() const { return in_runner; }
};

}  // namespace meshbot::plugins
