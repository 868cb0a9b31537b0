// The [http] section: where the metrics and status page listener binds, and its token.

#include <toml++/toml.h>

#include <string>

#include "config/config_reader.hpp"

namespace meshbot::config::detail {
namespace {

// A token an attacker on the network cannot guess by trying: 16 bytes or more of visible ASCII.
constexpr std::size_t min_token_bytes = 16;

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
