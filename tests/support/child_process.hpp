#pragma once
// Runs a program as a child process for integration tests and collects its output as lines.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace meshbot::testing {

// Owns one child (posix_spawn), its stdin pipe and a reader thread that splits the merged
// stdout+stderr into lines. Any thread may call the const/line methods; process control
// (write_stdin, wait_exit, running, send_signal) is meant for the test's own thread.
class ChildProcess {
public:
    // argv[0] is the program path; extra_env entries ("NAME=value") override the environment.
    explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env = {});
    ~ChildProcess();  // SIGKILL + reap if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }

    // The first line (counting from the start; lines are not consumed) containing needle.
    std::optional<std::string> wait_for_line(std::string_view needle,
                                             std::chrono::milliseconds timeout);
    // Like wait_for_line, but only lines with index >= index.
    std::optional<std::string> wait_for_line_after(std::size_t index, std::string_view needle,
                                                   std::chrono::milliseconds timeout);
    std::vector<std::string> lines() const;  // all output lines so far (a copy)
    std::size_t line_count() const;
    // All output so far joined with newlines, for failure messages.
    std::string output() const;

    void write_stdin(std::string_view text);
    void close_stdin();
    void send_signal(int sig);
    // Exit code (128+signal if killed by a signal); nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    bool running();

private:
    void read_loop();
    bool reap(int options);  // waitpid; true once the exit status is known

    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int output_fd_ = -1;
    std::optional<int> exit_code_;
    std::atomic<bool> stop_{false};
    std::thread reader_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;  // guarded by mutex_
    bool eof_ = false;                // guarded by mutex_
};

}  // namespace meshbot::testing
