// The handshake state machine, replay marking and duplicate filtering.
#include <catch2/catch.hpp>

#include "radio/session.hpp"

using namespace meshbot;
using namespace meshbot::radio;
using namespace std::chrono_literals;
using Kind = SessionEvent::Kind;

namespace {

pb::FromRadio my_info(std::uint32_t num) {
    pb::FromRadio m;
    m.mutable_my_info()->set_my_node_num(num);
    return m;
}

pb::FromRadio node(std::uint32_t num, const std::string& short_name) {
    pb::FromRadio m;
    m.mutable_node_info()->set_num(num);
    m.mutable_node_info()->mutable_user()->set_short_name(short_name);
    return m;
}

pb::FromRadio complete(std::uint32_t nonce) {
    pb::FromRadio m;
    m.set_config_complete_id(nonce);
    return m;
}

pb::FromRadio text(std::uint32_t from, std::uint32_t id) {
    pb::FromRadio m;
    m.mutable_packet()->set_from(from);
    m.mutable_packet()->set_id(id);
    m.mutable_packet()->mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    return m;
}

struct Handshake {
    Session session{SessionOptions{10min, 4096}};
    std::uint32_t epoch = 1'800'000'000;  // the wall clock when the connection began
    Clock::time_point t0 = Clock::now();

    void run(std::uint32_t nonce = 1234) {
        session.begin_handshake(nonce, t0, epoch);
        session.on_from_radio(my_info(0xABCD), t0);
        session.on_from_radio(node(0xABCD, "ME"), t0);
        pb::FromRadio lora;
        lora.mutable_config()->mutable_lora()->set_hop_limit(5);
        session.on_from_radio(lora, t0);
        session.on_from_radio(node(0x1111, "A"), t0);
        session.on_from_radio(node(0x2222, "B"), t0);
        REQUIRE(session.on_from_radio(complete(nonce), t0).kind == Kind::ready);
    }
};

}  // namespace

TEST_CASE("the handshake is ready only at config_complete_id equal to our nonce", "[session]") {
    Session session;
    const auto now = Clock::now();
    session.begin_handshake(77, now, 1'800'000'000);
    CHECK(session.on_from_radio(complete(76), now).kind == Kind::stale_complete);
    CHECK(session.handshaking());
    CHECK(session.on_from_radio(complete(77), now).kind == Kind::ready);
    CHECK(session.ready());
}

TEST_CASE("the handshake keeps my node, own user, hop limit and the node list", "[session]") {
    Handshake h;
    h.run();
    const RadioInfo& radio = h.session.radio();
    CHECK(radio.my_node_num == 0xABCD);
    CHECK(radio.own_user.short_name() == "ME");
    CHECK(radio.hop_limit() == 5);
    REQUIRE(radio.nodes.size() == 2);
    CHECK(radio.nodes.at(0x2222).user().short_name() == "B");
}

TEST_CASE("replayed is told by the packet's rx_time, not by when it arrives", "[session]") {
    Handshake h;
    h.session.begin_handshake(9, h.t0, h.epoch);
    auto during = h.session.on_from_radio(text(0x1111, 1), h.t0);
    CHECK(during.kind == Kind::packet);
    CHECK(during.replayed);
    REQUIRE(h.session.on_from_radio(complete(9), h.t0).kind == Kind::ready);
    // Received by the radio before the connection began: its backlog, however late it comes.
    auto backlog = text(0x1111, 2);
    backlog.mutable_packet()->set_rx_time(h.epoch - 30);
    CHECK(h.session.on_from_radio(backlog, h.t0 + 1min).replayed);
    // Received since: live, even a millisecond after the handshake.
    auto live = text(0x1111, 3);
    live.mutable_packet()->set_rx_time(h.epoch + 1);
    CHECK_FALSE(h.session.on_from_radio(live, h.t0 + 1ms).replayed);
    // A radio without a clock stamps 0: nothing to go by, so it counts as live.
    CHECK_FALSE(h.session.on_from_radio(text(0x1111, 4), h.t0 + 1ms).replayed);
    // What was delivered before is a duplicate, replayed or not.
    CHECK(h.session.on_from_radio(backlog, h.t0 + 2min).kind == Kind::duplicate);
}

TEST_CASE("a packet seen twice within the window is a duplicate", "[session]") {
    Handshake h;
    h.run();
    const auto t = h.t0 + 5s;
    CHECK(h.session.on_from_radio(text(0x1111, 42), t).kind == Kind::packet);
    CHECK(h.session.on_from_radio(text(0x1111, 42), t + 1s).kind == Kind::duplicate);
    CHECK(h.session.on_from_radio(text(0x2222, 42), t + 1s).kind == Kind::packet);
    CHECK(h.session.on_from_radio(text(0x1111, 42), t + 11min).kind == Kind::packet);
}

TEST_CASE("rebooted and my_info after the handshake restart it", "[session]") {
    Handshake h;
    h.run();
    pb::FromRadio rebooted;
    rebooted.set_rebooted(true);
    CHECK(h.session.on_from_radio(rebooted, h.t0).kind == Kind::restart_handshake);
    CHECK(h.session.on_from_radio(my_info(0xABCD), h.t0).kind == Kind::restart_handshake);
}

TEST_CASE("encrypted packets, notifications and unknown variants never break the session",
          "[session]") {
    Handshake h;
    h.run();
    pb::FromRadio encrypted;
    encrypted.mutable_packet()->set_from(0x3333);
    encrypted.mutable_packet()->set_id(5);
    encrypted.mutable_packet()->set_encrypted("\x01\x02\x03");
    CHECK(h.session.on_from_radio(encrypted, h.t0 + 3s).kind == Kind::packet);

    pb::FromRadio note;
    note.mutable_clientnotification()->set_message("duty cycle limit");
    auto ev = h.session.on_from_radio(note, h.t0);
    CHECK(ev.kind == Kind::notification);
    CHECK(ev.reason == "duty cycle limit");

    // Field 99 is unknown to our schema: it must decode and be ignored.
    const std::string unknown = std::string("\x9a\x06\x03", 3) + "abc";
    pb::FromRadio future;
    REQUIRE(future.ParseFromString(unknown));
    CHECK(h.session.on_from_radio(future, h.t0).kind == Kind::none);
    CHECK(future.SerializeAsString() == unknown);
    CHECK(h.session.ready());
}

TEST_CASE("random config nonces avoid 0 and the special values", "[session]") {
    for (int i = 0; i < 10000; ++i) {
        const auto n = random_config_nonce();
        CHECK(n != 0);
        CHECK(n != kNonceOnlyConfig);
        CHECK(n != kNonceOnlyNodes);
    }
}
