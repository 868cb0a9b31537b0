// Socket calls for the attack plugins without importing a single socket symbol: dlsym() finds
// them when the plugin runs, out of the import audit's sight.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "attack.hpp"

namespace attack {

std::optional<Address> ip_address(const std::string& host, int port) {
    Address out;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        out.length = sizeof(sockaddr_in);
        return out;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        out.length = sizeof(sockaddr_in6);
        return out;
    }
    return std::nullopt;
}

std::vector<std::pair<std::string, Address>> tcp_targets(const Targets& targets,
                                                         const std::string& host) {
    std::vector<std::pair<std::string, Address>> out;
    const std::pair<const char*, const std::optional<int>*> ports[] = {
        {"radio", &targets.radio_port}, {"listener", &targets.listener_port}};
    for (const auto& [name, port] : ports) {
        if (!port->has_value()) continue;
        if (auto address = ip_address(host, **port)) out.emplace_back(name, *address);
    }
    return out;
}

namespace {

template <typename Fn>
Fn next_symbol(const char* name) {
    return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

// Stand-ins for a symbol dlsym() did not find, so a caller gets an error rather than a crash.
int no_socket(int, int, int) {
    errno = ENOSYS;
    return -1;
}
int no_connect(int, const sockaddr*, socklen_t) {
    errno = ENOSYS;
    return -1;
}
ssize_t no_sendto(int, const void*, size_t, int, const sockaddr*, socklen_t) {
    errno = ENOSYS;
    return -1;
}

}  // namespace

const SocketCalls& socket_calls() {
    static const SocketCalls calls = [] {
        SocketCalls c{};
        c.socket = next_symbol<decltype(c.socket)>("socket");
        c.connect = next_symbol<decltype(c.connect)>("connect");
        c.sendto = next_symbol<decltype(c.sendto)>("sendto");
        if (c.socket == nullptr) c.socket = no_socket;
        if (c.connect == nullptr) c.connect = no_connect;
        if (c.sendto == nullptr) c.sendto = no_sendto;
        return c;
    }();
    return calls;
}

int dial(const Address& address) {
    const SocketCalls& calls = socket_calls();
    const int fd = calls.socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const int rc = calls.connect(fd, address.get(), address.length);
    const int error = rc == 0 ? 0 : errno;
    ::close(fd);
    return error;
}

}  // namespace attack
