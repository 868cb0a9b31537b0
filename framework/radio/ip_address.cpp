#include "radio/ip_address.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

namespace meshbot::radio {

namespace {

IpEndpoint from_v4(const in_addr& address, std::uint16_t port) {
    IpEndpoint e;
    std::memcpy(e.ip.data(), &address, 4);
    e.port = port;
    return e;
}

IpEndpoint from_v6(const in6_addr& address, std::uint16_t port) {
    if (IN6_IS_ADDR_V4MAPPED(&address)) {
        in_addr v4{};
        std::memcpy(&v4, &address.s6_addr[12], 4);
        return from_v4(v4, port);
    }
    IpEndpoint e;
    e.v4 = false;
    std::memcpy(e.ip.data(), &address, 16);
    e.port = port;
    return e;
}

bool loopback_or_unspecified(const IpEndpoint& e) {
    if (e.v4) return e.ip[0] == 127 || (e.ip[0] | e.ip[1] | e.ip[2] | e.ip[3]) == 0;
    in6_addr a{};
    std::memcpy(&a, e.ip.data(), 16);
    return IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a);
}

}  // namespace

std::string IpEndpoint::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v4 ? AF_INET : AF_INET6, ip.data(), text, sizeof text);
    return v4 ? std::string(text) + ":" + std::to_string(port)
              : "[" + std::string(text) + "]:" + std::to_string(port);
}

std::optional<IpEndpoint> ip_endpoint(const void* sa, unsigned length) {
    if (sa == nullptr || length < sizeof(sa_family_t)) return std::nullopt;
    sa_family_t family = 0;
    std::memcpy(&family, sa, sizeof family);
    if (family == AF_INET && length >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        return from_v4(in.sin_addr, ntohs(in.sin_port));
    }
    if (family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        sockaddr_in6 in{};
        std::memcpy(&in, sa, sizeof in);
        return from_v6(in.sin6_addr, ntohs(in.sin6_port));
    }
    return std::nullopt;
}

std::optional<IpEndpoint> parse_ip(const std::string& text, std::uint16_t port) {
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return from_v4(v4, port);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) return from_v6(v6, port);
    return std::nullopt;
}

bool is_this_machine(const IpEndpoint& endpoint) {
    if (loopback_or_unspecified(endpoint)) return true;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    const std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owned(list, &::freeifaddrs);
    for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr) continue;
        const unsigned length =
            i->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        const auto own = ip_endpoint(i->ifa_addr, length);
        if (own && own->same_ip(endpoint)) return true;
    }
    return false;
}

}  // namespace meshbot::radio
