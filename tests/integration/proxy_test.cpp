// The virtual node with raw stream-API clients: the handshake from the bot's state, texts both
// ways under the clients' own ids, the admin policy, and what a client may do wrong.

#include <catch2/catch.hpp>

#include <algorithm>

#include "admin.pb.h"
#include "portnums.pb.h"
#include "support/bot_process.hpp"
#include "support/http_get.hpp"
#include "support/raw_client.hpp"
#include "support/sim_process.hpp"
#include "support/virtual_node_clients.hpp"

using namespace meshbot::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;

// The routing answer to `request_id`, if one arrives in time.
std::optional<pb::Routing> routing_answer(RawRadioClient& client, std::uint32_t request_id,
                                          std::chrono::milliseconds timeout,
                                          std::uint32_t* from = nullptr) {
    const auto m = client.receive_until(
        [&](const pb::FromRadio& f) {
            return f.has_packet() && f.packet().decoded().portnum() == pb::ROUTING_APP &&
                   f.packet().decoded().request_id() == request_id;
        },
        timeout);
    if (!m) return std::nullopt;
    if (from) *from = m->packet().from();
    pb::Routing routing;
    routing.ParseFromString(m->packet().decoded().payload());
    return routing;
}

pb::MeshPacket set_owner_packet(std::uint32_t id, std::uint32_t to, const std::string& name) {
    pb::AdminMessage admin;
    admin.mutable_set_owner()->set_long_name(name);
    admin.mutable_set_owner()->set_short_name("NEW");
    pb::MeshPacket p;
    p.set_id(id);
    p.set_to(to);
    p.set_want_ack(true);
    p.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    p.mutable_decoded()->set_payload(admin.SerializeAsString());
    return p;
}

void send_packet(RawRadioClient& client, const pb::MeshPacket& packet) {
    pb::ToRadio message;
    *message.mutable_packet() = packet;
    client.send(message);
}

std::size_t count_node_infos(const std::vector<pb::FromRadio>& frames) {
    return static_cast<std::size_t>(std::count_if(
        frames.begin(), frames.end(), [](const pb::FromRadio& f) { return f.has_node_info(); }));
}

}  // namespace

TEST_CASE("a client of the virtual node gets the handshake from the bot, with its own nonce",
          "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    REQUIRE(port != 0);

    RawRadioClient client(port);
    const auto frames = client.handshake(4242, 10s);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.front().has_my_info());
    CHECK(frames.front().my_info().my_node_num() == sim.my_node());
    CHECK(frames.back().config_complete_id() == 4242);
    CHECK(count_node_infos(frames) == 4);  // the radio and its three nodes
    const auto channels = std::count_if(frames.begin(), frames.end(),
                                        [](const pb::FromRadio& f) { return f.has_channel(); });
    CHECK(channels == 8);
    CHECK(std::any_of(frames.begin(), frames.end(),
                      [](const pb::FromRadio& f) { return f.has_metadata(); }));
    CHECK(std::any_of(frames.begin(), frames.end(),
                      [](const pb::FromRadio& f) { return f.has_config(); }));
    // The radio's private key is not handed to clients (allow_admin is off).
    const auto security = std::find_if(frames.begin(), frames.end(), [](const pb::FromRadio& f) {
        return f.has_config() && f.config().has_security();
    });
    REQUIRE(security != frames.end());
    CHECK(security->config().security().private_key().empty());
    CHECK(security->config().security().public_key().size() == 32);

    // The firmware's special nonces: config without the other nodes; only the nodes.
    const auto config_only = client.handshake(69420, 10s);
    REQUIRE_FALSE(config_only.empty());
    CHECK(count_node_infos(config_only) == 1);
    CHECK(config_only.front().has_my_info());
    const auto nodes_only = client.handshake(69421, 10s);
    REQUIRE_FALSE(nodes_only.empty());
    CHECK(count_node_infos(nodes_only) == 4);
    CHECK_FALSE(std::any_of(nodes_only.begin(), nodes_only.end(), [](const pb::FromRadio& f) {
        return f.has_my_info() || f.has_channel();
    }));

    // Heartbeats are answered by the bot; the radio saw one connection, the bot's.
    client.send_heartbeat();
    CHECK(client.receive_until([](const pb::FromRadio& f) { return f.has_queuestatus(); }, 5s));
    CHECK(sim.count("accept") == 1);
    CHECK(sim.count("rx", "want_config_id") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("two clients and the bot's plugins share the radio; answers come under each one's ids",
          "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {},
                              "[http]\nlisten = \"127.0.0.1:0\"\n" + proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    REQUIRE(port != 0);
    auto a = configured_client(port, 1001);
    auto b = configured_client(port, 1002);

    // Both are seen from outside: `meshbot status`, /metrics and the status page's data.
    ChildProcess cli({bin_path("meshbot").string(), "status", "--config",
                      (bot.dir.path() / "meshbot.toml").string()});
    REQUIRE(cli.wait_exit(15s) == 0);
    cli.wait_for_line("\x01never printed", 1s);  // the reader drains the pipe
    CHECK_THAT(cli.output(), Catch::Contains("virtual node: 127.0.0.1:" + std::to_string(port) +
                                             ", 2 client(s)"));
    CHECK_THAT(cli.output(), Catch::Contains("client 1 127.0.0.1:"));
    const auto http_line = bot.process->wait_for_line("http: listening on", 10s);
    REQUIRE(http_line);
    const auto metrics = http_get(*http_port_from_log(*http_line), "/metrics");
    CHECK(metric_value(metrics.body, "meshbot_proxy_clients") == 2.0);
    CHECK(metric_value(metrics.body, "meshbot_proxy_connections_total") == 2.0);
    const auto page = http_get(*http_port_from_log(*http_line), "/api/status");
    CHECK_THAT(page.body, Catch::Contains("\"frames_to_client\""));

    // A text from the mesh reaches both clients (and the bot's echo plugin still answers).
    sim.command("text from=!10000002 hello clients");
    CHECK(a->receive_until([](const auto& f) { return is_text(f, "hello clients"); }, 5s));
    CHECK(b->receive_until([](const auto& f) { return is_text(f, "hello clients"); }, 5s));
    CHECK(echo_answers(sim, "shared"));

    // A broadcast from A: on the air once, A's queueStatus under A's id.
    a->send_text(0x00ab0001, kBroadcast, "from client a");
    const auto status = a->receive_until(
        [](const pb::FromRadio& f) {
            return f.has_queuestatus() && f.queuestatus().mesh_packet_id() == 0x00ab0001;
        },
        10s);
    REQUIRE(status);
    CHECK(status->queuestatus().res() == 0);
    // A DM from B with want_ack: the ACK from the destination under B's id, never to A.
    b->send_text(0x00bb0002, 0x10000001, "dm from client b", true);
    std::uint32_t from = 0;
    const auto ack = routing_answer(*b, 0x00bb0002, 15s, &from);
    REQUIRE(ack);
    CHECK(ack->error_reason() == pb::Routing::NONE);
    CHECK(from == 0x10000001u);
    CHECK_FALSE(a->receive_until(
        [](const pb::FromRadio& f) { return f.packet().decoded().request_id() == 0x00bb0002; },
        500ms));

    const auto broadcasts = texts_to(sim, kBroadcast);
    CHECK(std::count_if(broadcasts.begin(), broadcasts.end(), [](const Record& r) {
              return r.get<std::string>("text", "") == "from client a";
          }) == 1);
    const auto dms = texts_to(sim, 0x10000001);
    REQUIRE(dms.size() == 1);
    CHECK(dms.front().get<std::string>("text", "") == "dm from client b");
    CHECK(dms.front().get<std::uint32_t>("id", 0) != 0x00bb0002u);  // mapped to a bot id

    // Replies and reactions thread. A mesh reply to A's broadcast (under the id the mesh saw)
    // reaches A under A's own id; B, who never saw that packet, gets it as the mesh sent it.
    const auto on_air_a = std::find_if(broadcasts.begin(), broadcasts.end(), [](const Record& r) {
        return r.get<std::string>("text", "") == "from client a";
    });
    REQUIRE(on_air_a != broadcasts.end());
    const auto air_id = on_air_a->get<std::uint32_t>("id", 0);
    sim.command("text from=!10000002 reply=" + std::to_string(air_id) + " nice one");
    const auto at_a = a->receive_until([](const auto& f) { return is_text(f, "nice one"); }, 5s);
    const auto at_b = b->receive_until([](const auto& f) { return is_text(f, "nice one"); }, 5s);
    REQUIRE(at_a);
    REQUIRE(at_b);
    CHECK(at_a->packet().decoded().reply_id() == 0x00ab0001u);
    CHECK(at_b->packet().decoded().reply_id() == air_id);
    // A's reaction to its own broadcast goes on the air as a reaction to the id the mesh knows.
    pb::ToRadio reaction;
    auto& r = *reaction.mutable_packet();
    r.set_id(0x00ab0003);
    r.set_to(kBroadcast);
    r.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    r.mutable_decoded()->set_payload("\xf0\x9f\x91\x8d");
    r.mutable_decoded()->set_reply_id(0x00ab0001);
    r.mutable_decoded()->set_emoji(1);
    a->send(reaction);
    const auto reacted = sim.wait_for(
        [](const Record& rec) {
            return record_is(rec, "rx", "packet") && rec.get<std::uint32_t>("reply_id", 0) != 0;
        },
        10s);
    REQUIRE(reacted);
    CHECK(reacted->get<std::uint32_t>("reply_id", 0) == air_id);
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("admin messages that change the radio are refused unless allow_admin lets them through",
          "[proxy]") {
    SimProcess sim;
    SECTION("refused by default: the client gets NOT_AUTHORIZED, the radio nothing") {
        RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
        auto client = configured_client(proxy_port(bot), 77);
        send_packet(*client, set_owner_packet(0x0000a001, sim.my_node(), "Hijacked"));
        const auto nak = routing_answer(*client, 0x0000a001, 5s);
        REQUIRE(nak);
        CHECK(nak->error_reason() == pb::Routing::NOT_AUTHORIZED);
        CHECK(bot.process->wait_for_line("refused admin message set_owner", 5s));
        // A read-only request goes through to the radio.
        pb::AdminMessage get;
        get.set_get_owner_request(true);
        pb::MeshPacket read = set_owner_packet(0x0000a002, sim.my_node(), "");
        read.mutable_decoded()->set_payload(get.SerializeAsString());
        send_packet(*client, read);
        CHECK(sim.wait_for(
            [](const Record& r) { return record_is(r, "admin") && r.get<int>("variant", 0) == 3; },
            5s));
        CHECK(sim.count("admin") == 1);  // only the get_owner_request
    }
    SECTION("allowed: it reaches the radio, and the bot's view follows") {
        RunningBot bot(config_for(sim, echo_plugin_only(), {},
                                  proxy_table("allow_admin = [\"set_owner\"]\n")));
        auto client = configured_client(proxy_port(bot), 78);
        // Settings saved one after another (the apps' way): refreshes follow one another.
        send_packet(*client, set_owner_packet(0x0000a004, sim.my_node(), "First Name"));
        send_packet(*client, set_owner_packet(0x0000a005, sim.my_node(), "Second Name"));
        send_packet(*client, set_owner_packet(0x0000a003, sim.my_node(), "Renamed Radio"));
        std::uint32_t from = 0;
        const auto ack = routing_answer(*client, 0x0000a003, 5s, &from);
        REQUIRE(ack);
        CHECK(ack->error_reason() == pb::Routing::NONE);
        CHECK(from == sim.my_node());
        CHECK(sim.wait_for(
            [](const Record& r) { return record_is(r, "admin") && r.get<int>("variant", 0) == 32; },
            5s));
        REQUIRE(bot.process->wait_for_line("config refreshed", 10s));
        // A new client sees the last name once the refreshes are done: the bot asked the radio.
        const auto renamed = [&](const std::vector<pb::FromRadio>& frames) {
            return std::any_of(frames.begin(), frames.end(), [&](const pb::FromRadio& f) {
                return f.has_node_info() && f.node_info().num() == sim.my_node() &&
                       f.node_info().user().long_name() == "Renamed Radio";
            });
        };
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        std::vector<pb::FromRadio> frames;
        while (std::chrono::steady_clock::now() < deadline && !renamed(frames)) {
            RawRadioClient later(proxy_port(bot));
            frames = later.handshake(79, 10s);
        }
        REQUIRE(renamed(frames));
        // One handshake's worth: overlapping refreshes did not pile up.
        CHECK(std::count_if(frames.begin(), frames.end(),
                            [](const pb::FromRadio& f) { return f.has_my_info(); }) == 1);
        CHECK(std::count_if(frames.begin(), frames.end(),
                            [](const pb::FromRadio& f) { return f.has_channel(); }) == 8);
        CHECK(sim.count("accept") == 1);
    }
}
