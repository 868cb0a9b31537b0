#include "plugin_runner/radio_guard.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace meshbot::runner {

namespace {

unsigned g_port = 0;
in_addr g_host4{};
in6_addr g_host6{};
bool g_has_host4 = false;
bool g_has_host6 = false;

bool is_radio4(const in_addr& a) {
    const std::uint32_t host = ntohl(a.s_addr);
    return (host >> 24) == 127 || host == 0 || (g_has_host4 && a.s_addr == g_host4.s_addr);
}

bool is_radio(const sockaddr* address, socklen_t length) {
    if (g_port == 0 || address == nullptr) return false;
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(address);
        return ntohs(in->sin_port) == g_port && is_radio4(in->sin_addr);
    }
    if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        const auto* in = reinterpret_cast<const sockaddr_in6*>(address);
        if (ntohs(in->sin6_port) != g_port) return false;
        const in6_addr& a = in->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a)) return true;
        if (g_has_host6 && std::memcmp(&a, &g_host6, sizeof a) == 0) return true;
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            in_addr v4{};
            std::memcpy(&v4, &a.s6_addr[12], sizeof v4);
            return is_radio4(v4);
        }
    }
    return false;
}

}  // namespace

void guard_radio_endpoint(const std::string& host, unsigned port) {
    g_port = port;
    g_has_host4 = ::inet_pton(AF_INET, host.c_str(), &g_host4) == 1;
    g_has_host6 = ::inet_pton(AF_INET6, host.c_str(), &g_host6) == 1;
}

}  // namespace meshbot::runner

// Exported from the runner executable (--export-dynamic-symbol), so it shadows libc's connect
// for the plugin and every library the plugin loads.
extern "C" __attribute__((visibility("default"))) int connect(int fd, const sockaddr* address,
                                                              socklen_t length) {
    using ConnectFn = int (*)(int, const sockaddr*, socklen_t);
    static const auto real_connect = reinterpret_cast<ConnectFn>(dlsym(RTLD_NEXT, "connect"));
    if (meshbot::runner::is_radio(address, length)) {
        std::fprintf(stderr, "refused a connect() to the radio's API port\n");
        errno = EACCES;
        return -1;
    }
    if (real_connect == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real_connect(fd, address, length);
}
