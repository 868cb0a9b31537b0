#include "support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace meshbot::testing {

namespace {

void ignore_sigpipe_once() {
    // A test writing to a child that already exited must get EPIPE, not die.
    static std::once_flag once;
    std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry(*e);
        const std::string name = entry.substr(0, entry.find('='));
        bool overridden = false;
        for (const auto& x : extra)
            overridden = overridden || x.substr(0, x.find('=')) == name;
        if (!overridden) env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env) {
    if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
    ignore_sigpipe_once();
    int in_pipe[2];
    int out_pipe[2];
    // O_CLOEXEC: other children spawned concurrently must not inherit our pipe ends, or EOF
    // would never arrive.
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
        throw std::runtime_error("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);

    std::vector<std::string> env = merged_environment(extra_env);
    std::vector<char*> c_argv = c_strings(argv);
    std::vector<char*> c_env = c_strings(env);
    const int rc = ::posix_spawnp(&pid_, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (rc != 0) {
        ::close(in_pipe[1]);
        ::close(out_pipe[0]);
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    stdin_fd_ = in_pipe[1];
    output_fd_ = out_pipe[0];
    reader_ = std::thread([this] { read_loop(); });
}

ChildProcess::~ChildProcess() {
    close_stdin();
    if (running()) {
        ::kill(pid_, SIGKILL);
        reap(0);
    }
    stop_ = true;  // a grandchild may still hold the pipe open: do not wait for EOF
    if (reader_.joinable()) reader_.join();
    if (output_fd_ >= 0) ::close(output_fd_);
}

void ChildProcess::read_loop() {
    std::string partial;
    char buf[4096];
    while (!stop_) {
        pollfd pfd{output_fd_, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, 50);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        const ssize_t n = ::read(output_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        partial.append(buf, static_cast<std::size_t>(n));
        std::vector<std::string> complete;
        for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
            std::string line = partial.substr(0, nl);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            complete.push_back(std::move(line));
            partial.erase(0, nl + 1);
        }
        if (!complete.empty()) {
            std::lock_guard lock(mutex_);
            for (auto& line : complete)
                lines_.push_back(std::move(line));
            changed_.notify_all();
        }
    }
    std::lock_guard lock(mutex_);
    if (!partial.empty()) lines_.push_back(partial);
    eof_ = true;
    changed_.notify_all();
}

std::optional<std::string> ChildProcess::wait_for_line(std::string_view needle,
                                                       std::chrono::milliseconds timeout) {
    return wait_for_line_after(0, needle, timeout);
}

std::optional<std::string> ChildProcess::wait_for_line_after(std::size_t index,
                                                             std::string_view needle,
                                                             std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    std::size_t scanned = index;
    for (;;) {
        for (; scanned < lines_.size(); ++scanned) {
            if (lines_[scanned].find(needle) != std::string::npos) return lines_[scanned];
        }
        if (eof_) return std::nullopt;  // no more output will come
        if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
            for (; scanned < lines_.size(); ++scanned) {
                if (lines_[scanned].find(needle) != std::string::npos) return lines_[scanned];
            }
            return std::nullopt;
        }
    }
}

std::vector<std::string> ChildProcess::lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
}

std::size_t ChildProcess::line_count() const {
    std::lock_guard lock(mutex_);
    return lines_.size();
}

std::string ChildProcess::output() const {
    std::string out;
    for (const auto& line : lines())
        out += line + "\n";
    return out;
}

void ChildProcess::write_stdin(std::string_view text) {
    while (!text.empty() && stdin_fd_ >= 0) {
        const ssize_t n = ::write(stdin_fd_, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the child closed its stdin or exited
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

void ChildProcess::close_stdin() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    stdin_fd_ = -1;
}

void ChildProcess::send_signal(int sig) {
    if (!exit_code_) ::kill(pid_, sig);
}

bool ChildProcess::reap(int options) {
    if (exit_code_) return true;
    int status = 0;
    pid_t rc;
    do {
        rc = ::waitpid(pid_, &status, options);
    } while (rc < 0 && errno == EINTR);
    if (rc != pid_) return false;
    exit_code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    return true;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // The exit status can be known before the reader thread has drained the pipe: wait for
    // its end of file so that lines() holds everything the child wrote.
    std::unique_lock lock(mutex_);
    changed_.wait_until(
        lock, std::max(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1)),
        [this] { return eof_; });
    return exit_code_;
}

bool ChildProcess::running() {
    return !reap(WNOHANG);
}

}  // namespace meshbot::testing
