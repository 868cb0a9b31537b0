// The [http] section: where the metrics and status page listener binds, and its token.

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <charconv>
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

}  // namespace meshbot::config

namespace meshbot::config::detail {
namespace {

// A token an attacker on the network cannot guess by trying: 16 bytes or more of visible ASCII.
constexpr std::size_t min_token_bytes = 16;

struct Listen {
    std::string address;
    std::uint16_t port = 0;
    bool loopback = false;
};

// "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464": an IP literal (a name would be looked up at
// each start, and could move the page off loopback behind the operator's back) and a port.
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

bool visible_ascii(std::string_view text) {
    for (const char c : text)
        if (c <= 0x20 || c >= 0x7F) return false;
    return true;
}

}  // namespace

void read_http(Section& s, HttpConfig& h) {
    std::string listen;
    const toml::node* listen_node = read_string(s, "listen", listen);
    if (listen_node) {
        if (listen.empty()) {
            h.enabled = false;
        } else if (const auto parsed = parse_listen(listen)) {
            h.address = parsed->address;
            h.port = parsed->port;
            h.loopback = parsed->loopback;
        } else {
            s.error(*listen_node, "listen",
                    "expected \"IP:port\" such as \"127.0.0.1:9464\" or \"[::1]:9464\" (an IP "
                    "address, not a host name), or \"\" to turn the listener off, got " +
                        describe(*listen_node));
        }
    }
    std::string token;
    if (const auto* node = read_string(s, "token", token)) {
        if (!token.empty() && (token.size() < min_token_bytes || !visible_ascii(token)))
            s.error(*node, "token",
                    "expected at least " + std::to_string(min_token_bytes) +
                        " visible ASCII characters (e.g. from `openssl rand -hex 24`)");
        else
            h.token = std::move(token);
    }
    read_integer(s, "node_metrics", h.node_metrics, 0, 100000,
                 "per-node series in /metrics, the most recently heard first");
    if (h.enabled && !h.loopback && h.token.empty() && listen_node)
        s.error(*listen_node, "listen",
                "listening on " + listen +
                    " (not loopback) needs [http] token: anyone who reaches the address would "
                    "see the mesh");
}

}  // namespace meshbot::config::detail
