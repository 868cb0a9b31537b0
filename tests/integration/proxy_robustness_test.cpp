// What virtual-node clients can do wrong (garbage, oversize frames, floods of texts, connection
// churn, not reading) and what the radio can do (drop, reboot) while they are connected: the
// bot, its link and the other clients carry on, and nothing a client sent is lost or doubled.

#include <catch2/catch.hpp>

#include <set>
#include <thread>

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

// How many texts with exactly this content went on the air: distinct packet ids, since the
// mesh drops a (sender, id) it has seen (a write the link lost is repeated under its id).
std::size_t on_air(const SimProcess& sim, std::uint32_t to, const std::string& text) {
    std::set<std::uint32_t> ids;
    for (const auto& r : texts_to(sim, to))
        if (r.get<std::string>("text", "") == text) ids.insert(r.get<std::uint32_t>("id", 0));
    return ids.size();
}

// A mesh text reaches `client` (the link and the relay work).
bool relays(SimProcess& sim, RawRadioClient& client, const std::string& text) {
    sim.command("text from=!10000003 " + text);
    return client.receive_until([&](const auto& f) { return is_text(f, text); }, 10s).has_value();
}

}  // namespace

TEST_CASE("garbage, oversize and undecodable frames from a client change nothing", "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    REQUIRE(port != 0);
    auto other = configured_client(port, 5);
    auto client = configured_client(port, 6);

    const std::vector<std::uint8_t> garbage = {0x00, 0x94, 0x94, 0x12, 0xff, 0xc3, 0x00, 0x42};
    client->send_raw(garbage);
    // A header announcing 65,535 bytes, then bytes that are no ToRadio.
    const std::vector<std::uint8_t> oversize = {0x94, 0xc3, 0xff, 0xff, 1, 2, 3, 4, 5, 6};
    client->send_raw(oversize);
    const std::vector<std::uint8_t> undecodable = {0x94, 0xc3, 0x00, 0x03, 0xff, 0xff, 0xff};
    client->send_raw(undecodable);
    // Still served: a heartbeat answered, a text relayed.
    client->send_heartbeat();
    CHECK(client->receive_until([](const auto& f) { return f.has_queuestatus(); }, 5s));
    CHECK(relays(sim, *client, "after garbage"));
    CHECK(other->receive_until([](const auto& f) { return is_text(f, "after garbage"); }, 5s));
    CHECK(echo_answers(sim, "unbothered"));

    // xmodem is cancelled, MQTT client proxy messages are dropped; neither reaches the radio.
    pb::ToRadio xmodem;
    xmodem.mutable_xmodempacket()->set_control(pb::XModem::STX);
    client->send(xmodem);
    const auto cancel =
        client->receive_until([](const auto& f) { return f.has_xmodempacket(); }, 5s);
    REQUIRE(cancel);
    CHECK(cancel->xmodempacket().control() == pb::XModem::CAN);
    pb::ToRadio mqtt;
    mqtt.mutable_mqttclientproxymessage();
    client->send(mqtt);
    CHECK(bot.process->wait_for_line("sent MQTT client proxy messages: dropped", 5s));
    CHECK(sim.count("rx", "other") == 0);

    // disconnect ends that client only.
    pb::ToRadio bye;
    bye.set_disconnect(true);
    client->send(bye);
    CHECK(client->closed(5s));
    CHECK(relays(sim, *other, "still here"));
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("a client that sends 1,000 texts at once gets its share of the radio, no more",
          "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    auto flooder = configured_client(port, 10);
    auto other = configured_client(port, 11);

    for (std::uint32_t i = 1; i <= 1000; ++i)
        flooder->send_text(0x00f00000 + i, kBroadcast, "burst " + std::to_string(i));
    // Past its queue ([proxy] client_queue, 64) it is told at once: RATE_LIMIT_EXCEEDED.
    const auto refused = flooder->receive_until(
        [](const pb::FromRadio& f) {
            return f.has_packet() && f.packet().decoded().portnum() == pb::ROUTING_APP &&
                   f.packet().decoded().request_id() == 0x00f00000 + 1000;
        },
        10s);
    REQUIRE(refused);
    pb::Routing routing;
    routing.ParseFromString(refused->packet().decoded().payload());
    CHECK(routing.error_reason() == pb::Routing::RATE_LIMIT_EXCEEDED);

    // The bot's own replies and the other client still get their turn within one text gap.
    CHECK(echo_answers(sim, "my turn"));
    other->send_text(0x00aa0001, kBroadcast, "other client");
    CHECK(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "rx", "packet") && r.get<std::string>("text", "") == "other client";
        },
        10s));
    CHECK(relays(sim, *other, "mesh still flows"));
    // The radio never had to refuse a text: they were paced, each sent once.
    CHECK(sim.count("rate_limited") == 0);
    CHECK(on_air(sim, kBroadcast, "burst 1") == 1);
    CHECK(on_air(sim, kBroadcast, "burst 1000") == 0);
    check_bot_traffic(sim);
}

TEST_CASE("a client asking for the handshake 1,000 times without reading costs one handshake",
          "[proxy]") {
    SimProcess sim(SimProcess::Options{.nodes = 2000});
    RunningBot bot(config_for(sim, echo_plugin_only(), {},
                              "[http]\nlisten = \"127.0.0.1:0\"\n" + proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    auto steady = configured_client(port, 50);
    RawRadioClient greedy(port);
    std::vector<std::uint8_t> burst;
    for (std::uint32_t i = 0; i < 1000; ++i) {
        pb::ToRadio want;
        want.set_want_config_id(100000 + i);
        const auto frame = meshbot::radio::encode_frame(want.SerializeAsString());
        burst.insert(burst.end(), frame.begin(), frame.end());
    }
    greedy.send_raw(burst);
    // The others are served meanwhile, and the bot holds one handshake for it, not 1,000.
    steady->send_heartbeat();
    CHECK(steady->receive_until([](const auto& f) { return f.has_queuestatus(); }, 5s));
    CHECK(echo_answers(sim, "not starved"));
    std::size_t built = 0;
    for (const auto& line : bot.process->lines())
        built += line.find("configured:") != std::string::npos ? 1 : 0;
    CHECK(built < 20);  // the steady client's and a few for the greedy one, by read
    // What the bot holds for it: one handshake of 2,000 nodes (~240 KB) at most, not 1,000.
    const auto http_line = bot.process->wait_for_line("http: listening on", 10s);
    REQUIRE(http_line);
    const auto page = http_get(*http_port_from_log(*http_line), "/api/status");
    std::size_t most_unread = 0;
    for (std::size_t at = page.body.find("\"unread_bytes\":"); at != std::string::npos;
         at = page.body.find("\"unread_bytes\":", at + 1))
        most_unread = std::max<std::size_t>(most_unread, std::stoul(page.body.substr(at + 15)));
    INFO(page.body);
    CHECK(most_unread < 600 * 1024);
}

TEST_CASE("100 clients connecting and leaving leave the bot and a connected client working",
          "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    auto steady = configured_client(port, 20);
    for (int i = 0; i < 100; ++i) {
        RawRadioClient churn(port);
        if (i % 2 == 0) CHECK_FALSE(churn.handshake(1000 + i, 10s).empty());
        if (i % 3 == 0) churn.send_text(0x00c00000 + i, kBroadcast, "churn " + std::to_string(i));
        // Odd ones vanish mid-handshake, without reading.
    }
    CHECK(relays(sim, *steady, "after the churn"));
    CHECK(echo_answers(sim, "churned"));
    // Every client that left is gone from the bot: 100 disconnections logged, one client left.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::size_t left = 0;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
        left = 0;
        for (const auto& line : bot.process->lines()) {
            if (line.find("proxy: client") == std::string::npos) continue;
            if (line.find("disconnected:") != std::string::npos) ++left;
            last = line;
        }
        if (left == 100) break;
        std::this_thread::sleep_for(20ms);
    }
    CHECK(left == 100);
    CHECK(last.find("; 1 connected)") != std::string::npos);
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("connections that leave packets behind cannot fill the bot's outbox", "[proxy]") {
    SimProcess sim;
    // A small outbox (32; the clients' share 16) so that a few connections would fill it.
    std::string config = config_for(sim, echo_plugin_only(), {}, proxy_table());
    config.insert(config.find("[radio]\n") + 8, "outbox_capacity = 32\n");
    RunningBot bot(config);
    const std::uint16_t port = proxy_port(bot);
    // Each connection leaves four packets on paced ports (2 s, 10 s, 10 s, 10 s apart on the
    // radio), its most, and goes: twelve of them, 48 packets, more than the whole outbox.
    const std::vector<pb::PortNum> ports = {pb::TEXT_MESSAGE_APP, pb::POSITION_APP,
                                            pb::TELEMETRY_APP, pb::WAYPOINT_APP};
    for (std::uint32_t i = 0; i < 12; ++i) {
        RawRadioClient hit_and_run(port);
        for (std::uint32_t p = 0; p < ports.size(); ++p)
            hit_and_run.send_packet(0x00e00000 + i * 16 + p, kBroadcast, ports[p], "left behind");
        hit_and_run.send_heartbeat();  // its answer: the bot has read the four
        CHECK(hit_and_run.receive_until([](const auto& f) { return f.has_queuestatus(); }, 5s));
    }
    // The bot's own reply still gets into the outbox, and out within a text turn or two.
    sim.command("text from=!10000002 channel=0 /echo still mine");
    CHECK(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "rx", "packet") &&
                   r.get<std::string>("text", "") == "N002: still mine";
        },
        10s));
    CHECK(sim.count("accept") == 1);
}

TEST_CASE("a client that stops reading is disconnected; the others and the bot carry on",
          "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table("client_buffer = 65536\n")));
    const std::uint16_t port = proxy_port(bot);
    auto stalled = configured_client(port, 30);
    auto reader = configured_client(port, 31);
    sim.command("flood 10000");
    // The reader keeps up with all of it.
    CHECK(
        reader->receive_until([](const auto& f) { return is_text(f, "flood 10000/10000"); }, 30s));
    CHECK(bot.process->wait_for_line("disconnected: not reading", 30s));
    CHECK(stalled->closed(10s));
    CHECK(echo_answers(sim, "unstalled"));
    CHECK(relays(sim, *reader, "after the stall"));
}

TEST_CASE("clients stay through a radio drop and reboot; what they sent goes out once", "[proxy]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    auto a = configured_client(port, 40);
    auto b = configured_client(port, 41);

    // Three texts from A (paced 2 s apart by the bot): the radio drops while they go out.
    for (std::uint32_t i = 1; i <= 3; ++i)
        a->send_text(0x00d00000 + i, kBroadcast, "across the drop " + std::to_string(i));
    REQUIRE(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "rx", "packet") &&
                   r.get<std::string>("text", "") == "across the drop 1";
        },
        10s));
    sim.command("drop");
    for (std::uint32_t i = 1; i <= 3; ++i) {
        const std::string text = "across the drop " + std::to_string(i);
        CHECK(sim.wait_for(
            [&](const Record& r) {
                return record_is(r, "rx", "packet") && r.get<std::string>("text", "") == text;
            },
            20s));
    }
    CHECK(relays(sim, *a, "after the drop"));
    CHECK(relays(sim, *b, "after the drop, b"));

    // A reboot of 2 s: a text sent meanwhile waits in the outbox and goes out once after it,
    // and a client that connects meanwhile gets the last known state, then live traffic.
    const auto before_reboot = bot.process->line_count();
    sim.command("reboot 2");
    b->send_text(0x00d10001, kBroadcast, "during the reboot");
    REQUIRE(bot.process->wait_for_line_after(before_reboot, "link lost", 10s));
    auto c = configured_client(port, 42);
    CHECK(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "rx", "packet") &&
                   r.get<std::string>("text", "") == "during the reboot";
        },
        30s));
    CHECK(relays(sim, *a, "after the reboot"));
    CHECK(relays(sim, *b, "after the reboot, b"));
    CHECK(relays(sim, *c, "after the reboot, c"));
    // Both clients stayed connected all along, and nothing went out twice.
    for (std::uint32_t i = 1; i <= 3; ++i)
        CHECK(on_air(sim, kBroadcast, "across the drop " + std::to_string(i)) == 1);
    CHECK(on_air(sim, kBroadcast, "during the reboot") == 1);
    CHECK_FALSE(bot.process->wait_for_line("disconnected:", 100ms));
    CHECK(max_concurrent_connections(sim) == 1);
}
