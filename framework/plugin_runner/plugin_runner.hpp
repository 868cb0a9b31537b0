#pragma once
// Runs one plugin inside the meshbot-plugin process: hands it an mb_host_api whose calls travel
// to the host over the channel, and runs the callbacks the host invokes.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "meshbot/abi.h"
#include "plugin_runner/host_channel.hpp"

namespace meshbot::runner {
class PluginRunner;
}

// The handle the plugin passes back on every call: which runner.
struct mb_host {
    meshbot::runner::PluginRunner* runner;
};

namespace meshbot::runner {

// Owns the plugin's closures (what it registered, by the id the host knows them by) and the
// post_work workers. Its methods run on the loop thread (the one that called run()); the api
// table refuses calls from other threads, as the in-process host does.
class PluginRunner {
public:
    explicit PluginRunner(HostChannel& channel);
    ~PluginRunner();
    PluginRunner(const PluginRunner&) = delete;
    PluginRunner& operator=(const PluginRunner&) = delete;

    const mb_host_api* api() const;
    mb_host* handle() { return &handle_; }
    // Serves the host until it says shutdown (destroys the plugin, releases what is left) or
    // goes away. Returns the process's exit code.
    int run(const mb_plugin_info& info, mb_plugin* instance);
    // Releases every closure the plugin still has (create() failed, or the plugin is gone).
    void release_all();

    // ---- the mb_host_api entries (proxy_api.cpp)
    bool on_loop_thread(const char* call) const;
    void log(mb_log_level level, std::string_view text);
    void report_fault(std::string_view what);
    mb_result reply(std::uint64_t event, std::string_view text);
    mb_result send_text(std::uint32_t to, std::uint32_t channel, std::string_view text);
    mb_result send_data(const mb_data_request& request, mb_send_fn done, void* user,
                        mb_release_fn release, std::uint32_t* out_id);
    mb_result register_command(const mb_command_spec& spec, mb_command_fn fn, void* user,
                               mb_release_fn release);
    std::uint64_t subscribe(mb_event_kind kind, std::uint32_t portnum, mb_event_fn fn, void* user,
                            mb_release_fn release);
    void unsubscribe(std::uint64_t id);
    std::uint64_t timer_start(std::uint64_t delay_ms, std::uint64_t period_ms, mb_timer_fn fn,
                              void* user, mb_release_fn release);
    void timer_cancel(std::uint64_t id);
    mb_result node_find(std::string_view query, mb_node_fn fn, void* user);
    std::size_t node_each(mb_node_fn fn, void* user);
    mb_result self_node(mb_node_fn fn, void* user);
    mb_result kv_get(std::string_view key, mb_bytes_fn fn, void* user);
    mb_result kv_set(std::string_view key, std::string_view value);
    mb_result kv_erase(std::string_view key);
    mb_result config_get(std::string_view path, mb_value& out);
    mb_result post_work(mb_work_fn work, mb_work_fn done, void* user, mb_release_fn release);
    mb_result status(mb_status& out);

private:
    // A function of the plugin's and the `user` it came with. Which member is set says what
    // kind of callback it is.
    struct Closure {
        mb_command_fn command = nullptr;
        mb_event_fn event = nullptr;
        mb_timer_fn timer = nullptr;
        mb_send_fn send = nullptr;
        mb_work_fn work = nullptr;
        mb_work_fn done = nullptr;
        void* user = nullptr;
        mb_release_fn release = nullptr;
    };
    struct Job {
        std::uint64_t closure;
        mb_work_fn work;
        void* user;
    };

    std::uint64_t keep(Closure closure);
    void drop_closure(std::uint64_t closure);
    // Sends a call and returns the answer's result (MB_ERR_INTERNAL when the host is gone).
    mb_result call_result(channel::Call& call, std::uint64_t* id = nullptr);
    std::vector<channel::Answer> call(channel::Call& call);
    void one_way(channel::Call& call);
    void invoke(const channel::Invoke& invoke);
    template <typename Fn>
    void guarded(const char* what, Fn&& fn);
    void work_loop();

    HostChannel& channel_;
    mb_host handle_{this};
    std::thread::id loop_thread_;
    bool host_gone_ = false;

    std::unordered_map<std::uint64_t, Closure> closures_;
    std::uint64_t next_closure_ = 1;
    // Each config path's string value and position, valid until unload.
    std::map<std::string, std::pair<std::string, std::string>, std::less<>> config_strings_;
    std::string data_dir_;                   // likewise
    const channel::Node* sender_ = nullptr;  // the running command's sender, when the host sent it

    std::mutex jobs_mutex_;
    std::condition_variable jobs_ready_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;  // started by the first post_work
};

}  // namespace meshbot::runner
