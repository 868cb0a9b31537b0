// Test plugin granted the network (permissions = ["network"] and, from the operator,
// [plugins.netclient] grant_network = true): it dials out the ordinary way, with the imports
// the audit looks for, so that the sandbox's connect broker is exercised by a well-behaved
// plugin.
//   /connect HOST PORT     getaddrinfo(HOST, PORT), then a blocking connect() to each address
//                          in turn (3 s each)
//   /connectnb HOST PORT   the same with non-blocking sockets and poll()
//   /fastopen HOST PORT    sendto() with MSG_FASTOPEN, which connects without connect()
//   /connectmany HOST PORT N   N blocking connects to HOST (an address) in a row, as a plugin
//                          looping on a refused connection would: "N tried, M connected"
// They answer "connected <address>" for the first address that connected, or "refused
// <strerror>" with the last failure ("Permission denied" when the host's broker refused it,
// "Connection refused" when nobody listens). The dialling runs in post_work, off the loop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <meshbot/sdk.hpp>
#include <sstream>
#include <string>

namespace {

constexpr int kTimeoutMs = 3000;

// "127.0.0.1:4403" or "[::1]:4403".
std::string describe(const sockaddr* address) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (address->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(address);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
}

// Blocking connect, bounded by SO_SNDTIMEO (which Linux applies to connect()). 0 or errno.
int connect_blocking(int fd, const addrinfo& a) {
    const timeval timeout{kTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    return ::connect(fd, a.ai_addr, a.ai_addrlen) == 0 ? 0 : errno;
}

// Non-blocking connect, then poll() for the outcome and read it from SO_ERROR. 0 or errno.
int connect_nonblocking(int fd, const addrinfo& a) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
    if (::connect(fd, a.ai_addr, a.ai_addrlen) == 0) return 0;
    if (errno != EINPROGRESS) return errno;
    pollfd wait{fd, POLLOUT, 0};
    const int ready = ::poll(&wait, 1, kTimeoutMs);
    if (ready < 0) return errno;
    if (ready == 0) return ETIMEDOUT;
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
}

// TCP Fast Open: the connection is made inside sendto(). 0 or errno.
int connect_fastopen(int fd, const addrinfo& a) {
    static const char hello[] = "hello";
    return ::sendto(fd, hello, sizeof hello - 1, MSG_FASTOPEN | MSG_NOSIGNAL, a.ai_addr,
                    a.ai_addrlen) >= 0
               ? 0
               : errno;
}

enum class Way { blocking, nonblocking, fastopen };

// The whole dial: every address getaddrinfo gives, in its order, until one connects.
std::string dial(const std::string& host, const std::string& port, Way way) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return std::string("refused ") + ::gai_strerror(rc);
    int last_error = ENOENT;
    std::string connected;
    for (const addrinfo* a = found; a != nullptr && connected.empty(); a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last_error = errno;
            continue;
        }
        last_error = way == Way::nonblocking ? connect_nonblocking(fd, *a)
                     : way == Way::fastopen  ? connect_fastopen(fd, *a)
                                             : connect_blocking(fd, *a);
        if (last_error == 0) connected = describe(a->ai_addr);
        ::close(fd);
    }
    ::freeaddrinfo(found);
    if (!connected.empty()) return "connected " + connected;
    return std::string("refused ") + std::strerror(last_error);
}

std::string dial_many(const std::string& host, const std::string& port, int times) {
    int connected = 0;
    for (int i = 0; i < times; ++i) {
        if (dial(host, port, Way::blocking).rfind("connected", 0) == 0) ++connected;
    }
    return std::to_string(times) + " tried, " + std::to_string(connected) + " connected";
}

// Owns /connect, /connectnb, /fastopen and /connectmany; event-loop thread, the dialling on a
// worker.
class NetclientPlugin {
public:
    explicit NetclientPlugin(meshbot::Host& host) : host_(host) {
        add("connect", "connects with a blocking socket", Way::blocking);
        add("connectnb", "connects with a non-blocking socket and poll()", Way::nonblocking);
        add("fastopen", "connects inside sendto(MSG_FASTOPEN)", Way::fastopen);
        host_.command({.name = "connectmany",
                       .args = "<host> <port> <times>",
                       .help = "connects many times in a row",
                       .scope = meshbot::Scope::dm},
                      [this](const meshbot::Command& cmd) {
                          std::istringstream words{std::string(cmd.args())};
                          std::string to, port;
                          int times = 0;
                          words >> to >> port >> times;
                          const std::uint64_t event = cmd.event();
                          host_.post_work(
                              [to, port, times] { return dial_many(to, port, times); },
                              [this, event](std::string answer) { host_.reply(event, answer); });
                      });
    }

private:
    void add(const char* name, const char* help, Way way) {
        host_.command(
            {.name = name, .args = "<host> <port>", .help = help, .scope = meshbot::Scope::dm},
            [this, name, way](const meshbot::Command& cmd) {
                std::istringstream words{std::string(cmd.args())};
                std::string host, port;
                words >> host >> port;
                if (host.empty() || port.empty())
                    return cmd.reply(std::string("usage: /") + name + " <host> <port>");
                const std::uint64_t event = cmd.event();
                host_.post_work([host, port, way] { return dial(host, port, way); },
                                [this, event](std::string answer) { host_.reply(event, answer); });
            });
    }

    meshbot::Host& host_;
};

}  // namespace

MESHBOT_PLUGIN(NetclientPlugin, "netclient", "1.0.0")
