// The key sync policy: just-in-time add_contact before a DM, once per session, a refused DM
// when nobody has a key, one push and one retry on PKI_SEND_FAIL_PUBLIC_KEY, and a periodic
// check that does nothing while nothing changed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "admin.pb.h"
#include "nodes/key_sync.hpp"
#include "portnums.pb.h"

using meshbot::nodes::KeySync;
using meshbot::nodes::NodeStore;
using meshbot::radio::SendCallback;
using meshbot::radio::SendResult;
namespace pb = meshbot::pb;

namespace {

constexpr std::uint32_t kSelf = 0x0badc0de;

std::string key_of(char fill) {
    return std::string(32, fill);
}

// The link as the key sync sees it: records what was sent and keeps the callbacks. With
// `full` set it refuses like a full outbox: returns 0 and completes the send with rejected_full
// on the event loop, never before send() has returned.
struct FakeLink {
    struct Sent {
        pb::MeshPacket packet;
        SendCallback done;
    };
    explicit FakeLink(boost::asio::io_context& context) : io(context) {}

    boost::asio::io_context& io;
    std::vector<Sent> sent;
    std::uint32_t next_id = 100;
    bool full = false;
    std::size_t refused = 0;

    std::uint32_t send(pb::MeshPacket packet, SendCallback done) {
        if (full) {
            ++refused;
            SendResult r;
            r.status = SendResult::Status::rejected_full;
            if (done) boost::asio::post(io, [done, r] { done(r); });
            return 0;
        }
        packet.set_id(next_id++);
        sent.push_back({std::move(packet), std::move(done)});
        return sent.back().packet.id();
    }
    bool is_add_contact(std::size_t i, std::uint32_t node) const {
        const auto& p = sent.at(i).packet;
        pb::AdminMessage admin;
        return p.to() == kSelf && p.decoded().portnum() == pb::ADMIN_APP &&
               admin.ParseFromString(p.decoded().payload()) && admin.has_add_contact() &&
               admin.add_contact().node_num() == node &&
               admin.add_contact().user().public_key().size() == 32;
    }
    void answer(std::size_t i, SendResult::Status status, int error = 0) {
        SendResult r;
        r.status = status;
        r.id = sent.at(i).packet.id();
        r.routing_error = error;
        sent.at(i).done(r);
    }
};

meshbot::radio::RadioInfo radio_with(std::map<std::uint32_t, std::string> keys) {
    meshbot::radio::RadioInfo radio;
    radio.my_node_num = kSelf;
    radio.own_user.set_public_key(key_of('S'));
    for (const auto& [num, key] : keys) {
        pb::NodeInfo info;
        info.set_num(num);
        info.mutable_user()->set_public_key(key);
        radio.nodes[num] = info;
    }
    return radio;
}

pb::MeshPacket dm(std::uint32_t to, pb::PortNum port = pb::TEXT_MESSAGE_APP) {
    pb::MeshPacket p;
    p.set_to(to);
    p.set_want_ack(true);
    p.mutable_decoded()->set_portnum(port);
    p.mutable_decoded()->set_payload("hi");
    return p;
}

struct Fixture {
    boost::asio::io_context io;
    meshbot::config::AppConfig config;
    NodeStore store;
    FakeLink link{io};
    KeySync sync{io.get_executor(), config, store,
                 [this](pb::MeshPacket p, SendCallback d) { return link.send(std::move(p), d); },
                 [this] { return link.next_id++; }};

    // The store learned 7 ('a') and 8 ('b') on an earlier radio; this one lost 7's key.
    Fixture() {
        store.on_handshake(radio_with({{7, key_of('a')}, {8, key_of('b')}}));
        sync.on_ready(radio_with({{7, ""}, {8, key_of('b')}, {9, ""}}));
    }
};

}  // namespace

TEST_CASE("a DM to a node the radio lacks the key for goes out behind one add_contact",
          "[keysync]") {
    Fixture f;
    CHECK(f.link.sent.empty());  // connecting pushes nothing in bulk
    f.sync.send(dm(7), {});
    REQUIRE(f.link.sent.size() == 2);
    CHECK(f.link.is_add_contact(0, 7));
    CHECK(f.link.sent[1].packet.to() == 7u);

    f.sync.send(dm(7), {});  // the same session: no second push, even before the ACK
    REQUIRE(f.link.sent.size() == 3);
    CHECK(f.link.sent[2].packet.decoded().portnum() == pb::TEXT_MESSAGE_APP);

    f.link.answer(0, SendResult::Status::acked);
    CHECK(f.sync.counters().keys_pushed == 1);
    CHECK(f.sync.view().holds(7, *meshbot::nodes::to_key(key_of('a'))));

    f.sync.send(dm(8), {});  // the radio has 8's key: straight out
    CHECK(f.link.sent.size() == 4);
    f.sync.send(dm(7, pb::TRACEROUTE_APP), {});  // never PKI-encrypted: no key needed
    CHECK(f.link.sent.size() == 5);
}

TEST_CASE("a DM to a node whose key nobody knows is refused with a clear message", "[keysync]") {
    Fixture f;
    std::optional<SendResult> result;
    const std::uint32_t id = f.sync.send(dm(9), [&](const SendResult& r) { result = r; });
    CHECK(id != 0);       // refused under an id of its own, which the completion carries
    CHECK_FALSE(result);  // a completion never runs inside the call that registered it
    f.io.poll();
    REQUIRE(result);
    CHECK(result->id == id);
    CHECK(result->status == SendResult::Status::refused);
    CHECK_THAT(result->message, Catch::Contains("no public key is known for !00000009"));
    CHECK(f.link.sent.empty());
}

TEST_CASE("PKI_SEND_FAIL_PUBLIC_KEY brings one push and one retry under a new id", "[keysync]") {
    Fixture f;
    std::vector<SendResult> results;
    f.sync.send(dm(8), [&](const SendResult& r) { results.push_back(r); });
    REQUIRE(f.link.sent.size() == 1);
    f.link.answer(0, SendResult::Status::nak, pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);
    REQUIRE(f.link.sent.size() == 3);
    CHECK(f.link.is_add_contact(1, 8));
    CHECK(f.link.sent[2].packet.id() != f.link.sent[0].packet.id());
    REQUIRE(results.size() == 1);
    CHECK(results[0].status == SendResult::Status::reissued);
    CHECK(results[0].reissued_as == f.link.sent[2].packet.id());

    f.link.answer(2, SendResult::Status::nak, pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);
    CHECK(f.link.sent.size() == 3);  // only one retry
    REQUIRE(results.size() == 2);
    CHECK(results[1].status == SendResult::Status::nak);
}

TEST_CASE("with a full outbox a DM completes exactly once, after send() returned",
          "[keysync][completion]") {
    Fixture f;
    std::vector<SendResult> results;
    auto record = [&](const SendResult& r) { results.push_back(r); };

    SECTION("refused at once") {
        f.link.full = true;
        CHECK(f.sync.send(dm(8), record) == 0);
        CHECK(results.empty());
        f.io.poll();
        REQUIRE(results.size() == 1);
        CHECK(results[0].status == SendResult::Status::rejected_full);
    }
    SECTION("the retry after PKI_SEND_FAIL_PUBLIC_KEY is refused") {
        f.sync.send(dm(8), record);
        REQUIRE(f.link.sent.size() == 1);
        f.link.full = true;
        f.link.answer(0, SendResult::Status::nak, pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);
        CHECK(f.link.refused == 2);  // the add_contact and the retry
        f.io.poll();
        // One end for the request, whatever it is; never the NAK and the refusal both.
        const auto ends = std::count_if(results.begin(), results.end(), [](const SendResult& r) {
            return r.status != SendResult::Status::reissued;
        });
        CHECK(ends == 1);
        CHECK(results.size() == 1);
    }
}

TEST_CASE("the periodic check does nothing while neither side changed", "[keysync]") {
    Fixture f;
    for (int i = 0; i < 100; ++i)
        f.sync.check();
    CHECK(f.sync.counters().checks_skipped == 100);
    CHECK(f.sync.counters().checks_run == 0);
    CHECK(f.link.sent.empty());

    pb::User user;
    user.set_public_key(key_of('z'));
    pb::MeshPacket info;
    info.set_from(10);
    info.mutable_decoded()->set_portnum(pb::NODEINFO_APP);
    info.mutable_decoded()->set_payload(user.SerializeAsString());
    f.store.on_packet(info);  // a new key: the next check runs, once
    f.sync.check();
    f.sync.check();
    CHECK(f.sync.counters().checks_run == 1);
    CHECK(f.sync.counters().checks_skipped == 101);
    CHECK(f.link.sent.empty());  // a check pushes nothing but the important nodes
}

TEST_CASE("after connecting, only the admins and the restore list are pushed", "[keysync]") {
    boost::asio::io_context io;
    meshbot::config::AppConfig config;
    config.commands.admins = {7};
    config.keys.restore = {8};
    NodeStore store;
    FakeLink link{io};
    KeySync sync(io.get_executor(), config, store,
                 [&](pb::MeshPacket p, SendCallback d) { return link.send(std::move(p), d); });
    store.on_handshake(radio_with({{7, key_of('a')}, {8, key_of('b')}, {11, key_of('c')}}));
    sync.on_ready(radio_with({}));
    REQUIRE(link.sent.size() == 2);
    CHECK(link.is_add_contact(0, 7));
    CHECK(link.is_add_contact(1, 8));
}
