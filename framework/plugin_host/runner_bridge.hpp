#pragma once
// The host's side of one out-of-process plugin: the runner's calls become calls of the host's
// own mb_host_api on the plugin's handle (so both modes share every check), and the callbacks
// the host makes into the plugin become Invoke messages. Diagram: docs/architecture.md.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "meshbot/abi.h"
#include "plugin_host/runner_process.hpp"

namespace meshbot::plugins {

class PluginHost;
struct PluginRecord;

// Owns the plugin's current runner process, the proxies the host holds for the plugin's
// callbacks, and the watch over callbacks in flight. Lives as long as the plugin's record, across
// restarts. io_context thread only.
class RunnerBridge {
public:
    RunnerBridge(boost::asio::any_io_executor executor, PluginHost& host, PluginRecord& plugin,
                 std::chrono::milliseconds callback_timeout);
    ~RunnerBridge();
    RunnerBridge(const RunnerBridge&) = delete;
    RunnerBridge& operator=(const RunnerBridge&) = delete;

    // Starts a runner (a previous one must have ended). False with `error` when it cannot.
    bool start(const RunnerOptions& options, std::string& error);
    // Asks the runner to destroy the plugin and exit; it is killed after `grace`.
    void stop(std::chrono::milliseconds grace);
    // Kills the runner now; the host hears of its exit with `why`.
    void kill(const std::string& why);
    // Forgets the runner without waiting for it (killed and reaped in the background).
    void abandon();
    bool running() const { return process_ && process_->running(); }
    int pid() const { return process_ ? process_->pid() : 0; }

private:
    // What the host hands its api table as `user` for a callback of the plugin's.
    struct Proxy {
        RunnerBridge* bridge;
        std::uint64_t closure;  // the runner's number for the plugin's (fn, user)
        std::string what;       // "command handler /echo", for messages
    };
    struct InFlight {
        std::uint64_t seq;
        std::string what;
    };

    void on_message(channel::RunnerMessage& message);
    void on_exit(const std::string& why);
    void on_call(channel::Call& call);
    void on_call_done();
    void on_returned(const channel::Returned& returned);
    void answer(channel::Answer& answer);
    Proxy* proxy(std::uint64_t closure, std::string what);
    void invoke(std::uint64_t closure, const std::string& what, channel::Invoke& invoke);
    void arm_watchdog();
    void protocol_error(const std::string& what);

    static void proxy_command(void* user, const mb_command* command);
    static void proxy_event(void* user, const mb_event* event);
    static void proxy_timer(void* user);
    static void proxy_send(void* user, const mb_send_result* result);
    static void proxy_release(void* user);

    boost::asio::any_io_executor executor_;
    PluginHost& host_;
    PluginRecord& plugin_;
    const std::chrono::milliseconds timeout_;
    std::shared_ptr<RunnerProcess> process_;
    bool started_ = false;    // Started or StartFailed seen from the current runner
    bool sandboxed_ = false;  // its sandbox report seen (once, before Started)

    std::map<std::uint64_t, std::unique_ptr<Proxy>> proxies_;
    std::deque<InFlight> in_flight_;
    std::uint64_t next_seq_ = 1;
    boost::asio::steady_timer watchdog_;
    std::chrono::steady_clock::time_point deadline_;
};

}  // namespace meshbot::plugins
