// What a SIGHUP reload makes of a config file read again (app/config_reload.hpp), and the
// systemd STATUS= text for the link's state (app/service_notify.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "app/config_reload.hpp"
#include "app/service_notify.hpp"
#include "config/config_loader.hpp"
#include "plugin_host/command_router.hpp"
#include "portnums.pb.h"

using meshbot::app::apply_reloadable;
using meshbot::app::compare_configs;
using meshbot::app::link_status;
using meshbot::app::LinkSnapshot;
using meshbot::config::AppConfig;
using meshbot::radio::LinkState;
using Names = std::vector<std::string>;

namespace {

AppConfig parse(const std::string& text) {
    return meshbot::config::parse_config(text, "/etc/meshbot/meshbot.toml").config;
}

const std::string kBase =
    "[radio]\nhost = \"10.0.0.2\"\n[log]\nlevel = \"info\"\n[commands]\nprefix = \"/\"\n"
    "[plugins]\nisolation = \"process\"\n[plugins.echo]\nmode = \"broadcast\"\n"
    "[plugins.monitor]\ncheck_interval = 60\n";

}  // namespace

TEST_CASE("the same file read again changes nothing, even with its lines moved", "[reload]") {
    const auto running = parse(kBase);
    CHECK_FALSE(compare_configs(running, parse(kBase)).any());
    CHECK_FALSE(compare_configs(running, parse("\n\n# moved down\n" + kBase)).any());
}

TEST_CASE("log level, commands and plugin tables are reloadable; the rest is named for a restart",
          "[reload]") {
    const auto running = parse(kBase);
    const auto fresh = parse(
        "[radio]\nhost = \"10.0.0.3\"\nheartbeat_interval = 30\n[bot]\ndata_dir = \"/srv/mb\"\n"
        "[log]\nlevel = \"debug\"\n[commands]\nprefix = \"!\"\nrate_limit = 9\n"
        "[plugins]\nisolation = \"none\"\nenabled = [\"echo\"]\n"
        "[plugins.echo]\nmode = \"reply\"\nisolation = \"none\"\n"
        "[plugins.monitor]\ncheck_interval = 60\n[plugins.remote]\n");
    const auto changes = compare_configs(running, fresh);
    CHECK(changes.log_level);
    CHECK(changes.commands == Names{"commands.prefix", "commands.rate_limit"});
    CHECK(changes.plugin_ids == Names{"echo", "remote"});  // monitor's table is the same
    CHECK(changes.need_restart == Names{"radio.host", "radio.heartbeat_interval", "bot.data_dir",
                                        "plugins.enabled", "plugins.isolation",
                                        "plugins.echo.isolation"});
}

TEST_CASE("a removed plugin table is a change; trusted_sources is none of the daemon's",
          "[reload]") {
    const auto running = parse(kBase);
    const auto fresh = parse(
        "[radio]\nhost = \"10.0.0.2\"\n[log]\nlevel = \"info\"\n[commands]\nprefix = \"/\"\n"
        "[plugins]\nisolation = \"process\"\ntrusted_sources = [\"github.com/meshtastic\"]\n"
        "[plugins.echo]\nmode = \"broadcast\"\n");
    const auto changes = compare_configs(running, fresh);
    CHECK(changes.plugin_ids == Names{"monitor"});
    CHECK(changes.need_restart.empty());
    CHECK_FALSE(changes.log_level);
    CHECK(changes.commands.empty());
}

TEST_CASE(
    "applying a reload takes log, commands and plugin tables, keeps the rest and each "
    "plugin's isolation",
    "[reload]") {
    auto live = parse(kBase);
    const auto fresh = parse(
        "[radio]\nhost = \"10.0.0.3\"\n[log]\nlevel = \"debug\"\n[commands]\nprefix = \"!\"\n"
        "[plugins]\nisolation = \"none\"\n[plugins.echo]\nmode = \"reply\"\nisolation = \"none\"\n"
        "[plugins.remote]\n");
    apply_reloadable(live, fresh);
    CHECK(live.log.level == "debug");
    CHECK(live.commands.prefix == "!");
    CHECK(live.radio.host == "10.0.0.2");
    CHECK(live.plugins.isolation == meshbot::config::Isolation::process);
    REQUIRE(live.plugins.settings.count("echo") == 1);
    CHECK(live.plugins.settings.at("echo").table_toml ==
          fresh.plugins.settings.at("echo").table_toml);
    CHECK_FALSE(live.plugins.settings.at("echo").isolation.has_value());
    CHECK(live.plugins.settings.count("remote") == 1);
    CHECK(live.plugins.settings.count("monitor") == 0);
    // What runs now compares equal to the file but for what needs a restart.
    const auto left = compare_configs(live, fresh);
    CHECK_FALSE(left.log_level);
    CHECK(left.commands.empty());
    CHECK(left.need_restart == Names{"radio.host", "plugins.isolation", "plugins.echo.isolation"});
}

TEST_CASE("the command router takes new [commands] settings: prefix, policy, a fresh rate limit",
          "[reload]") {
    using meshbot::plugins::CommandRouter;
    using Outcome = CommandRouter::Outcome;
    constexpr std::uint32_t kBot = 0x0badc0de;
    meshbot::config::CommandsConfig settings;
    settings.rate_limit = 1;
    std::vector<std::string> answers;
    CommandRouter router(settings, [&](std::uint32_t, std::uint32_t, std::string_view text) {
        answers.emplace_back(text);
    });
    int ran = 0;
    meshbot::plugins::CommandEntry ping;
    ping.name = "ping";
    ping.owner = "test";
    ping.handler = [&](const meshbot::plugins::CommandCall&) { ++ran; };
    REQUIRE(router.add(std::move(ping)) == "");
    std::uint64_t event = 0;
    const auto dm = [&](const std::string& text) {
        meshbot::pb::MeshPacket packet;
        packet.set_from(0x10000002);
        packet.set_to(kBot);
        packet.mutable_decoded()->set_portnum(meshbot::pb::TEXT_MESSAGE_APP);
        packet.mutable_decoded()->set_payload(text);
        return router.on_text(packet, false, kBot, ++event, meshbot::plugins::Clock::now());
    };
    CHECK(dm("/ping") == Outcome::ran);
    CHECK(dm("/ping") == Outcome::refused);  // one per minute

    settings.prefix = "!";
    settings.rate_limit = 2;
    router.apply(settings);
    CHECK(dm("/ping") == Outcome::not_a_command);
    CHECK(dm("!ping") == Outcome::ran);  // the new limit counts afresh
    CHECK(dm("!ping") == Outcome::ran);
    CHECK(dm("!ping") == Outcome::refused);
    CHECK(ran == 3);

    settings.dm = false;
    router.apply(settings);
    CHECK(dm("!ping") == Outcome::ignored);
}

TEST_CASE("STATUS= text for each link state", "[service]") {
    LinkSnapshot link;
    link.endpoint = "127.0.0.1:4403";
    CHECK(link_status(link) == "radio 127.0.0.1:4403: not connected yet");
    link.state = LinkState::connecting;
    link.attempt = 3;
    CHECK(link_status(link) == "radio 127.0.0.1:4403: connecting (attempt 3)");
    link.state = LinkState::handshaking;
    CHECK(link_status(link) == "radio 127.0.0.1:4403: connected, handshaking");
    link.state = LinkState::ready;
    link.nodes = 12;
    CHECK(link_status(link) == "radio 127.0.0.1:4403: ready, 12 nodes");
    link.state = LinkState::backoff;
    link.reason = "connect failed: Connection refused";
    CHECK(link_status(link) == "radio 127.0.0.1:4403: down: connect failed: Connection refused");
    link.reason.clear();
    CHECK(link_status(link) == "radio 127.0.0.1:4403: down: no reason known");
    link.state = LinkState::stopped;
    CHECK(link_status(link) == "radio 127.0.0.1:4403: stopped");
}

TEST_CASE(
    "a reload applies [http] token and node_metrics, and never opens a listener bound off "
    "loopback",
    "[reload]") {
    const std::string token = "token = \"0123456789abcdef0123\"\n";
    auto running = parse(kBase + "[http]\nlisten = \"127.0.0.1:9464\"\n" + token);
    auto fresh = parse(kBase + "[http]\nlisten = \"127.0.0.1:9464\"\nnode_metrics = 5\n");
    auto changes = compare_configs(running, fresh);
    CHECK(changes.http == Names{"http.token", "http.node_metrics"});
    CHECK(changes.need_restart.empty());
    apply_reloadable(running, fresh);
    CHECK(running.http.token.empty());
    CHECK(running.http.node_metrics == 5);

    // Bound on 0.0.0.0 with a token; the file now says loopback and no token. The listener stays
    // where it is until a restart, and so does its token.
    auto open = parse(kBase + "[http]\nlisten = \"0.0.0.0:9464\"\n" + token);
    changes = compare_configs(open, fresh);
    CHECK(changes.http == Names{"http.node_metrics"});
    CHECK_THAT(changes.need_restart,
               Catch::Matchers::UnorderedEquals(Names{"http.listen", "http.token"}));
    apply_reloadable(open, fresh);
    CHECK(open.http.token == "0123456789abcdef0123");
    CHECK(open.http.address == "0.0.0.0");
}
