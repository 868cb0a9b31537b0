#include "plugin_host/runner_process.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "plugin_channel/descriptor_passing.hpp"
#include "plugin_channel/runner_contract.hpp"
#include "plugin_host/utf8_chunker.hpp"

namespace meshbot::plugins {

namespace {

namespace asio = boost::asio;

// A runner that lets this much pile up unread is not listening any more (a node_each answer
// over a 100,000-node store is about 15 MiB, queued at once).
constexpr std::size_t kMaxQueuedBytes = 64u << 20;
// A runner whose channel closed gets this long to be seen exiting before it is killed.
constexpr auto kExitAfterClose = std::chrono::milliseconds(1000);

// Descriptors owned until handed to a stream_descriptor or closed.
struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// A plugin sees none of the bot's environment (tokens, paths, the operator's settings): only
// what a program needs to run, its private folder as HOME and TMPDIR, and the sanitizers'
// options when the bot runs under them.
std::vector<std::string> runner_environment(const std::filesystem::path& private_dir) {
    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"};
    if (!private_dir.empty()) {
        env.push_back("HOME=" + private_dir.string());
        env.push_back("TMPDIR=" + private_dir.string());
    }
    for (const char* name : {"TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
    }
    return env;
}

}  // namespace

RunnerProcess::RunnerProcess(asio::any_io_executor executor, std::string id)
    : executor_(executor),
      id_(std::move(id)),
      channel_(executor),
      stdout_(executor),
      stderr_(executor),
      pidfd_(executor),
      broker_handoff_(executor),
      resolver_(executor),
      grace_(executor),
      read_buffer_(64 * 1024),
      out_buffer_(4096),
      err_buffer_(4096) {}

std::shared_ptr<RunnerProcess> RunnerProcess::spawn(asio::any_io_executor executor,
                                                    const RunnerOptions& options, Handlers handlers,
                                                    std::string& error) {
    int pair[2];
    int out[2];
    int err[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        error = std::string("socketpair: ") + std::strerror(errno);
        return nullptr;
    }
    Fd host_end(pair[0]), runner_end(pair[1]);
    if (::pipe2(out, O_CLOEXEC) != 0) {
        error = std::string("pipe: ") + std::strerror(errno);
        return nullptr;
    }
    Fd out_read(out[0]), out_write(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) {
        error = std::string("pipe: ") + std::strerror(errno);
        return nullptr;
    }
    Fd err_read(err[0]), err_write(err[1]);
    Fd broker_host_end, broker_runner_end;
    const bool broker = options.sandbox && options.network.has_value();
    if (broker) {
        int handoff[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, handoff) != 0) {
            error = std::string("socketpair: ") + std::strerror(errno);
            return nullptr;
        }
        broker_host_end.fd = handoff[0];
        broker_runner_end.fd = handoff[1];
    }

    std::vector<std::string> args = {options.runner.string(),
                                     "--library",
                                     options.library.string(),
                                     "--id",
                                     options.id,
                                     "--host-pid",
                                     std::to_string(::getpid()),
                                     "--memory-limit-mb",
                                     std::to_string(options.memory_limit_mb)};
    if (!options.private_dir.empty()) {
        args.insert(args.end(), {"--private-dir", options.private_dir.string()});
    }
    if (options.network) args.insert(args.end(), {"--grant", "network"});
    if (options.grant_exec) args.insert(args.end(), {"--grant", "exec"});
    if (!options.sandbox) args.push_back("--no-sandbox");
    if (options.probe) args.push_back("--probe");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    SpawnSetup setup;
    // The runner's descriptors: /dev/null, its log pipes, the channel; nothing else.
    posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, out_write.fd, 1);
    posix_spawn_file_actions_adddup2(&setup.actions, err_write.fd, 2);
    posix_spawn_file_actions_adddup2(&setup.actions, runner_end.fd, channel::kChannelFd);
    if (broker) {
        posix_spawn_file_actions_adddup2(&setup.actions, broker_runner_end.fd, channel::kBrokerFd);
    }
    posix_spawn_file_actions_addclosefrom_np(
        &setup.actions, (broker ? channel::kBrokerFd : channel::kChannelFd) + 1);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&setup.attributes, &none);
    posix_spawnattr_setsigdefault(&setup.attributes, &all);
    // A process group of its own: whatever the plugin starts ends with its runner.
    posix_spawnattr_setpgroup(&setup.attributes, 0);
    posix_spawnattr_setflags(
        &setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

    pid_t pid = -1;
    auto environment = runner_environment(options.private_dir);
    std::vector<char*> envp;
    for (auto& e : environment)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid, args[0].c_str(), &setup.actions, &setup.attributes,
                                 argv.data(), envp.data());
    if (rc != 0) {
        error = "cannot start " + args[0] + ": " + std::strerror(rc);
        return nullptr;
    }
    std::shared_ptr<RunnerProcess> self(new RunnerProcess(executor, options.id));
    self->pid_ = pid;
    self->memory_limit_mb_ = options.memory_limit_mb;
    self->handlers_ = std::move(handlers);
    self->channel_.assign(host_end.release());
    self->channel_.non_blocking(true);
    self->stdout_.assign(out_read.release());
    self->stderr_.assign(err_read.release());
    self->stdout_.non_blocking(true);
    self->stderr_.non_blocking(true);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
        self->pidfd_.assign(pidfd);
        self->watch_exit();
    }
    if (broker) {
        self->broker_handoff_.assign(broker_host_end.release());
        self->receive_listener(*options.network);
    }
    self->read_channel();
    self->read_output(self->stdout_, self->stdout_partial_, false);
    self->read_output(self->stderr_, self->stderr_partial_, true);
    return self;
}

RunnerProcess::~RunnerProcess() {
    if (broker_) broker_->stop();
    if (!reaped_ && pid_ > 0) {
        kill_group();
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void RunnerProcess::kill_group() const {
    ::kill(-pid_, SIGKILL);  // the runner and anything the plugin started
    ::kill(pid_, SIGKILL);   // in case it never got its own group
}

void RunnerProcess::read_channel() {
    channel_.async_read_some(
        asio::buffer(read_buffer_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            if (ec) {
                if (ec == asio::error::operation_aborted || self->reaped_) return;
                // The runner closed its end: it is exiting, or it is misbehaving.
                if (!self->pidfd_.is_open()) return self->kill("closed its channel");
                self->grace_.expires_after(kExitAfterClose);
                self->grace_.async_wait([self](const boost::system::error_code& e) {
                    if (!e && !self->reaped_) self->kill("closed its channel");
                });
                return;
            }
            self->reader_.feed(self->read_buffer_.data(), n);
            std::string error;
            while (auto bytes = self->reader_.next(error)) {
                channel::RunnerMessage message;
                if (!message.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
                    return self->kill("sent an undecodable message on its channel");
                }
                if (!self->why_.empty() || !self->handlers_.on_message) return;
                self->handlers_.on_message(message);
                if (!self->why_.empty()) return;  // the handler ended it
            }
            if (!error.empty()) return self->kill("sent " + error + " on its channel");
            self->read_channel();
        });
}

void RunnerProcess::send(const channel::HostMessage& message) {
    if (reaped_ || !why_.empty()) return;
    writes_.push_back(channel::frame(message));
    queued_bytes_ += writes_.back().size();
    if (queued_bytes_ > kMaxQueuedBytes) {
        return kill("stopped reading its channel (" + std::to_string(queued_bytes_ >> 20) +
                    " MiB waiting)");
    }
    if (!writing_) write_next();
}

void RunnerProcess::write_next() {
    if (writes_.empty() || reaped_) return;
    writing_ = true;
    asio::async_write(
        channel_, asio::buffer(writes_.front()),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
            self->writing_ = false;
            if (ec) return;  // the exit watch reports why
            self->queued_bytes_ -= self->writes_.front().size();
            self->writes_.pop_front();
            self->write_next();
        });
}

void RunnerProcess::read_output(asio::posix::stream_descriptor& pipe, std::string& partial,
                                bool is_stderr) {
    auto& buffer = is_stderr ? err_buffer_ : out_buffer_;
    pipe.async_read_some(
        asio::buffer(buffer), [self = shared_from_this(), &pipe, &partial, &buffer, is_stderr](
                                  const boost::system::error_code& ec, std::size_t n) {
            if (ec) {
                if (!partial.empty()) self->log_line(partial, is_stderr);
                partial.clear();
                return;
            }
            partial.append(buffer.data(), n);
            std::size_t start = 0;
            for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos;
                 start = nl + 1) {
                self->log_line(std::string_view(partial).substr(start, nl - start), is_stderr);
            }
            partial.erase(0, start);
            if (partial.size() > kMaxLogLineBytes) {
                self->log_line(partial, is_stderr);
                partial.clear();
            }
            self->read_output(pipe, partial, is_stderr);
        });
}

void RunnerProcess::log_line(std::string_view line, bool is_stderr) {
    unsigned dropped = 0;
    const bool take = log_budget_.take(std::chrono::steady_clock::now(), dropped);
    if (dropped > 0) {
        spdlog::warn("[{}] {} output lines dropped (over {} a second)", id_, dropped,
                     LineBudget::kLinesPerSecond);
    }
    if (!take) return;
    const std::string clean = printable(line, kMaxLogLineBytes);
    if (is_stderr) {
        spdlog::warn("[{}] {}", id_, clean);
    } else {
        spdlog::info("[{}] {}", id_, clean);
    }
}

// The runner's first act after its seccomp filter is to send the filter's listener here.
void RunnerProcess::receive_listener(ConnectPolicy policy) {
    broker_handoff_.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [self = shared_from_this(),
         policy = std::move(policy)](const boost::system::error_code& ec) {
            if (ec || self->reaped_) return;
            const int listener = channel::receive_descriptor(self->broker_handoff_.native_handle());
            if (listener < 0) {
                boost::system::error_code ignored;
                self->broker_handoff_.close(ignored);
                return;  // no listener: the runner reports why in its sandbox report
            }
            self->broker_ = NetworkBroker::start(self->executor_, listener, policy, self->id_);
            self->serve_lookups();
        });
}

// Then the same descriptor carries the plugin's name lookups, one datagram each way.
void RunnerProcess::serve_lookups() {
    broker_handoff_.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->reaped_) return;
            std::string bytes(64 * 1024, '\0');
            const ssize_t n = ::recv(self->broker_handoff_.native_handle(), bytes.data(),
                                     bytes.size(), MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return self->serve_lookups();
            channel::ResolveRequest request;
            if (n <= 0 || !request.ParseFromArray(bytes.data(), static_cast<int>(n))) {
                boost::system::error_code ignored;
                self->broker_handoff_.close(ignored);  // the plugin gets no more answers
                return;
            }
            self->look_up(request);
        });
}

void RunnerProcess::look_up(const channel::ResolveRequest& request) {
    using Resolver = asio::ip::tcp::resolver;
    constexpr int kFlags = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV |
                           AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG;
    const auto flags = static_cast<Resolver::flags>(request.flags() & kFlags);
    auto answer = [self = shared_from_this(), canonical = (request.flags() & AI_CANONNAME) != 0,
                   name = request.node()](const boost::system::error_code& ec,
                                          const Resolver::results_type& results) {
        if (self->reaped_ || !self->broker_handoff_.is_open()) return;
        channel::ResolveAnswer out;
        if (ec == asio::error::host_not_found) {
            out.set_error(EAI_NONAME);
        } else if (ec == asio::error::host_not_found_try_again) {
            out.set_error(EAI_AGAIN);
        } else if (ec == asio::error::service_not_found) {
            out.set_error(EAI_SERVICE);
        } else if (ec) {
            out.set_error(EAI_FAIL);
        }
        for (const auto& entry : results) {
            const auto& endpoint = entry.endpoint();
            out.add_addresses(
                std::string(reinterpret_cast<const char*>(endpoint.data()), endpoint.size()));
            if (canonical && out.canonical_name().empty())
                out.set_canonical_name(entry.host_name());
        }
        spdlog::debug("plugin {}: looked up {}: {} addresses{}", self->id_, printable(name, 200),
                      out.addresses_size(), ec ? " (" + ec.message() + ")" : "");
        const std::string bytes = out.SerializeAsString();
        ::send(self->broker_handoff_.native_handle(), bytes.data(), bytes.size(),
               MSG_DONTWAIT | MSG_NOSIGNAL);
        self->serve_lookups();
    };
    const std::string node = request.has_node() ? request.node() : "";
    const std::string service = request.has_service() ? request.service() : "";
    if (request.family() == AF_INET || request.family() == AF_INET6) {
        resolver_.async_resolve(
            request.family() == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), node, service,
            flags, std::move(answer));
    } else {
        resolver_.async_resolve(node, service, flags, std::move(answer));
    }
}

void RunnerProcess::watch_exit() {
    pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                          if (ec) return;
                          // A runner's last message and its exit can complete in one turn of
                          // the reactor: the channel's bytes already read into read_buffer_,
                          // their handler queued behind this one. Reaping after it keeps that
                          // message (a probe's "started" is its whole verdict); what was never
                          // read is drained by reap().
                          asio::post(self->executor_, [self] { self->reap(false); });
                      });
}

void RunnerProcess::reap(bool block) {
    if (reaped_) return;
    // Seen exited but not reaped yet: its pid (and process group id) cannot be reused until
    // waitpid, so the group can be killed safely first.
    siginfo_t info{};
    int rc;
    do {
        rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info,
                      WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0 && info.si_pid == 0) return watch_exit();  // not yet
    kill_group();
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    reaped_ = true;
    const std::string why = !why_.empty() ? why_
                            : r == pid_   ? describe_exit(status)
                                          : "ended (its exit status was lost)";
    drain();
    if (broker_) broker_->stop();
    resolver_.cancel();
    boost::system::error_code ignored;
    broker_handoff_.close(ignored);
    channel_.close(ignored);
    stdout_.close(ignored);
    stderr_.close(ignored);
    pidfd_.close(ignored);
    grace_.cancel();
    auto on_exit = std::move(handlers_.on_exit);
    handlers_ = {};
    if (on_exit) on_exit(why);
}

// What the runner said before it died is still in the channel and the pipes: read it all
// (without waiting: a process the plugin started may hold a pipe open), so its last log lines
// and calls are not lost.
void RunnerProcess::drain() {
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::recv(channel_.native_handle(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n <= 0) break;
        reader_.feed(buffer, static_cast<std::size_t>(n));
    }
    std::string error;
    while (auto bytes = reader_.next(error)) {
        channel::RunnerMessage message;
        if (!message.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) break;
        if (handlers_.on_message) handlers_.on_message(message);
    }
    auto drain_pipe = [&](asio::posix::stream_descriptor& pipe, std::string& partial,
                          bool is_stderr) {
        if (!pipe.is_open()) return;
        for (;;) {
            const ssize_t n = ::read(pipe.native_handle(), buffer, sizeof buffer);
            if (n <= 0) break;
            partial.append(buffer, static_cast<std::size_t>(n));
        }
        std::size_t start = 0;
        for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1)
            log_line(std::string_view(partial).substr(start, nl - start), is_stderr);
        if (start < partial.size()) log_line(std::string_view(partial).substr(start), is_stderr);
        partial.clear();
    };
    drain_pipe(stdout_, stdout_partial_, false);
    drain_pipe(stderr_, stderr_partial_, true);
}

std::string RunnerProcess::describe_exit(int status) const {
    if (WIFSIGNALED(status)) {
        const char* name = ::sigabbrev_np(WTERMSIG(status));
        return name ? std::string("killed by SIG") + name
                    : "killed by signal " + std::to_string(WTERMSIG(status));
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0) return "exited";
    if (code == channel::kExitOutOfMemory)
        return "ran out of memory (limit " + std::to_string(memory_limit_mb_) + " MiB)";
    if (code == channel::kExitChannel) return "lost its channel to the host";
    return "exited with status " + std::to_string(code);
}

void RunnerProcess::kill(const std::string& why) {
    if (reaped_) return;
    if (why_.empty()) why_ = why;
    kill_group();
    // Without a pidfd nothing else will notice the exit. Not from here: the caller may be one of
    // the handlers that reaping drops.
    if (!pidfd_.is_open()) asio::post(executor_, [self = shared_from_this()] { self->reap(true); });
}

void RunnerProcess::shutdown(std::chrono::milliseconds grace) {
    if (reaped_) return;
    channel::HostMessage bye;
    bye.set_shutdown(true);
    send(bye);
    grace_.expires_after(grace);
    grace_.async_wait([self = shared_from_this(), grace](const boost::system::error_code& ec) {
        if (!ec && !self->reaped_)
            self->kill("did not stop within " + std::to_string(grace.count()) + " ms");
    });
}

void RunnerProcess::detach() {
    handlers_ = {};
    kill("stopped by the host");
}

}  // namespace meshbot::plugins
