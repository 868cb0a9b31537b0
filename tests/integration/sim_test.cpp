// meshbot-sim's firmware behaviour, checked from the client side with a raw radio-API client
// and from the simulator's own record.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/raw_client.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using meshbot::testing::RawRadioClient;
using meshbot::testing::Record;
using meshbot::testing::record_is;
using meshbot::testing::SimProcess;
namespace pb = meshbot::pb;

namespace {

constexpr auto kTimeout = 5s;
constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;
constexpr std::uint32_t kNode1 = 0x10000001;  // the first generated node
constexpr std::uint32_t kNonce = 0x5EED1234;

using Case = pb::FromRadio::PayloadVariantCase;

std::vector<Case> cases(const std::vector<pb::FromRadio>& frames) {
    std::vector<Case> out;
    for (const auto& f : frames)
        out.push_back(f.payload_variant_case());
    return out;
}

std::size_t count_case(const std::vector<pb::FromRadio>& frames, Case c) {
    std::size_t n = 0;
    for (const auto& f : frames)
        n += f.payload_variant_case() == c ? 1 : 0;
    return n;
}

bool is_queue_status_for(const pb::FromRadio& m, std::uint32_t id) {
    return m.has_queuestatus() && m.queuestatus().mesh_packet_id() == id;
}

bool is_routing_for(const pb::FromRadio& m, std::uint32_t request_id) {
    return m.has_packet() && m.packet().has_decoded() &&
           m.packet().decoded().portnum() == pb::ROUTING_APP &&
           m.packet().decoded().request_id() == request_id;
}

pb::Routing routing_of(const pb::FromRadio& m) {
    pb::Routing routing;
    REQUIRE(routing.ParseFromString(m.packet().decoded().payload()));
    return routing;
}

// A client that has completed an ordinary handshake.
void configure(RawRadioClient& client) {
    REQUIRE_FALSE(client.handshake(kNonce, kTimeout).empty());
}

}  // namespace

TEST_CASE("sim: the simulator sends nothing until the client asks for the config", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    client.send_heartbeat();
    REQUIRE(sim.wait_for("rx", "heartbeat", kTimeout));
    // The heartbeat was handled (recorded) and produced no frame: give it a moment to show.
    CHECK_FALSE(client.receive(300ms));
    CHECK(sim.count("tx") == 0);
    configure(client);
}

TEST_CASE("sim: the handshake follows the firmware order and ends with the client's nonce",
          "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    const auto frames = client.handshake(kNonce, kTimeout);
    REQUIRE(frames.size() == 1 + 1 + 1 + 1 + 8 + 10 + 16 + 3 + 2 + 1);

    std::vector<Case> expected = {Case::kMyInfo, Case::kDeviceuiConfig, Case::kNodeInfo,
                                  Case::kMetadata};
    expected.insert(expected.end(), 8, Case::kChannel);
    expected.insert(expected.end(), 10, Case::kConfig);
    expected.insert(expected.end(), 16, Case::kModuleConfig);
    expected.insert(expected.end(), 3, Case::kNodeInfo);
    expected.insert(expected.end(), 2, Case::kFileInfo);
    expected.push_back(Case::kConfigCompleteId);
    CHECK(cases(frames) == expected);

    CHECK(frames[0].my_info().my_node_num() == sim.my_node());
    CHECK(frames[0].my_info().nodedb_count() == 4);
    const auto& own = frames[2].node_info();
    CHECK(own.num() == sim.my_node());
    CHECK(own.user().public_key().size() == 32);
    CHECK(frames[3].metadata().firmware_version() == "2.7.26.sim");
    CHECK(frames[3].metadata().haspkc());
    CHECK(frames[4].channel().role() == pb::Channel::PRIMARY);
    for (int i = 1; i < 8; ++i) {
        CHECK(frames[4 + i].channel().index() == i);
        CHECK(frames[4 + i].channel().role() == pb::Channel::DISABLED);
    }
    for (int tag = 1; tag <= 10; ++tag) {
        CHECK(static_cast<int>(frames[11 + tag].config().payload_variant_case()) == tag);
    }
    CHECK(frames[17].config().lora().hop_limit() == 3);
    CHECK(frames[19].config().security().public_key() == own.user().public_key());
    CHECK(frames[38].node_info().num() == kNode1);
    CHECK(frames[38].node_info().user().short_name() == "N001");
    CHECK(frames.back().config_complete_id() == kNonce);

    const auto done = sim.wait_for("tx", "config_complete", kTimeout);
    REQUIRE(done);
    CHECK(done->get<std::uint32_t>("nonce") == kNonce);
    CHECK(done->get<std::size_t>("frames") == frames.size());
}

TEST_CASE("sim: nonce 69420 leaves the other nodes out of the handshake", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    const auto frames = client.handshake(69420, kTimeout);
    REQUIRE_FALSE(frames.empty());
    CHECK(count_case(frames, Case::kNodeInfo) == 1);  // only the own node
    CHECK(count_case(frames, Case::kMyInfo) == 1);
    CHECK(count_case(frames, Case::kConfig) == 10);
}

TEST_CASE("sim: nonce 69421 sends only the node infos and the completion", "[sim]") {
    SimProcess sim({.nodes = 5});
    RawRadioClient client(sim.port());
    const auto frames = client.handshake(69421, kTimeout);
    REQUIRE(frames.size() == 1 + 5 + 1);
    CHECK(frames[0].node_info().num() == sim.my_node());
    CHECK(count_case(frames, Case::kNodeInfo) == 6);
    CHECK(frames.back().config_complete_id() == 69421u);
}

TEST_CASE("sim: a second want_config_id on the same connection restarts the handshake", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    const auto again = client.handshake(777, kTimeout);
    REQUIRE_FALSE(again.empty());
    CHECK(again.front().has_my_info());
    CHECK(sim.count("accept") == 1);
}

TEST_CASE("sim: the newest connection wins and the old client only sees the socket close",
          "[sim]") {
    SimProcess sim;
    RawRadioClient first(sim.port());
    configure(first);
    RawRadioClient second(sim.port());
    CHECK(first.closed(kTimeout));
    configure(second);

    const auto closed = sim.wait_for("close", "", kTimeout);
    REQUIRE(closed);
    CHECK(closed->get<int>("conn") == 1);
    CHECK(closed->get<std::string>("reason") == "newer_connection");
    CHECK(sim.count("accept") == 2);
}

TEST_CASE("sim: a heartbeat is answered with one queueStatus", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    client.send_heartbeat(0);
    const auto status = client.receive(kTimeout);
    REQUIRE(status);
    REQUIRE(status->has_queuestatus());
    CHECK(status->queuestatus().res() == 0);
    CHECK(status->queuestatus().maxlen() == 16);
    CHECK(status->queuestatus().free() > 0);
    REQUIRE(sim.wait_for("tx", "queue_status", kTimeout));
    CHECK(sim.count("rx", "heartbeat") == 1);
}

TEST_CASE("sim: each client packet gets a queueStatus and a repeated id is ignored silently",
          "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    client.send_packet(1001, kBroadcast, pb::PRIVATE_APP, "one");
    const auto status = client.receive_until([](auto& m) { return m.has_queuestatus(); }, kTimeout);
    REQUIRE(status);
    CHECK(status->queuestatus().mesh_packet_id() == 1001u);

    client.send_packet(1001, kBroadcast, pb::PRIVATE_APP, "one again");
    REQUIRE(sim.wait_for("rx", "duplicate_id", kTimeout));
    client.send_heartbeat();
    const auto next = client.receive(kTimeout);
    REQUIRE(next);
    CHECK(is_queue_status_for(*next, 0));  // nothing came for the duplicate

    const auto rx = sim.records("rx", "packet");
    REQUIRE(rx.size() == 1);
    CHECK(rx[0].get<std::uint32_t>("id") == 1001u);
    CHECK(rx[0].get<std::uint32_t>("to") == kBroadcast);
    CHECK(rx[0].get<int>("portnum") == pb::PRIVATE_APP);
    CHECK(rx[0].get<unsigned>("hop_limit") == 3);
    CHECK(rx[0].get<std::string>("payload_hex") == "6f6e65");
}

TEST_CASE("sim: a second text within two seconds is refused with RATE_LIMIT_EXCEEDED", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    client.send_text(2001, kBroadcast, "first");
    REQUIRE(client.receive_until([](auto& m) { return is_queue_status_for(m, 2001); }, kTimeout));
    client.send_text(2002, kBroadcast, "too soon");
    REQUIRE(client.receive_until([](auto& m) { return is_queue_status_for(m, 2002); }, kTimeout));
    const auto nak =
        client.receive_until([](auto& m) { return is_routing_for(m, 2002); }, kTimeout);
    REQUIRE(nak);
    CHECK(nak->packet().from() == sim.my_node());
    CHECK(routing_of(*nak).error_reason() == pb::Routing::RATE_LIMIT_EXCEEDED);

    const auto limited = sim.wait_for("rate_limited", "", kTimeout);
    REQUIRE(limited);
    CHECK(limited->get<std::uint32_t>("id") == 2002u);
    CHECK(sim.records("rx", "packet").at(1).get<std::string>("text") == "too soon");
}

TEST_CASE("sim: a DM with want_ack to a known node is acknowledged by that node", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    client.send_text(3001, kNode1, "hello node 1", true);
    const auto ack =
        client.receive_until([](auto& m) { return is_routing_for(m, 3001); }, kTimeout);
    REQUIRE(ack);
    CHECK(ack->packet().from() == kNode1);
    CHECK(ack->packet().to() == sim.my_node());
    CHECK(routing_of(*ack).error_reason() == pb::Routing::NONE);
    const auto recorded = sim.wait_for("tx", "routing", kTimeout);
    REQUIRE(recorded);
    CHECK(recorded->get<std::uint32_t>("from") == kNode1);
    CHECK(recorded->get<int>("error") == 0);
}

TEST_CASE("sim: a broadcast with want_ack gets an implicit ack from the own node", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    client.send_text(3101, kBroadcast, "hello mesh", true);
    const auto ack =
        client.receive_until([](auto& m) { return is_routing_for(m, 3101); }, kTimeout);
    REQUIRE(ack);
    CHECK(ack->packet().from() == sim.my_node());
    CHECK(routing_of(*ack).error_reason() == pb::Routing::NONE);
}

TEST_CASE("sim: a DM to a node without a stored key is refused with PKI_SEND_FAIL_PUBLIC_KEY",
          "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    client.send_text(3201, 0x12345678, "who are you", true);
    const auto nak =
        client.receive_until([](auto& m) { return is_routing_for(m, 3201); }, kTimeout);
    REQUIRE(nak);
    CHECK(nak->packet().from() == sim.my_node());
    CHECK(routing_of(*nak).error_reason() == pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);
}

TEST_CASE("sim: an idle client is disconnected after the idle timeout", "[sim]") {
    SimProcess sim({.extra_args = {"--idle-timeout", "0.5"}});
    RawRadioClient client(sim.port());
    configure(client);
    CHECK(client.closed(kTimeout));
    const auto closed = sim.wait_for("close", "", kTimeout);
    REQUIRE(closed);
    CHECK(closed->get<std::string>("reason") == "idle_timeout");
}

TEST_CASE("sim: ToRadio.disconnect and the drop command both close the connection", "[sim]") {
    SimProcess sim;
    {
        RawRadioClient client(sim.port());
        configure(client);
        pb::ToRadio bye;
        bye.set_disconnect(true);
        client.send(bye);
        CHECK(client.closed(kTimeout));
    }
    RawRadioClient client(sim.port());
    configure(client);
    sim.command("drop");
    CHECK(client.closed(kTimeout));
    REQUIRE(sim.wait_for_count("close", "", 2, kTimeout));
    const auto closes = sim.records("close");
    CHECK(closes[0].get<std::string>("reason") == "disconnect");
    CHECK(closes[1].get<std::string>("reason") == "drop");
}

TEST_CASE("sim: garbage, oversize and undecodable frames reach the client", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    sim.command("garbage 50");
    sim.command("undecodable");
    sim.command("oversize");
    REQUIRE(sim.wait_for(
        [](const Record& r) { return r.get<std::string>("what", "") == "oversize"; }, kTimeout));
    client.send_heartbeat();
    const auto status = client.receive(kTimeout);  // the bad frames are skipped on the way
    REQUIRE(status);
    CHECK(status->has_queuestatus());
    CHECK(client.undecodable_frames() == 1);
    CHECK(client.decoder_stats().oversize == 1);
    CHECK(client.decoder_stats().skipped_bytes >= 50 + 600);
}

TEST_CASE("sim: a malformed ToRadio is recorded and gets no answer", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    configure(client);
    const std::vector<std::uint8_t> bad = {0x94, 0xC3, 0x00, 0x04, 0xFF, 0xFF, 0xFF, 0xFF};
    client.send_raw(bad);
    const auto malformed = sim.wait_for("rx", "malformed", kTimeout);
    REQUIRE(malformed);
    CHECK(malformed->get<int>("bytes") == 4);
    client.send_heartbeat();
    const auto next = client.receive(kTimeout);
    REQUIRE(next);
    CHECK(is_queue_status_for(*next, 0));
}

TEST_CASE("sim: a text injected while nobody is connected is delivered after the handshake",
          "[sim]") {
    SimProcess sim;
    sim.command("text from=!10000001 id=555 hello \"later\"");
    const auto queued = sim.wait_for("queued", "", kTimeout);
    REQUIRE(queued);
    CHECK(queued->get<std::uint32_t>("id") == 555u);

    RawRadioClient client(sim.port());
    configure(client);
    const auto text = client.receive(kTimeout);
    REQUIRE(text);
    REQUIRE(text->has_packet());
    CHECK(text->packet().id() == 555u);
    CHECK(text->packet().from() == kNode1);
    CHECK(text->packet().to() == kBroadcast);
    CHECK(text->packet().decoded().payload() == "hello \"later\"");
    const auto delivered = sim.wait_for("tx", "packet", kTimeout);
    REQUIRE(delivered);
    CHECK(delivered->get<std::uint32_t>("id") == 555u);
    CHECK(delivered->get<std::string>("text") == "hello \"later\"");
}

TEST_CASE("sim: the to-phone queue keeps the newest eight texts", "[sim]") {
    SimProcess sim;
    sim.command("flood 10 from=!10000002");
    REQUIRE(sim.wait_for_count("queued", "", 10, kTimeout));
    RawRadioClient client(sim.port());
    configure(client);
    std::vector<std::string> texts;
    while (auto m = client.receive(500ms)) {
        if (m->has_packet()) texts.push_back(m->packet().decoded().payload());
    }
    REQUIRE(texts.size() == 8);
    CHECK(texts.front() == "flood 3/10");
    CHECK(texts.back() == "flood 10/10");
}

TEST_CASE("sim: a reboot refuses connections for a while, then listens on the same port", "[sim]") {
    SimProcess sim;
    RawRadioClient client(sim.port());
    const auto before = client.handshake(kNonce, kTimeout);
    REQUIRE_FALSE(before.empty());
    sim.command("reboot 1");
    CHECK(client.closed(kTimeout));
    REQUIRE(sim.wait_for("reboot", "", kTimeout));
    CHECK_FALSE(meshbot::testing::tcp_port_accepts(sim.port()));
    REQUIRE(sim.wait_for("up", "", kTimeout));

    RawRadioClient again(sim.port());
    const auto after = again.handshake(kNonce, kTimeout);
    REQUIRE_FALSE(after.empty());
    CHECK(after[0].my_info().reboot_count() == before[0].my_info().reboot_count() + 1);
    CHECK(sim.records("close").at(0).get<std::string>("reason") == "reboot");
}

TEST_CASE("sim: bad command lines are reported on stderr and the simulator carries on", "[sim]") {
    SimProcess sim;
    sim.command("fly to=the moon");
    CHECK(sim.process().wait_for_line("unknown command 'fly'", kTimeout));
    sim.command("text to=!10000001 no sender");
    CHECK(sim.process().wait_for_line("from=NODE is required", kTimeout));
    sim.process().close_stdin();  // EOF on stdin must not stop the simulator
    RawRadioClient client(sim.port());
    configure(client);
    CHECK(sim.process().running());
}

TEST_CASE("sim: a script runs its commands with waits in between", "[sim]") {
    meshbot::testing::TempDir dir;
    const auto script = dir.write("script.txt",
                                  "# comment\n"
                                  "text from=!10000001 first\n"
                                  "wait 0.3\n"
                                  "nodeinfo from=!20000001 long=\"Zed Zebra\" short=ZED\n");
    SimProcess sim({.extra_args = {"--script", script.string()}});
    REQUIRE(sim.wait_for_count("queued", "", 2, kTimeout));
    const auto queued = sim.records("queued");
    CHECK(queued[1].get<double>("t") - queued[0].get<double>("t") >= 0.25);

    RawRadioClient client(sim.port());
    const auto frames = client.handshake(69421, kTimeout);
    REQUIRE(count_case(frames, Case::kNodeInfo) == 1 + 3 + 1);  // the NodeDB learned !20000001
    CHECK(frames[4].node_info().num() == 0x20000001u);
    CHECK(frames[4].node_info().user().long_name() == "Zed Zebra");
}

TEST_CASE("sim: texts with quotes, control characters and UTF-8 are recorded exactly", "[sim]") {
    SimProcess sim({.extra_args = {"--text-gap", "0"}});
    RawRadioClient client(sim.port());
    configure(client);
    const std::string text = "say \"hi\"\\ \ttab\nnewline \x01 Caf\xc3\xa9 \xf0\x9f\x93\xa1";
    client.send_text(4001, kNode1, text);
    const auto rx = sim.wait_for("rx", "packet", kTimeout);
    REQUIRE(rx);
    CHECK(rx->get<std::string>("text") == text);
    CHECK(rx->get<std::uint32_t>("to") == kNode1);
    CHECK_FALSE(rx->get<bool>("want_ack"));
}

TEST_CASE("sim: over a pty the simulator interleaves device log lines with frames",
          "[sim][serial]") {
    SimProcess sim({.serial = true});
    REQUIRE(sim.serial_path().starts_with("/dev/pts/"));
    {
        auto port = RawRadioClient::open_serial(sim.serial_path());
        REQUIRE(port->receive_until([](auto& m) { return m.has_rebooted(); }, kTimeout));
        REQUIRE_FALSE(port->handshake(kNonce, kTimeout).empty());
        port->receive(1200ms);  // collect a few log lines
        CHECK_FALSE(port->text_lines().empty());
        CHECK(port->undecodable_frames() == 0);
    }
    REQUIRE(sim.wait_for("close", "", kTimeout));  // closing the slave ends the session
    auto port = RawRadioClient::open_serial(sim.serial_path());
    REQUIRE_FALSE(port->handshake(kNonce, kTimeout).empty());
    const auto accepts = sim.records("accept");
    REQUIRE(accepts.size() == 2);
    CHECK(accepts[1].get<int>("conn") == 2);
}
