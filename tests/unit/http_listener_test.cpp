// The HTTP listener's policy without a socket: [http] as the config reads it, and what route()
// answers to a request before it ever reads the bot (Host, token, where a browser request came
// from, listeners bound off loopback).
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "config/config_loader.hpp"
#include "http/http_server.hpp"

using meshbot::config::ConfigError;
using meshbot::config::HttpConfig;
using meshbot::config::parse_config;
using meshbot::http::BodyCache;
using meshbot::http::Request;
using meshbot::http::route;

namespace {

HttpConfig http_config(std::string_view text) {
    return parse_config(text, "meshbot.toml").config.http;
}

std::string error_of(std::string_view text) {
    try {
        (void)parse_config(text, "meshbot.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

// A bot route() must not read for the requests below: any read fails the test.
class NoBot final : public meshbot::http::BotView {
public:
    [[noreturn]] static void read() { throw std::logic_error("route() read the bot"); }
    const meshbot::radio::RadioLink& radio_link() const override { read(); }
    const meshbot::nodes::NodeStore& node_store() const override { read(); }
    const meshbot::nodes::KeySync& keys() const override { read(); }
    const meshbot::plugins::CommandRouter& commands() const override { read(); }
    std::vector<meshbot::plugins::PluginStatus> plugin_statuses() const override { read(); }
    const std::deque<meshbot::http::KeyEventRecord>& key_events() const override { read(); }
    std::uint64_t text_parts_sent() const override { read(); }
    std::uint64_t started_at() const override { read(); }
    std::uint64_t link_changed_at() const override { read(); }
    const meshbot::proxy::VirtualNode& virtual_node() const override { read(); }
};

const std::string kToken = "0123456789abcdef0123";

// The status of GET `target` with these headers; "/nothing" answers 404 once every check passed.
unsigned status(const HttpConfig& config, std::string_view host,
                std::string_view target = "/nothing", std::string_view authorization = {},
                std::string_view fetch_site = {}) {
    NoBot bot;
    BodyCache cache;
    return route(Request{target, host, authorization, fetch_site}, config, bot, cache).status;
}

}  // namespace

TEST_CASE("[http] listen takes an IP and a port, off with \"\", and off loopback a token",
          "[config][http]") {
    const auto defaults = http_config("");
    CHECK(defaults.enabled);
    CHECK(defaults.address == "127.0.0.1");
    CHECK(defaults.port == 9464);
    CHECK(defaults.loopback);
    CHECK(defaults.node_metrics == 100);

    CHECK_FALSE(http_config("[http]\nlisten = \"\"\n").enabled);
    const auto v6 = http_config("[http]\nlisten = \"[::1]:0\"\n");
    CHECK(v6.address == "::1");
    CHECK(v6.port == 0);
    CHECK(v6.loopback);
    const auto open =
        http_config("[http]\nlisten = \"0.0.0.0:9464\"\ntoken = \"" + kToken + "\"\n");
    CHECK_FALSE(open.loopback);
    CHECK(open.token == kToken);

    for (const char* bad : {"localhost:9464", "127.0.0.1:99999", "::1:9464", "[127.0.0.1]:9464",
                            "127.0.0.1", "127.0.0.1:"}) {
        INFO(bad);
        CHECK_THAT(error_of("[http]\nlisten = \"" + std::string(bad) + "\"\n"),
                   Catch::StartsWith("meshbot.toml:2:10: http.listen: expected \"IP:port\""));
    }
    CHECK_THAT(error_of("[http]\nlisten = \"0.0.0.0:9464\"\n"),
               Catch::StartsWith("meshbot.toml:2:10: http.listen: listening on 0.0.0.0:9464 (not "
                                 "loopback) needs [http] token"));
    CHECK_THAT(error_of("[http]\ntoken = \"short\"\n"),
               Catch::StartsWith("meshbot.toml:2:9: http.token: expected at least 16"));
    CHECK_THAT(error_of("[http]\nnode_metrics = -1\n"),
               Catch::StartsWith("meshbot.toml:2:16: http.node_metrics: expected an integer"));
}

TEST_CASE("without a token, only a loopback Host is answered (DNS rebinding)", "[http]") {
    const auto config = http_config("");
    for (const char* ok : {"127.0.0.1:9464", "127.0.0.1", "localhost:9464", "localhost",
                           "[::1]:9464", "[::1]", "127.8.9.10:80"}) {
        INFO(ok);
        CHECK(status(config, ok) == 404);
    }
    for (const char* rebound : {"127.0.0.1.evil.example:9464", "127.evil.example", "localhost.evil",
                                "[::1]evil", "[::1]:", "127.0.0.1:94x", "evil.example:9464",
                                "10.0.0.1:9464", "[::ffff:10.0.0.1]", ""}) {
        INFO(rebound);
        CHECK(status(config, rebound) == 421);
    }
}

TEST_CASE("a token guards the data, not the page; a listener off loopback needs one", "[http]") {
    auto config = http_config("[http]\ntoken = \"" + kToken + "\"\n");
    CHECK(status(config, "anything") == 401);  // with a token, any Host: it is the key
    CHECK(status(config, "anything", "/nothing", "Bearer " + kToken) == 404);
    CHECK(status(config, "anything", "/nothing", "Bearer " + kToken + "x") == 401);
    CHECK(status(config, "anything", "/nothing", "bearer " + kToken) == 401);
    CHECK(status(config, "anything", "/") == 200);
    CHECK(status(config, "anything", "/metrics") == 401);

    // Bound off loopback with no token (a reload can never get here; the config refuses it): no
    // answer for anyone.
    config.loopback = false;
    config.token.clear();
    CHECK(status(config, "127.0.0.1") == 503);
    CHECK(status(config, "127.0.0.1", "/") == 503);
}

TEST_CASE("a request a browser makes for another site is refused", "[http]") {
    const auto config = http_config("");
    CHECK(status(config, "127.0.0.1", "/nothing", {}, "cross-site") == 403);
    CHECK(status(config, "127.0.0.1", "/nothing", {}, "same-site") == 403);
    CHECK(status(config, "127.0.0.1", "/nothing", {}, "same-origin") == 404);
    CHECK(status(config, "127.0.0.1", "/nothing", {}, "none") == 404);
}
