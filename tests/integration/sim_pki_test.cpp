// meshbot-sim's NodeDB and PKI model (firmware 2.7, docs/radio-protocol.md §5): capacity and
// eviction, favourites, add_contact, PKI on send, first key wins, PKI DMs to us, forgetting nodes.
// Checked from the client side with a raw radio-API client and from the simulator's record.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "admin.pb.h"
#include "radio/node_id.hpp"
#include "support/raw_client.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

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
constexpr std::uint32_t kNode1 = 0x10000001;  // generated nodes: all with keys
constexpr std::uint32_t kNode2 = 0x10000002;
constexpr std::uint32_t kNode3 = 0x10000003;
constexpr std::uint32_t kStranger = 0x20000001;
constexpr std::uint32_t kNonce = 0x5EED1234;
const std::string kKeyA(32, '\x11');
const std::string kKeyAHex(64, '1');
const std::string kKeyB(32, '\x22');
const std::string kKeyBHex(64, '2');

std::string id(std::uint32_t num) {
    return meshbot::radio::node_id(num);
}

void configure(RawRadioClient& client) {
    REQUIRE_FALSE(client.handshake(kNonce, kTimeout).empty());
}

// The radio's NodeDB as a fresh handshake reports it (own node excluded).
std::map<std::uint32_t, pb::NodeInfo> nodedb(RawRadioClient& client, std::uint32_t my_node) {
    const auto frames = client.handshake(69421, kTimeout);
    REQUIRE_FALSE(frames.empty());
    std::map<std::uint32_t, pb::NodeInfo> out;
    for (const auto& f : frames) {
        if (f.has_node_info() && f.node_info().num() != my_node)
            out[f.node_info().num()] = f.node_info();
    }
    return out;
}

bool is_routing_for(const pb::FromRadio& m, std::uint32_t request_id) {
    return m.has_packet() && m.packet().has_decoded() &&
           m.packet().decoded().portnum() == pb::ROUTING_APP &&
           m.packet().decoded().request_id() == request_id;
}

int routing_error(const pb::FromRadio& m) {
    pb::Routing routing;
    REQUIRE(routing.ParseFromString(m.packet().decoded().payload()));
    return routing.error_reason();
}

// The ROUTING answer to `request_id`: its sender and error.
std::pair<std::uint32_t, int> routing_answer(RawRadioClient& client, std::uint32_t request_id) {
    const auto m =
        client.receive_until([&](auto& f) { return is_routing_for(f, request_id); }, kTimeout);
    REQUIRE(m);
    return {m->packet().from(), routing_error(*m)};
}

void send(RawRadioClient& client, const pb::MeshPacket& packet) {
    pb::ToRadio message;
    *message.mutable_packet() = packet;
    client.send(message);
}

// A local AdminMessage{add_contact} to the own node, as a client pushes a key.
pb::MeshPacket add_contact(std::uint32_t packet_id, std::uint32_t my_node, std::uint32_t num,
                           const std::string& key, bool want_ack = true) {
    pb::AdminMessage admin;
    pb::SharedContact* contact = admin.mutable_add_contact();
    contact->set_node_num(num);
    pb::User* user = contact->mutable_user();
    user->set_id(id(num));
    user->set_long_name("Contact " + id(num));
    user->set_short_name("CT");
    user->set_public_key(key);
    pb::MeshPacket p;
    p.set_id(packet_id);
    p.set_to(my_node);
    p.set_want_ack(want_ack);
    p.set_hop_limit(3);
    p.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    p.mutable_decoded()->set_payload(admin.SerializeAsString());
    return p;
}

std::vector<std::string> nodes_of(const std::vector<Record>& records) {
    std::vector<std::string> out;
    for (const auto& r : records)
        out.push_back(r.get<std::string>("node"));
    return out;
}

std::optional<Record> delivered(const SimProcess& sim, std::uint32_t packet_id) {
    return sim.wait_for(
        [&](const Record& r) {
            return record_is(r, "delivered") && r.get<std::uint32_t>("id", 0) == packet_id;
        },
        kTimeout);
}

}  // namespace

TEST_CASE("sim: a full NodeDB evicts the oldest-heard non-favourite, keyless nodes first",
          "[sim][nodedb]") {
    // 3 generated nodes + the own node fill a capacity of 4. Last heard: !10000001 2 min ago,
    // !10000002 6 min ago, !10000003 3 min ago.
    SimProcess sim({.nodes = 3, .extra_args = {"--capacity", "4"}});
    CHECK(sim.process().wait_for_line("capacity 4", kTimeout));
    sim.command("text from=!20000001 first stranger");
    REQUIRE(sim.wait_for_count("evicted", "", 1, kTimeout));
    sim.command("text from=!20000002 second stranger");
    REQUIRE(sim.wait_for_count("evicted", "", 2, kTimeout));

    const auto evicted = sim.records("evicted");
    // The oldest first; then the newest entry, because it has no key (a "boring" node).
    CHECK(nodes_of(evicted) == std::vector<std::string>{"!10000002", "!20000001"});
    CHECK(evicted[1].get<std::string>("for") == "!20000002");

    RawRadioClient client(sim.port());
    const auto frames = client.handshake(kNonce, kTimeout);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames[0].my_info().nodedb_count() == 4);
    std::vector<std::uint32_t> nums;
    for (const auto& f : frames) {
        if (f.has_node_info() && f.node_info().num() != sim.my_node())
            nums.push_back(f.node_info().num());
    }
    CHECK(nums == std::vector<std::uint32_t>{kNode1, kNode3, 0x20000002});
}

TEST_CASE("sim: a start-up population beyond --capacity is kept and then full", "[sim][nodedb]") {
    SimProcess sim({.nodes = 6, .extra_args = {"--capacity", "3"}});
    CHECK(sim.process().wait_for_line("capacity 7", kTimeout));
    RawRadioClient client(sim.port());
    CHECK(nodedb(client, sim.my_node()).size() == 6);
    sim.command("nodeinfo from=!20000001");
    const auto evicted = sim.wait_for("evicted", "", kTimeout);
    REQUIRE(evicted);
    CHECK(evicted->get<std::string>("for") == "!20000001");
    const auto db = nodedb(client, sim.my_node());
    CHECK(db.size() == 6);
    CHECK(db.count(0x20000001) == 1);
}

TEST_CASE("sim: favourites are reported, never evicted, and a DB full of them takes no one",
          "[sim][nodedb]") {
    TempDir dir;
    const auto file = dir.write("nodes.toml",
                                "[[node]]\nnum = 0x30000001\nfavorite = true\n"
                                "last_heard_ago = 9000\n"
                                "[[node]]\nnum = 0x30000002\nfavorite = true\n");
    SimProcess sim({.nodes = 0, .extra_args = {"--node-file", file.string(), "--capacity", "3"}});
    RawRadioClient client(sim.port());
    configure(client);
    sim.command("text from=!30000009 hello from a newcomer");
    const auto full = sim.wait_for("nodedb_full", "", kTimeout);
    REQUIRE(full);
    CHECK(full->get<std::string>("node") == "!30000009");
    CHECK(sim.count("evicted") == 0);
    // The packet itself still reaches the client.
    const auto text = client.receive_until(
        [](auto& m) { return m.has_packet() && m.packet().from() == 0x30000009u; }, kTimeout);
    REQUIRE(text);

    const auto db = nodedb(client, sim.my_node());
    REQUIRE(db.size() == 2);
    CHECK(db.at(0x30000001).is_favorite());
    CHECK(db.at(0x30000002).is_favorite());
}

TEST_CASE("sim: add_contact stores the key, marks a favourite, and a DM then uses that key",
          "[sim][pki]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    send(client, add_contact(5001, sim.my_node(), kStranger, kKeyA));
    REQUIRE(client.receive_until(
        [](auto& m) { return m.has_queuestatus() && m.queuestatus().mesh_packet_id() == 5001; },
        kTimeout));
    // The local ACK comes from the own node.
    CHECK(routing_answer(client, 5001) == std::pair<std::uint32_t, int>{sim.my_node(), 0});

    const auto added = sim.wait_for("add_contact", "", kTimeout);
    REQUIRE(added);
    CHECK(added->get<std::string>("node") == "!20000001");
    CHECK(added->get<std::string>("key_hex") == kKeyAHex);
    CHECK_FALSE(added->get<bool>("empty_key"));
    CHECK(added->get<bool>("stored"));
    CHECK(added->get<int>("flash_writes") == 1);

    client.send_text(5002, kStranger, "now you have a key", true);
    CHECK(routing_answer(client, 5002) == std::pair<std::uint32_t, int>{kStranger, 0});
    const auto sent = delivered(sim, 5002);
    REQUIRE(sent);
    CHECK(sent->get<std::string>("to") == "!20000001");
    CHECK(sent->get<bool>("pki"));
    CHECK(sent->get<std::string>("key_hex") == kKeyAHex);

    const auto db = nodedb(client, sim.my_node());
    REQUIRE(db.count(kStranger) == 1);
    CHECK(db.at(kStranger).is_favorite());
    CHECK(db.at(kStranger).user().public_key() == kKeyA);
    CHECK(db.at(kStranger).user().long_name() == "Contact !20000001");

    // add_contact overwrites an existing key too (unlike a NodeInfo), one flash write each.
    send(client, add_contact(5003, sim.my_node(), kNode1, kKeyB, false));
    REQUIRE(sim.wait_for_count("add_contact", "", 2, kTimeout));
    CHECK(sim.records("add_contact").at(1).get<int>("flash_writes") == 2);
    CHECK(nodedb(client, sim.my_node()).at(kNode1).user().public_key() == kKeyB);
}

TEST_CASE("sim: add_contact with an empty key erases the stored key (fw 2.7 bug)", "[sim][pki]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    send(client, add_contact(5101, sim.my_node(), kNode1, ""));
    CHECK(routing_answer(client, 5101).second == 0);
    const auto added = sim.wait_for("add_contact", "", kTimeout);
    REQUIRE(added);
    CHECK(added->get<bool>("empty_key"));
    CHECK(added->get<std::string>("key_hex").empty());

    client.send_text(5102, kNode1, "key gone", true);
    CHECK(routing_answer(client, 5102) ==
          std::pair<std::uint32_t, int>{sim.my_node(), pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY});
    CHECK(nodedb(client, sim.my_node()).at(kNode1).user().public_key().empty());
}

TEST_CASE("sim: add_contact into a full NodeDB evicts, and the favourite it makes is kept",
          "[sim][nodedb][pki]") {
    SimProcess sim({.nodes = 3, .extra_args = {"--capacity", "4"}});
    RawRadioClient client(sim.port());
    configure(client);
    send(client, add_contact(5201, sim.my_node(), kStranger, kKeyA, false));
    REQUIRE(sim.wait_for("add_contact", "", kTimeout));
    CHECK(nodes_of(sim.records("evicted")) == std::vector<std::string>{"!10000002"});
    // !20000001 was never heard (last_heard 0), but as a favourite it is not the next victim.
    sim.command("text from=!20000002 newcomer");
    REQUIRE(sim.wait_for_count("evicted", "", 2, kTimeout));
    CHECK(sim.records("evicted").at(1).get<std::string>("node") == "!10000003");
}

TEST_CASE("sim: DMs need the destination's key, except the channel-only portnums", "[sim][pki]") {
    TempDir dir;
    const auto file = dir.write("nodes.toml", "[[node]]\nnum = 0x30000001\nkey = \"none\"\n");
    SimProcess sim(
        {.extra_args = {"--node-file", file.string(), "--no-throttle", "--text-gap", "0"}});
    RawRadioClient client(sim.port());
    configure(client);

    client.send_text(5301, 0x30000001, "no key for you", true);
    CHECK(routing_answer(client, 5301) ==
          std::pair<std::uint32_t, int>{sim.my_node(), pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY});
    client.send_packet(5302, 0x30000001, pb::TELEMETRY_APP, "", true);
    CHECK(routing_answer(client, 5302).second == pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);

    // POSITION (like TRACEROUTE, NODEINFO, ROUTING) uses the channel key: no key needed.
    client.send_packet(5303, 0x30000001, pb::POSITION_APP, "", true);
    CHECK(routing_answer(client, 5303) == std::pair<std::uint32_t, int>{0x30000001, 0});
    const auto position = delivered(sim, 5303);
    REQUIRE(position);
    CHECK_FALSE(position->get<bool>("pki"));
    CHECK_FALSE(position->get_optional<std::string>("key_hex"));

    client.send_text(5304, kNode1, "hello node 1", true);
    CHECK(routing_answer(client, 5304) == std::pair<std::uint32_t, int>{kNode1, 0});
    const auto text = delivered(sim, 5304);
    REQUIRE(text);
    CHECK(text->get<bool>("pki"));
    CHECK(text->get<int>("portnum") == pb::TEXT_MESSAGE_APP);
    CHECK(text->get<std::string>("key_hex").size() == 64);

    // A broadcast is never PKI.
    client.send_packet(5305, kBroadcast, pb::PRIVATE_APP, "all");
    const auto all = delivered(sim, 5305);
    REQUIRE(all);
    CHECK(all->get<std::string>("to") == "!ffffffff");
    CHECK_FALSE(all->get<bool>("pki"));
    // Refused packets were never delivered.
    for (const auto& r : sim.records("delivered"))
        CHECK(r.get<std::uint32_t>("id") != 5301u);
}

TEST_CASE("sim: a client public_key that differs from the stored one gives PKI_FAILED",
          "[sim][pki]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    pb::MeshPacket p;
    p.set_id(5401);
    p.set_to(kNode1);
    p.set_want_ack(true);
    p.set_hop_limit(3);
    p.set_pki_encrypted(true);
    p.set_public_key(kKeyA);
    p.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    p.mutable_decoded()->set_payload("wrong key");
    send(client, p);
    CHECK(routing_answer(client, 5401) ==
          std::pair<std::uint32_t, int>{sim.my_node(), pb::Routing::PKI_FAILED});
}

TEST_CASE("sim: the first key wins: a NodeInfo with another key is dropped whole", "[sim][pki]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    const std::string old_key = nodedb(client, sim.my_node()).at(kNode1).user().public_key();
    REQUIRE(old_key.size() == 32);

    sim.command("nodeinfo from=!10000001 long=\"New Name\" key=" + kKeyAHex);
    const auto mismatch = sim.wait_for("key_mismatch", "", kTimeout);
    REQUIRE(mismatch);
    CHECK(mismatch->get<std::string>("node") == "!10000001");
    CHECK(mismatch->get<std::string>("offered_hex") == kKeyAHex);
    // The packet still reaches the client, with the key it carried.
    const auto info = client.receive_until(
        [](auto& m) {
            return m.has_packet() && m.packet().decoded().portnum() == pb::NODEINFO_APP;
        },
        kTimeout);
    REQUIRE(info);
    pb::User user;
    REQUIRE(user.ParseFromString(info->packet().decoded().payload()));
    CHECK(user.public_key() == kKeyA);

    const auto db = nodedb(client, sim.my_node());
    CHECK(db.at(kNode1).user().public_key() == old_key);
    CHECK(db.at(kNode1).user().long_name() == "Node 0001");  // names were dropped too

    // A node the radio holds no key for learns the one it announces.
    sim.command("nodeinfo from=!20000001 short=NEW key=" + kKeyBHex);
    REQUIRE(client.receive_until(
        [](auto& m) { return m.has_packet() && m.packet().from() == kStranger; }, kTimeout));
    const auto after = nodedb(client, sim.my_node());
    CHECK(after.at(kStranger).user().public_key() == kKeyB);
    CHECK(after.at(kStranger).user().short_name() == "NEW");
    CHECK(sim.count("key_mismatch") == 1);
}

TEST_CASE("sim: PKI DMs to us carry the stored key, or arrive encrypted without one",
          "[sim][pki]") {
    TempDir dir;
    const auto file = dir.write("nodes.toml", "[[node]]\nnum = 0x30000001\nkey = \"none\"\n");
    SimProcess sim({.extra_args = {"--node-file", file.string()}});
    RawRadioClient client(sim.port());
    configure(client);
    const std::string node1_key = nodedb(client, sim.my_node()).at(kNode1).user().public_key();
    const std::string to = " to=" + id(sim.my_node());
    const auto from = [&](std::uint32_t sender) {
        const auto m = client.receive_until(
            [&](auto& f) { return f.has_packet() && f.packet().from() == sender; }, kTimeout);
        REQUIRE(m);
        return m->packet();
    };

    sim.command("text from=!10000001 channel=2" + to + " pki=1 secret");
    const pb::MeshPacket pki = from(kNode1);
    CHECK(pki.pki_encrypted());
    CHECK(pki.channel() == 0);
    CHECK(pki.public_key() == node1_key);
    CHECK(pki.decoded().payload() == "secret");

    sim.command("text from=!30000001" + to + " pki=1 you cannot read this");
    const pb::MeshPacket sealed = from(0x30000001);
    CHECK_FALSE(sealed.has_decoded());
    CHECK_FALSE(sealed.encrypted().empty());

    sim.command("text from=!10000002" + to + " key=" + kKeyAHex + " another key");
    const pb::MeshPacket forced = from(kNode2);
    CHECK(forced.pki_encrypted());
    CHECK(forced.public_key() == kKeyA);
    CHECK(forced.decoded().payload() == "another key");
}

TEST_CASE("sim: a reboot keeps keys except for the nodes it loses; forget and forget-key",
          "[sim][pki]") {
    SimProcess sim;
    {
        RawRadioClient client(sim.port());
        configure(client);
        sim.command("reboot 0.3 lose=!10000002");
        CHECK(client.closed(kTimeout));
    }
    REQUIRE(sim.wait_for("up", "", kTimeout));
    const auto lost = sim.wait_for("forget", "", kTimeout);
    REQUIRE(lost);
    CHECK(lost->get<std::string>("node") == "!10000002");
    CHECK(lost->get<std::string>("reason") == "reboot");

    RawRadioClient client(sim.port());
    configure(client);
    client.send_text(5501, kNode2, "do you remember me", true);
    CHECK(routing_answer(client, 5501) ==
          std::pair<std::uint32_t, int>{sim.my_node(), pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY});
    client.send_packet(5502, kNode1, pb::PRIVATE_APP, "still here", true);
    CHECK(routing_answer(client, 5502) == std::pair<std::uint32_t, int>{kNode1, 0});

    sim.command("forget-key from=!10000001");
    sim.command("forget from=!10000003");
    REQUIRE(sim.wait_for("forget_key", "", kTimeout));
    REQUIRE(sim.wait_for_count("forget", "", 2, kTimeout));
    const auto db = nodedb(client, sim.my_node());
    CHECK(db.count(kNode2) == 0);
    CHECK(db.count(kNode3) == 0);
    REQUIRE(db.count(kNode1) == 1);
    CHECK(db.at(kNode1).user().public_key().empty());
    client.send_packet(5503, kNode1, pb::PRIVATE_APP, "key gone", true);
    CHECK(routing_answer(client, 5503).second == pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);
}
