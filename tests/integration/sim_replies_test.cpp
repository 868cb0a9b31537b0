// meshbot-sim's other nodes (docs/radio-protocol.md §6.4, §7): auto-replies to want_response DMs,
// PhoneAPI's per-portnum throttles, and node liveness (beacons, silence, return, node reboot).
// Checked from the client side with a raw radio-API client and from the simulator's record.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "admin.pb.h"
#include "support/raw_client.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"
#include "telemetry.pb.h"

using namespace std::chrono_literals;
using meshbot::testing::RawRadioClient;
using meshbot::testing::Record;
using meshbot::testing::record_is;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
namespace pb = meshbot::pb;

namespace {

constexpr auto kTimeout = 5s;
constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;
constexpr std::uint32_t kNode1 = 0x10000001;  // generated: odd nodes have a position
constexpr std::uint32_t kNode2 = 0x10000002;
constexpr std::uint32_t kNode4 = 0x10000004;
constexpr std::uint32_t kNonce = 0x5EED1234;

std::map<std::uint32_t, pb::NodeInfo> nodedb(RawRadioClient& client) {
    const auto frames = client.handshake(69421, kTimeout);
    REQUIRE_FALSE(frames.empty());
    std::map<std::uint32_t, pb::NodeInfo> out;
    for (const auto& f : frames) {
        if (f.has_node_info()) out[f.node_info().num()] = f.node_info();
    }
    return out;
}

void configure(RawRadioClient& client) {
    REQUIRE_FALSE(client.handshake(kNonce, kTimeout).empty());
}

// A client DM with decoded.want_response, as a bot asks a remote node for something.
pb::MeshPacket ask(RawRadioClient& client, std::uint32_t id, std::uint32_t to, pb::PortNum port,
                   const std::string& payload = {}, bool want_ack = false) {
    pb::ToRadio message;
    pb::MeshPacket* p = message.mutable_packet();
    p->set_id(id);
    p->set_to(to);
    p->set_hop_limit(3);
    p->set_want_ack(want_ack);
    p->mutable_decoded()->set_portnum(port);
    p->mutable_decoded()->set_payload(payload);
    p->mutable_decoded()->set_want_response(true);
    client.send(message);
    return *p;
}

std::string device_metrics_request() {
    pb::Telemetry t;
    t.mutable_device_metrics();
    return t.SerializeAsString();
}

bool answers(const pb::FromRadio& m, std::uint32_t request_id) {
    return m.has_packet() && m.packet().has_decoded() &&
           m.packet().decoded().request_id() == request_id;
}

// The packet answering `request_id` (a reply or a ROUTING packet).
pb::MeshPacket answer(RawRadioClient& client, std::uint32_t request_id,
                      std::optional<pb::PortNum> port = std::nullopt) {
    const auto m = client.receive_until(
        [&](auto& f) {
            return answers(f, request_id) && (!port || f.packet().decoded().portnum() == *port);
        },
        kTimeout);
    REQUIRE(m);
    return m->packet();
}

int routing_error(const pb::MeshPacket& p) {
    REQUIRE(p.decoded().portnum() == pb::ROUTING_APP);
    pb::Routing routing;
    REQUIRE(routing.ParseFromString(p.decoded().payload()));
    return routing.error_reason();
}

pb::DeviceMetrics metrics_of(const pb::MeshPacket& p) {
    REQUIRE(p.decoded().portnum() == pb::TELEMETRY_APP);
    pb::Telemetry t;
    REQUIRE(t.ParseFromString(p.decoded().payload()));
    REQUIRE(t.has_device_metrics());
    return t.device_metrics();
}

bool is_telemetry_from(const pb::FromRadio& m, std::uint32_t from) {
    return m.has_packet() && m.packet().from() == from && m.packet().has_decoded() &&
           m.packet().decoded().portnum() == pb::TELEMETRY_APP;
}

std::optional<Record> record_for(const SimProcess& sim, std::string_view ev, std::string_view key,
                                 std::uint32_t value) {
    return sim.wait_for(
        [&](const Record& r) {
            return record_is(r, ev) && r.get<std::uint32_t>(std::string(key), 0) == value;
        },
        kTimeout);
}

// The first `n` node_telemetry records written after the first `ev` record, in file order;
// fewer if they did not come within the timeout. Polls the record like SimProcess::wait_for.
std::vector<Record> telemetry_after(const SimProcess& sim, std::string_view ev, std::size_t n,
                                    std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::vector<Record> out;
        bool seen = false;
        for (const auto& r : sim.records()) {
            if (!seen) {
                seen = record_is(r, ev);
            } else if (record_is(r, "node_telemetry") && out.size() < n) {
                out.push_back(r);
            }
        }
        if (out.size() >= n || std::chrono::steady_clock::now() >= deadline) return out;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

TEST_CASE("sim: a telemetry request is answered with the node's device metrics over PKI",
          "[sim][replies]") {
    SimProcess sim({.extra_args = {"--reply-delay", "0.3"}});
    RawRadioClient client(sim.port());
    configure(client);
    const auto db = nodedb(client);
    ask(client, 6001, kNode1, pb::TELEMETRY_APP, device_metrics_request(), true);

    const pb::MeshPacket ack = answer(client, 6001, pb::ROUTING_APP);  // the ACK comes first
    CHECK(ack.from() == kNode1);
    CHECK(routing_error(ack) == 0);
    const pb::MeshPacket reply = answer(client, 6001, pb::TELEMETRY_APP);
    CHECK(reply.from() == kNode1);
    CHECK(reply.to() == sim.my_node());
    CHECK(reply.pki_encrypted());
    CHECK(reply.channel() == 0);
    CHECK(reply.public_key() == db.at(kNode1).user().public_key());
    const pb::DeviceMetrics m = metrics_of(reply);
    CHECK(m.battery_level() == db.at(kNode1).device_metrics().battery_level());
    CHECK(m.voltage() > 3.0f);
    CHECK(m.has_channel_utilization());
    CHECK(m.has_air_util_tx());
    CHECK(m.uptime_seconds() > 0);

    const auto recorded = record_for(sim, "reply", "request_id", 6001);
    REQUIRE(recorded);
    CHECK(recorded->get<std::string>("from") == "!10000001");
    CHECK(recorded->get<int>("portnum") == pb::TELEMETRY_APP);
}

TEST_CASE("sim: position requests: a node with a fix answers, one without says NO_RESPONSE",
          "[sim][replies]") {
    SimProcess sim({.extra_args = {"--reply-delay", "0.1", "--no-throttle"}});
    RawRadioClient client(sim.port());
    configure(client);
    ask(client, 6101, kNode1, pb::POSITION_APP);
    const pb::MeshPacket reply = answer(client, 6101);
    CHECK(reply.from() == kNode1);
    REQUIRE(reply.decoded().portnum() == pb::POSITION_APP);
    CHECK_FALSE(reply.pki_encrypted());
    pb::Position pos;
    REQUIRE(pos.ParseFromString(reply.decoded().payload()));
    CHECK(pos.latitude_i() == 488600000);  // 48.85 + 0.01 for node 1
    CHECK(pos.longitude_i() == 23600000);

    ask(client, 6102, kNode2, pb::POSITION_APP);
    const pb::MeshPacket none = answer(client, 6102);
    CHECK(none.from() == kNode2);
    CHECK(routing_error(none) == pb::Routing::NO_RESPONSE);
    const auto recorded = record_for(sim, "reply", "request_id", 6102);
    REQUIRE(recorded);
    CHECK(recorded->get<int>("portnum") == pb::ROUTING_APP);
    CHECK(recorded->get<int>("error") == pb::Routing::NO_RESPONSE);
}

TEST_CASE("sim: a NodeInfo request returns the node's User, and the radio relearns its key",
          "[sim][replies][pki]") {
    SimProcess sim({.extra_args = {"--reply-delay", "0.1"}});
    RawRadioClient client(sim.port());
    configure(client);
    const std::string key = nodedb(client).at(kNode1).user().public_key();
    sim.command("forget-key from=!10000001");
    REQUIRE(sim.wait_for("forget_key", "", kTimeout));
    REQUIRE(nodedb(client).at(kNode1).user().public_key().empty());

    ask(client, 6201, kNode1, pb::NODEINFO_APP, "");  // NodeInfo is never PKI: no key needed
    const pb::MeshPacket reply = answer(client, 6201);
    REQUIRE(reply.decoded().portnum() == pb::NODEINFO_APP);
    pb::User user;
    REQUIRE(user.ParseFromString(reply.decoded().payload()));
    CHECK(user.id() == "!10000001");
    CHECK(user.long_name() == "Node 0001");
    CHECK(user.public_key() == key);
    CHECK(nodedb(client).at(kNode1).user().public_key() == key);
}

TEST_CASE("sim: a traceroute reply carries the route both ways with one SNR per hop",
          "[sim][replies]") {
    SimProcess sim({.nodes = 5, .extra_args = {"--reply-delay", "0.1", "--no-throttle"}});
    RawRadioClient client(sim.port());
    configure(client);
    const auto db = nodedb(client);

    ask(client, 6301, kNode2, pb::TRACEROUTE_APP, pb::RouteDiscovery().SerializeAsString());
    const pb::MeshPacket reply = answer(client, 6301, pb::TRACEROUTE_APP);
    CHECK(reply.from() == kNode2);
    REQUIRE(reply.decoded().portnum() == pb::TRACEROUTE_APP);
    pb::RouteDiscovery rd;
    REQUIRE(rd.ParseFromString(reply.decoded().payload()));
    REQUIRE(rd.route_size() == 2);  // node 2 is two hops away
    for (const std::uint32_t hop : rd.route()) {
        CHECK(hop != kNode2);
        CHECK(db.count(hop) == 1);
    }
    CHECK(rd.snr_towards_size() == 3);
    std::vector<std::uint32_t> back(rd.route_back().begin(), rd.route_back().end());
    std::reverse(back.begin(), back.end());
    CHECK(back == std::vector<std::uint32_t>(rd.route().begin(), rd.route().end()));
    CHECK(rd.snr_back_size() == 3);

    ask(client, 6302, kNode4, pb::TRACEROUTE_APP);  // a direct neighbour
    const pb::MeshPacket direct = answer(client, 6302, pb::TRACEROUTE_APP);
    // The firmware forces want_ack on traceroutes: the target ACKs as well (after the reply
    // here, as --ack-delay 0.2 > --reply-delay 0.1).
    CHECK(answer(client, 6302, pb::ROUTING_APP).from() == kNode4);
    REQUIRE(rd.ParseFromString(direct.decoded().payload()));
    CHECK(rd.route_size() == 0);
    CHECK(rd.route_back_size() == 0);
    REQUIRE(rd.snr_towards_size() == 1);
    REQUIRE(rd.snr_back_size() == 1);
    CHECK(rd.snr_back(0) == std::lround(db.at(kNode4).snr() * 4));
}

TEST_CASE("sim: unknown and silent nodes do not answer", "[sim][replies]") {
    SimProcess sim({.extra_args = {"--reply-delay", "0.1", "--no-throttle"}});
    RawRadioClient client(sim.port());
    configure(client);
    sim.command("silence from=!10000002");
    REQUIRE(sim.wait_for("silence", "", kTimeout));

    ask(client, 6401, 0x30000001, pb::POSITION_APP);  // not in the NodeDB
    ask(client, 6402, kNode2, pb::TELEMETRY_APP, device_metrics_request(), true);
    ask(client, 6403, kNode1, pb::POSITION_APP);  // the sentinel: same delay, asked last
    const auto first = client.receive_until(
        [](auto& m) { return answers(m, 6401) || answers(m, 6402) || answers(m, 6403); }, kTimeout);
    REQUIRE(first);
    CHECK(first->packet().decoded().request_id() == 6403u);
    // The silent node does not even ACK: the radio gives up after its retransmissions.
    const pb::MeshPacket gave_up = answer(client, 6402);
    CHECK(gave_up.from() == sim.my_node());
    CHECK(routing_error(gave_up) == pb::Routing::MAX_RETRANSMIT);
    for (const auto& r : sim.records("reply"))
        CHECK(r.get<std::uint32_t>("request_id") == 6403u);
}

TEST_CASE("sim: --reply-loss drops auto-replies and records them", "[sim][replies]") {
    SimProcess sim(
        {.extra_args = {"--reply-loss", "1", "--reply-delay", "0.1", "--ack-delay", "0.5"}});
    RawRadioClient client(sim.port());
    configure(client);
    ask(client, 6501, kNode1, pb::POSITION_APP, "", true);
    const auto lost = record_for(sim, "reply_lost", "request_id", 6501);
    REQUIRE(lost);
    CHECK(lost->get<std::string>("from") == "!10000001");
    CHECK(lost->get<int>("portnum") == pb::POSITION_APP);
    // The ACK (0.5 s) comes after the reply would have (0.1 s): nothing arrived before it.
    const auto first = client.receive_until([](auto& m) { return answers(m, 6501); }, kTimeout);
    REQUIRE(first);
    CHECK(first->packet().decoded().portnum() == pb::ROUTING_APP);
    CHECK(sim.count("reply") == 0);
}

TEST_CASE("sim: a second telemetry request within 10 s is dropped with a queueStatus only",
          "[sim][throttle]") {
    SimProcess sim({.extra_args = {"--reply-delay", "0.1"}});
    RawRadioClient client(sim.port());
    configure(client);
    ask(client, 6601, kNode1, pb::TELEMETRY_APP, device_metrics_request());
    ask(client, 6602, kNode1, pb::TELEMETRY_APP, device_metrics_request());
    ask(client, 6603, kNode1, pb::POSITION_APP);  // its own 10-second slot
    const auto throttled = record_for(sim, "throttled", "id", 6602);
    REQUIRE(throttled);
    CHECK(throttled->get<int>("portnum") == pb::TELEMETRY_APP);
    CHECK(sim.count("throttled") == 1);

    std::vector<std::uint32_t> statuses;
    std::vector<std::uint32_t> answered;
    while (answered.size() < 2) {
        const auto m = client.receive(kTimeout);
        REQUIRE(m);
        if (m->has_queuestatus()) statuses.push_back(m->queuestatus().mesh_packet_id());
        if (m->has_packet()) answered.push_back(m->packet().decoded().request_id());
    }
    CHECK(statuses == std::vector<std::uint32_t>{6601, 6602, 6603});
    std::sort(answered.begin(), answered.end());
    CHECK(answered == std::vector<std::uint32_t>{6601, 6603});
    for (const auto& r : sim.records("delivered"))
        CHECK(r.get<std::uint32_t>("id") != 6602u);

    // Local admin (add_contact before every DM, as apps do) is never throttled.
    for (std::uint32_t id : {6604u, 6605u}) {
        pb::AdminMessage admin;
        admin.mutable_add_contact()->set_node_num(0x30000000 + id);
        admin.mutable_add_contact()->mutable_user()->set_public_key(std::string(32, '\x33'));
        pb::ToRadio message;
        message.mutable_packet()->set_id(id);
        message.mutable_packet()->set_to(sim.my_node());
        message.mutable_packet()->mutable_decoded()->set_portnum(pb::ADMIN_APP);
        message.mutable_packet()->mutable_decoded()->set_payload(admin.SerializeAsString());
        client.send(message);
    }
    REQUIRE(sim.wait_for_count("add_contact", "", 2, kTimeout));
    CHECK(sim.records("add_contact").at(1).get<int>("flash_writes") == 2);
    CHECK(sim.count("throttled") == 1);
}

TEST_CASE("sim: a second traceroute within 30 s gets a clientNotification", "[sim][throttle]") {
    SimProcess sim({.extra_args = {"--reply-delay", "0.1"}});
    RawRadioClient client(sim.port());
    configure(client);
    ask(client, 6701, kNode1, pb::TRACEROUTE_APP);
    ask(client, 6702, kNode1, pb::TRACEROUTE_APP);
    const auto note =
        client.receive_until([](auto& m) { return m.has_clientnotification(); }, kTimeout);
    REQUIRE(note);
    CHECK(note->clientnotification().reply_id() == 6702u);
    CHECK(note->clientnotification().message() ==
          "TraceRoute can only be sent once every 30 seconds");
    const auto throttled = record_for(sim, "throttled", "id", 6702);
    REQUIRE(throttled);
    CHECK(throttled->get<int>("portnum") == pb::TRACEROUTE_APP);
}

TEST_CASE("sim: --no-throttle lifts the per-portnum limits", "[sim][throttle]") {
    SimProcess sim({.extra_args = {"--no-throttle"}});
    RawRadioClient client(sim.port());
    configure(client);
    ask(client, 6801, kNode1, pb::TELEMETRY_APP, device_metrics_request());
    ask(client, 6802, kNode1, pb::TELEMETRY_APP, device_metrics_request());
    REQUIRE(record_for(sim, "delivered", "id", 6802));
    CHECK(sim.count("throttled") == 0);
}

TEST_CASE("sim: a beacon broadcasts the node's telemetry and refreshes its last heard",
          "[sim][liveness]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    const auto before = nodedb(client).at(kNode1).last_heard();
    sim.command("beacon from=!10000001 every=0.2");
    const auto first =
        client.receive_until([](auto& m) { return is_telemetry_from(m, kNode1); }, kTimeout);
    REQUIRE(first);
    CHECK(first->packet().to() == kBroadcast);
    const auto second =
        client.receive_until([](auto& m) { return is_telemetry_from(m, kNode1); }, kTimeout);
    REQUIRE(second);
    const pb::DeviceMetrics m1 = metrics_of(first->packet());
    const pb::DeviceMetrics m2 = metrics_of(second->packet());
    CHECK(m1.uptime_seconds() >= 3600);  // generated nodes have been up for hours
    CHECK(m2.uptime_seconds() >= m1.uptime_seconds());
    CHECK(m1.battery_level() > 0);

    const auto beacon = sim.wait_for("beacon", "", kTimeout);
    REQUIRE(beacon);
    CHECK(beacon->get<std::string>("node") == "!10000001");
    CHECK(beacon->get<double>("every") == Approx(0.2));
    REQUIRE(sim.wait_for_count("node_telemetry", "", 2, kTimeout));
    const auto after = nodedb(client).at(kNode1).last_heard();
    CHECK(after > before);
    CHECK(after + 5 >= static_cast<std::uint32_t>(std::time(nullptr)));
}

TEST_CASE("sim: silence stops a beacon, return resumes it with one packet at once",
          "[sim][liveness]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    sim.command("beacon from=!10000001 every=0.2");
    REQUIRE(sim.wait_for_count("node_telemetry", "", 2, kTimeout));
    sim.command("silence from=!10000001");
    REQUIRE(sim.wait_for("silence", "", kTimeout));
    // Five beacon periods without a packet.
    CHECK(telemetry_after(sim, "silence", 1, 1s).empty());

    sim.command("return from=!10000001");
    const auto resumed = telemetry_after(sim, "return", 2, kTimeout);
    REQUIRE(resumed.size() == 2);  // one at once, and the beacon runs again
    const double back_at = sim.wait_for("return", "", kTimeout)->get<double>("t");
    CHECK(resumed[0].get<double>("t") - back_at < 0.1);  // at once, not after a period
    CHECK(resumed[1].get<double>("t") - resumed[0].get<double>("t") > 0.1);
}

TEST_CASE("sim: node-reboot restarts a node's uptime and it reports at once", "[sim][liveness]") {
    TempDir dir;
    const auto file = dir.write("nodes.toml", "[[node]]\nnum = 0x30000001\nuptime = 5000\n");
    SimProcess sim({.nodes = 0, .extra_args = {"--node-file", file.string()}});
    RawRadioClient client(sim.port());
    configure(client);
    const auto from_node = [](auto& m) { return is_telemetry_from(m, 0x30000001); };

    sim.command("return from=!30000001");  // not silent, no beacon: one packet
    const auto up = client.receive_until(from_node, kTimeout);
    REQUIRE(up);
    const std::uint32_t uptime = metrics_of(up->packet()).uptime_seconds();
    CHECK(uptime >= 5000);
    CHECK(uptime < 5100);

    sim.command("node-reboot from=!30000001");
    const auto rebooted = client.receive_until(from_node, kTimeout);
    REQUIRE(rebooted);
    CHECK(metrics_of(rebooted->packet()).uptime_seconds() < 60);
    const auto recorded = sim.wait_for("node_reboot", "", kTimeout);
    REQUIRE(recorded);
    CHECK(recorded->get<std::string>("node") == "!30000001");
    REQUIRE(sim.wait_for_count("node_telemetry", "", 2, kTimeout));
    CHECK(sim.records("node_telemetry").at(1).get<std::uint32_t>("uptime") < 60);
}
