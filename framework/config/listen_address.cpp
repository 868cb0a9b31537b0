// Addresses in the config: where a listener binds ("IP:port") and which clients it admits
// ("IP" or "IP/prefix").

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include "config/config_reader.hpp"

namespace meshbot::config {

std::optional<bool> loopback_address(const std::string& address) {
    in_addr v4{};
    if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
    return std::nullopt;
}

std::optional<AddressRange> AddressRange::parse(std::string_view text) {
    AddressRange out;
    out.text = std::string(text);
    const auto slash = text.find('/');
    const std::string ip(text.substr(0, slash));
    in6_addr v6{};
    if (inet_pton(AF_INET, ip.c_str(), out.ip.data()) == 1) {
        out.prefix = 32;
    } else if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
        out.v4 = false;
        out.prefix = 128;
        std::memcpy(out.ip.data(), &v6, 16);
    } else {
        return std::nullopt;
    }
    if (slash != std::string_view::npos) {
        const std::string_view bits = text.substr(slash + 1);
        unsigned prefix = 0;
        const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
        if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() ||
            prefix > out.prefix)
            return std::nullopt;
        out.prefix = prefix;
    }
    // ::ffff:a.b.c.d/N is a.b.c.d/(N-96): clients reach the virtual node's IPv4 form.
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!out.v4 && out.prefix >= 96 && std::memcmp(out.ip.data(), mapped, 12) == 0) {
        std::memmove(out.ip.data(), out.ip.data() + 12, 4);
        std::fill(out.ip.begin() + 4, out.ip.end(), 0);
        out.v4 = true;
        out.prefix -= 96;
    }
    return out;
}

bool AddressRange::contains(bool address_v4, const std::uint8_t* address) const {
    if (address_v4 != v4) return false;
    const unsigned whole = prefix / 8;
    if (std::memcmp(ip.data(), address, whole) != 0) return false;
    const unsigned rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (ip[whole] & mask) == (address[whole] & mask);
}

}  // namespace meshbot::config

namespace meshbot::config::detail {

// "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464": an IP literal (a name would be looked up at
// each start, and could move a listener off loopback behind the operator's back) and a port.
namespace {

std::optional<Listen> parse_listen(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
        return std::nullopt;
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    Listen out;
    out.port = static_cast<std::uint16_t>(port);
    out.address = std::string(bracketed ? host.substr(1, host.size() - 2) : host);
    const auto loopback = loopback_address(out.address);
    // An IPv6 address needs its brackets, so that its own colons are not read as the port's.
    const bool v6 = out.address.find(':') != std::string::npos;
    if (!loopback || v6 != bracketed) return std::nullopt;
    out.loopback = *loopback;
    return out;
}

}  // namespace

std::optional<Listen> read_listen(Section& s, std::string_view example_port,
                                  std::string_view what) {
    std::string listen;
    const toml::node* node = read_string(s, "listen", listen);
    if (!node) return std::nullopt;
    if (auto parsed = listen.empty() ? Listen{} : parse_listen(listen)) {
        parsed->text = std::move(listen);
        parsed->node = node;
        return parsed;
    }
    const std::string port(example_port);
    s.error(*node, "listen",
            "expected \"IP:port\" such as \"127.0.0.1:" + port + "\" or \"[::1]:" + port +
                "\" (an IP address, not a host name), or \"\" to turn " + std::string(what) +
                " off, got " + describe(*node));
    return std::nullopt;
}

}  // namespace meshbot::config::detail
