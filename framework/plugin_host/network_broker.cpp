#include "plugin_host/network_broker.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace meshbot::plugins {

namespace {

namespace asio = boost::asio;

// A blocking connect() the broker makes for a plugin gives up after this; the kernel's own
// (about two minutes) would hold the plugin's thread, and its callback, far longer.
constexpr auto kConnectTimeout = std::chrono::seconds(30);

// A descriptor owned until handed on.
struct OwnedFd {
    int fd = -1;
    explicit OwnedFd(int f) : fd(f) {}
    ~OwnedFd() {
        if (fd >= 0) ::close(fd);
    }
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    int release() { return std::exchange(fd, -1); }
};

// A pidfd for the process of thread `tid`.
int process_of(pid_t tid) {
    std::ifstream status("/proc/" + std::to_string(tid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("Tgid:", 0) == 0) {
            const long tgid = std::strtol(line.c_str() + 5, nullptr, 10);
            return tgid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, tgid, 0)) : -1;
        }
    }
    return -1;
}

}  // namespace

// One connect() being made for the plugin: the notification it answers and the host's socket.
struct NetworkBroker::Connect {
    std::uint64_t id;
    int plugin_fd;
    std::string target;
    asio::posix::stream_descriptor socket;
    asio::steady_timer deadline;
    Connect(asio::any_io_executor executor, std::uint64_t i, int fd, std::string t)
        : id(i), plugin_fd(fd), target(std::move(t)), socket(executor), deadline(executor) {}
};

NetworkBroker::NetworkBroker(asio::any_io_executor executor, int listener, ConnectPolicy policy,
                             std::string id)
    : executor_(executor),
      listener_(executor, listener),
      policy_(std::move(policy)),
      id_(std::move(id)) {}

std::shared_ptr<NetworkBroker> NetworkBroker::start(asio::any_io_executor executor, int listener,
                                                    ConnectPolicy policy, std::string id) {
    std::shared_ptr<NetworkBroker> self(
        new NetworkBroker(executor, listener, std::move(policy), std::move(id)));
    self->wait();
    return self;
}

void NetworkBroker::stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    listener_.close(ignored);
}

void NetworkBroker::wait() {
    listener_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                             if (ec || self->stopped_) return;
                             self->receive();
                         });
}

void NetworkBroker::receive() {
    seccomp_notif request{};
    if (::ioctl(listener_.native_handle(), SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) {
        // ENOENT: the thread that called went away (its runner was killed) before this read.
        if (errno != ENOENT && errno != EINTR) {
            spdlog::warn("plugin {}: network broker: {}", id_, std::strerror(errno));
            return;
        }
        // Every process using the filter has ended: nothing more will come (and the listener
        // would stay readable).
        pollfd hangup{listener_.native_handle(), POLLIN, 0};
        if (::poll(&hangup, 1, 0) == 1 && (hangup.revents & POLLHUP) != 0) return;
        return wait();
    }
    const std::uint64_t args[3] = {request.data.args[0], request.data.args[1],
                                   request.data.args[2]};
    handle(request.id, static_cast<pid_t>(request.pid), args);
    wait();
}

void NetworkBroker::handle(std::uint64_t id, pid_t pid, const std::uint64_t* args) {
    // connect(fd, address, length): the only call the filter sends here.
    const int plugin_fd = static_cast<int>(args[0]);
    const auto length = static_cast<std::size_t>(args[2]);
    sockaddr_storage address{};
    if (length == 0 || length > sizeof address) return respond(id, EINVAL);
    iovec local{&address, length};
    iovec remote{reinterpret_cast<void*>(args[1]), length};
    if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(length)) {
        return respond(id, EFAULT);
    }
    // The copy is from the thread that is still waiting, not from a process that reused its id.
    if (::ioctl(listener_.native_handle(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return;

    const auto verdict = decide_connect(&address, static_cast<unsigned>(length), policy_);
    if (!verdict.allowed) {
        note(verdict.target, verdict.why);
        return respond(id, EACCES);
    }
    // The plugin's socket says what to make: its family, type and protocol, and whether the
    // plugin waits in connect() or polls. It is in the calling thread's process: the runner,
    // or a program it started when granted exec.
    OwnedFd process(process_of(pid));
    if (process.fd < 0) return respond(id, ESRCH);
    if (::ioctl(listener_.native_handle(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return;
    OwnedFd theirs(static_cast<int>(::syscall(SYS_pidfd_getfd, process.fd, plugin_fd, 0)));
    if (theirs.fd < 0) return respond(id, errno == EBADF ? EBADF : ENOTSOCK);
    int domain = 0, type = 0, protocol = 0;
    socklen_t size = sizeof(int);
    if (::getsockopt(theirs.fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0) {
        return respond(id, ENOTSOCK);
    }
    size = sizeof(int);
    ::getsockopt(theirs.fd, SOL_SOCKET, SO_TYPE, &type, &size);
    size = sizeof(int);
    ::getsockopt(theirs.fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &size);
    const bool nonblocking = (::fcntl(theirs.fd, F_GETFL) & O_NONBLOCK) != 0;
    if (type != SOCK_STREAM) {
        note(verdict.target, "only TCP is brokered");
        return respond(id, EACCES);
    }
    OwnedFd ours(::socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
    if (ours.fd < 0) return respond(id, errno);
    const int connected = ::connect(ours.fd, reinterpret_cast<const sockaddr*>(&address),
                                    static_cast<socklen_t>(length));
    const int connect_error = connected == 0 ? 0 : errno;
    if (connect_error != 0 && connect_error != EINPROGRESS) return respond(id, connect_error);
    note(verdict.target, {});
    auto connect = std::make_shared<Connect>(executor_, id, plugin_fd, verdict.target);
    if (nonblocking) {
        // The plugin polls its socket as it would have: it gets ours, still connecting.
        connect->socket.assign(ours.release());
        return finish(connect, connect_error);
    }
    connect->socket.assign(ours.release());
    connect->deadline.expires_after(kConnectTimeout);
    connect->deadline.async_wait([connect](const boost::system::error_code& ec) {
        if (!ec) connect->socket.cancel();
    });
    connect->socket.async_wait(
        asio::posix::stream_descriptor::wait_write,
        [self = shared_from_this(), connect](const boost::system::error_code& ec) {
            connect->deadline.cancel();
            if (self->stopped_) return;
            int error = ETIMEDOUT;
            if (!ec) {
                socklen_t error_size = sizeof error;
                ::getsockopt(connect->socket.native_handle(), SOL_SOCKET, SO_ERROR, &error,
                             &error_size);
            }
            if (error == 0) {
                const int fd = connect->socket.native_handle();
                ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            }
            self->finish(connect, error);
        });
}

// Puts the host's socket in place of the plugin's (unless the connect failed) and lets the
// plugin's connect() return.
void NetworkBroker::finish(const std::shared_ptr<Connect>& connect, int error) {
    if (error == 0 || error == EINPROGRESS) {
        seccomp_notif_addfd addfd{};
        addfd.id = connect->id;
        addfd.flags = SECCOMP_ADDFD_FLAG_SETFD;
        addfd.srcfd = static_cast<std::uint32_t>(connect->socket.native_handle());
        addfd.newfd = static_cast<std::uint32_t>(connect->plugin_fd);
        if (::ioctl(listener_.native_handle(), SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0) {
            return;  // the plugin's thread is gone
        }
    }
    boost::system::error_code ignored;
    connect->socket.close(ignored);
    respond(connect->id, error);
}

// Each decision is logged (a refusal as a warning), within the plugin's line budget: a plugin
// calling connect() in a loop must not fill the bot's log.
void NetworkBroker::note(const std::string& target, const std::string& refused_because) {
    unsigned dropped = 0;
    const bool take = log_budget_.take(std::chrono::steady_clock::now(), dropped);
    if (dropped > 0) {
        spdlog::warn("plugin {}: {} more connection decisions not logged (over {} a second)", id_,
                     dropped, LineBudget::kLinesPerSecond);
    }
    if (!take) return;
    if (refused_because.empty()) {
        spdlog::info("plugin {}: connection to {} allowed", id_, target);
    } else {
        spdlog::warn("plugin {}: refused a connection to {}: {}", id_, target, refused_because);
    }
}

void NetworkBroker::respond(std::uint64_t id, int error, std::int64_t value) {
    seccomp_notif_resp response{};
    response.id = id;
    response.error = error == 0 ? 0 : -error;
    response.val = error == 0 ? value : 0;
    ::ioctl(listener_.native_handle(), SECCOMP_IOCTL_NOTIF_SEND, &response);
}

}  // namespace meshbot::plugins
