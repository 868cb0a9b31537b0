#pragma once
// What the radio guards compare about a socket address: the IP (an IPv4-mapped IPv6 address
// folded to IPv4, so one address has one spelling) and the port; whether it is this machine's.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

namespace meshbot::radio {

// An IPv4 or IPv6 endpoint in one comparable form. Plain data; any thread.
struct IpEndpoint {
    bool v4 = true;
    std::array<std::uint8_t, 16> ip{};  // IPv4: the first 4 bytes
    std::uint16_t port = 0;             // host order

    bool same_ip(const IpEndpoint& other) const { return v4 == other.v4 && ip == other.ip; }
    bool operator<(const IpEndpoint& o) const {
        return std::tie(v4, ip, port) < std::tie(o.v4, o.ip, o.port);
    }
    std::string to_string() const;  // "127.0.0.1:4403", "[::1]:4403"
};

// nullopt for anything but AF_INET/AF_INET6 (or a length too short for its family).
std::optional<IpEndpoint> ip_endpoint(const void* sockaddr, unsigned length);
// An IP literal ("127.0.0.1", "::1", "::ffff:10.0.0.5"); nullopt for a host name.
std::optional<IpEndpoint> parse_ip(const std::string& text, std::uint16_t port = 0);

// Reaches this machine: loopback (127/8, ::1), unspecified (0.0.0.0, ::, which connect()
// treats as this host), or an address of one of its interfaces (read now: interfaces change).
bool is_this_machine(const IpEndpoint& endpoint);

}  // namespace meshbot::radio
