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
    const auto listen = read_listen(s, "9464", "the listener");
    if (listen) {
        h.enabled = !listen->address.empty();
        if (h.enabled) {
            h.address = listen->address;
            h.port = listen->port;
            h.loopback = listen->loopback;
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
    if (h.enabled && !h.loopback && h.token.empty() && listen)
        s.error(*listen->node, "listen",
                "listening on " + listen->text +
                    " (not loopback) needs [http] token: anyone who reaches the address would "
                    "see the mesh");
}

}  // namespace meshbot::config::detail
