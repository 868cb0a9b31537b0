// Outbox pacing, flow control, delivery outcomes and behaviour across link loss.
#include <catch2/catch.hpp>

#include <vector>

#include "radio/outbox.hpp"

using namespace meshbot;
using namespace meshbot::radio;
using namespace std::chrono_literals;
using Status = SendResult::Status;

namespace {

pb::MeshPacket text_to(std::uint32_t to, const std::string& body, bool want_ack = false) {
    pb::MeshPacket p;
    p.set_to(to);
    p.set_want_ack(want_ack);
    p.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    p.mutable_decoded()->set_payload(body);
    return p;
}

pb::QueueStatus queued(std::uint32_t id, std::uint32_t free = 15, int res = 0) {
    pb::QueueStatus q;
    q.set_res(res);
    q.set_free(free);
    q.set_maxlen(16);
    q.set_mesh_packet_id(id);
    return q;
}

pb::MeshPacket routing(std::uint32_t from, std::uint32_t request_id, pb::Routing::Error error) {
    pb::MeshPacket p;
    p.set_from(from);
    p.mutable_decoded()->set_portnum(pb::ROUTING_APP);
    p.mutable_decoded()->set_request_id(request_id);
    pb::Routing r;
    r.set_error_reason(error);
    p.mutable_decoded()->set_payload(r.SerializeAsString());
    return p;
}

struct Fixture {
    Outbox outbox{OutboxOptions{}, 99};
    Clock::time_point t = Clock::now();
    Clock::time_point wake;
    std::vector<SendResult> results;

    std::uint32_t send(pb::MeshPacket p) {
        SendCallback done = [this](const SendResult& r) { results.push_back(r); };
        return outbox.enqueue(std::move(p), done, t);
    }
    std::optional<pb::MeshPacket> take() { return outbox.take_next(t, 3, wake); }
};

}  // namespace

TEST_CASE("the outbox assigns ids and sets the hop limit explicitly", "[outbox]") {
    Fixture f;
    const auto id = f.send(text_to(0x1111, "hi"));
    REQUIRE(id != 0);
    auto p = f.take();
    REQUIRE(p);
    CHECK(p->id() == id);
    CHECK(p->hop_limit() == 3);
}

TEST_CASE("texts leave at least the text gap apart", "[outbox]") {
    Fixture f;
    f.send(text_to(0x1111, "one"));
    f.send(text_to(0x1111, "two"));
    auto first = f.take();
    REQUIRE(first);
    f.outbox.on_queue_status(queued(first->id()), f.t);
    CHECK_FALSE(f.take());
    CHECK(f.wake >= f.t + 2s);
    CHECK(f.wake <= f.t + 2100ms);
    f.t += 1999ms;
    CHECK_FALSE(f.take());
    f.t = f.wake;
    CHECK(f.take());
}

TEST_CASE("one packet at a time waits for its queueStatus, and none go while the radio is full",
          "[outbox]") {
    Fixture f;
    pb::MeshPacket admin;
    admin.set_to(0xABCD);
    admin.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    const auto a = f.send(admin);
    f.send(admin);
    REQUIRE(f.take());
    CHECK_FALSE(f.take());  // unconfirmed
    f.outbox.on_queue_status(queued(a, 0), f.t);
    CHECK_FALSE(f.take());  // radio queue full
    CHECK(f.wake == Clock::time_point::max());
    f.outbox.on_queue_status(queued(0, 4), f.t);
    CHECK(f.take());
}

TEST_CASE("a want_ack DM completes with the destination's ACK", "[outbox]") {
    Fixture f;
    const auto id = f.send(text_to(0x1111, "dm", true));
    REQUIRE(f.take());
    f.outbox.on_queue_status(queued(id), f.t);
    CHECK(f.results.empty());
    CHECK(f.outbox.on_routing(routing(0x1111, id, pb::Routing::NONE), f.t));
    REQUIRE(f.results.size() == 1);
    CHECK(f.results[0].status == Status::acked);
    CHECK(f.results[0].from == 0x1111);
}

TEST_CASE("a NAK reports its reason, and a missing answer times out", "[outbox]") {
    Fixture f;
    const auto a = f.send(text_to(0x1111, "a", true));
    REQUIRE(f.take());
    f.outbox.on_queue_status(queued(a), f.t);
    f.outbox.on_routing(routing(0xABCD, a, pb::Routing::MAX_RETRANSMIT), f.t);
    REQUIRE(f.results.size() == 1);
    CHECK(f.results[0].status == Status::nak);
    CHECK(f.results[0].routing_error == pb::Routing::MAX_RETRANSMIT);

    f.t += 3s;
    const auto b = f.send(text_to(0x2222, "b", true));
    REQUIRE(f.take());
    f.outbox.on_queue_status(queued(b), f.t);
    f.outbox.tick(f.t + 91s);
    REQUIRE(f.results.size() == 2);
    CHECK(f.results[1].status == Status::timeout);
}

TEST_CASE("a RATE_LIMIT_EXCEEDED NAK is retried once with a fresh id", "[outbox]") {
    Fixture f;
    const auto id = f.send(text_to(0x1111, "x", true));
    REQUIRE(f.take());
    f.outbox.on_queue_status(queued(id), f.t);
    f.outbox.on_routing(routing(0xABCD, id, pb::Routing::RATE_LIMIT_EXCEEDED), f.t);
    REQUIRE(f.results.size() == 1);  // not an end: the sender learns the new id
    CHECK(f.results[0].status == Status::reissued);
    f.t += 3s;
    auto retry = f.take();
    REQUIRE(retry);
    CHECK(retry->id() != id);
    CHECK(f.results[0].reissued_as == retry->id());
    f.outbox.on_queue_status(queued(retry->id()), f.t);
    f.outbox.on_routing(routing(0xABCD, retry->id(), pb::Routing::RATE_LIMIT_EXCEEDED), f.t);
    REQUIRE(f.results.size() == 2);
    CHECK(f.results[1].status == Status::nak);
}

TEST_CASE("a packet written but unconfirmed when the link drops is sent again with the same id",
          "[outbox]") {
    Fixture f;
    const auto id = f.send(text_to(0x1111, "keep me"));
    REQUIRE(f.take());
    f.outbox.on_link_down();
    CHECK(f.outbox.queued() == 1);
    f.t += 5s;
    auto again = f.take();
    REQUIRE(again);
    CHECK(again->id() == id);
    f.outbox.on_queue_status(queued(id), f.t);
    CHECK_FALSE(f.take());
    CHECK(f.results.empty());  // completes after the NAK grace period, exactly once
    f.outbox.tick(f.t + 4s);
    REQUIRE(f.results.size() == 1);
    CHECK(f.results[0].status == Status::sent);
}

TEST_CASE("the outbox is bounded and queued packets expire", "[outbox]") {
    OutboxOptions options;
    options.capacity = 2;
    options.expiry = 60s;
    Outbox outbox(options, 1);
    std::vector<SendResult> results;
    const SendCallback record = [&](const SendResult& r) { results.push_back(r); };
    const auto t = Clock::now();
    SendCallback a = record, b = record, c = record;
    CHECK(outbox.enqueue(text_to(1, "a"), a, t) != 0);
    CHECK(outbox.enqueue(text_to(1, "b"), b, t) != 0);
    CHECK_FALSE(a);  // taken
    CHECK(outbox.enqueue(text_to(1, "c"), c, t) == 0);
    CHECK(results.empty());  // refused: the callback stays with the caller, not yet run
    CHECK(c);
    outbox.tick(t + 61s);
    REQUIRE(results.size() == 2);
    CHECK(results[0].status == Status::expired);
    CHECK(outbox.queued() == 0);
}
