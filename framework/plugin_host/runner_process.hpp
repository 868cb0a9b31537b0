#pragma once
// One meshbot-plugin child process, seen from the host: spawning it (posix_spawn, never a bare
// fork of the multi-threaded host) with a clean environment, the framed channel both ways, its
// stdout and stderr as log lines under the plugin's id, the watch for its exit (a pidfd), and
// for a plugin granted the network, the broker of its connections.

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugin_channel.pb.h"
#include "plugin_channel/channel_frames.hpp"
#include "plugin_host/line_budget.hpp"
#include "plugin_host/network_broker.hpp"

namespace meshbot::plugins {

struct RunnerOptions {
    std::filesystem::path runner;   // the meshbot-plugin executable
    std::filesystem::path library;  // the plugin's .so
    std::string id;
    std::uint64_t memory_limit_mb = 0;
    std::filesystem::path private_dir;  // the one folder it may write; also its HOME and TMPDIR
    bool sandbox = true;                // false: [plugins] sandbox = false
    bool grant_exec = false;
    // Granted the network: its connect() calls come to a NetworkBroker with this policy.
    std::optional<ConnectPolicy> network;
    bool probe = false;
};

// Owns the child process, its descriptors and the asynchronous work on them; io_context thread
// only. Shared: pending operations keep it alive, so it is destroyed once the owner let go and
// the child was reaped. The owner's handlers run until detach().
class RunnerProcess : public std::enable_shared_from_this<RunnerProcess> {
public:
    struct Handlers {
        std::function<void(channel::RunnerMessage&)> on_message;
        std::function<void(const std::string& why)> on_exit;  // once, after the child was reaped
    };

    // Starts the runner; nullptr (and `error`) when it cannot.
    static std::shared_ptr<RunnerProcess> spawn(boost::asio::any_io_executor executor,
                                                const RunnerOptions& options, Handlers handlers,
                                                std::string& error);
    ~RunnerProcess();
    RunnerProcess(const RunnerProcess&) = delete;
    RunnerProcess& operator=(const RunnerProcess&) = delete;

    void send(const channel::HostMessage& message);
    // Ends the runner now (SIGKILL). `why` is the exit reason unless one was set before.
    void kill(const std::string& why);
    // Asks the plugin to shut down and kills the runner if it has not exited after `grace`.
    void shutdown(std::chrono::milliseconds grace);
    // The owner stops listening; the process is killed and reaped in the background.
    void detach();
    pid_t pid() const { return pid_; }
    bool running() const { return !reaped_; }

private:
    RunnerProcess(boost::asio::any_io_executor executor, std::string id);
    void read_channel();
    void write_next();
    void read_output(boost::asio::posix::stream_descriptor& pipe, std::string& partial,
                     bool is_stderr);
    void log_line(std::string_view line, bool is_stderr);
    void receive_listener(ConnectPolicy policy);
    void serve_lookups();
    void look_up(const channel::ResolveRequest& request);
    void watch_exit();
    void reap(bool block);
    void drain();
    void kill_group() const;
    std::string describe_exit(int status) const;

    boost::asio::any_io_executor executor_;
    std::string id_;
    std::uint64_t memory_limit_mb_ = 0;
    pid_t pid_ = -1;
    bool reaped_ = false;
    Handlers handlers_;
    std::string why_;  // the first known reason it ended, if the host ended it

    boost::asio::posix::stream_descriptor channel_;
    boost::asio::posix::stream_descriptor stdout_;
    boost::asio::posix::stream_descriptor stderr_;
    boost::asio::posix::stream_descriptor pidfd_;
    boost::asio::posix::stream_descriptor broker_handoff_;  // the seccomp listener arrives here
    std::shared_ptr<NetworkBroker> broker_;
    boost::asio::ip::tcp::resolver resolver_;  // a granted plugin's getaddrinfo(), one at a time
    boost::asio::steady_timer grace_;
    channel::FrameReader reader_;
    std::vector<char> read_buffer_;
    std::deque<std::string> writes_;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    std::string stdout_partial_, stderr_partial_;
    LineBudget log_budget_;
    std::vector<char> out_buffer_, err_buffer_;
};

}  // namespace meshbot::plugins
