// The radio link against the simulator, in process: handshake, reconnects, the outbox across
// a lost link, bad bytes from the radio, and the one-link-per-endpoint rule.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "radio/radio_link.hpp"
#include "support/sim_process.hpp"

using namespace meshbot;
using namespace std::chrono_literals;
using meshbot::testing::Record;
using meshbot::testing::SimProcess;

namespace {

config::RadioConfig radio_config(const SimProcess& sim) {
    config::RadioConfig c;
    c.host = "127.0.0.1";
    c.port = sim.port();
    c.heartbeat_interval = config::Seconds(0.5);
    c.backoff_initial = config::Seconds(0.2);
    c.backoff_max = config::Seconds(2);
    c.connect_timeout = config::Seconds(2);
    c.handshake_timeout = config::Seconds(5);
    c.replay_tail = config::Seconds(0.2);
    return c;
}

// Runs the io_context until `done` holds or the deadline passes.
template <typename Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        io.run_for(10ms);
        if (io.stopped()) io.restart();
    }
    return true;
}

struct LinkFixture {
    boost::asio::io_context io;
    std::vector<pb::MeshPacket> packets;
    int ready_count = 0;
    int down_count = 0;
    std::unique_ptr<radio::RadioLink> link;

    explicit LinkFixture(const config::RadioConfig& config) {
        radio::RadioLink::Handlers handlers;
        handlers.on_ready = [this](const radio::RadioInfo&) { ++ready_count; };
        handlers.on_down = [this](const std::string&) { ++down_count; };
        handlers.on_packet = [this](const pb::MeshPacket& p, bool replayed) {
            if (!replayed) packets.push_back(p);
        };
        link = std::make_unique<radio::RadioLink>(io.get_executor(), config, handlers);
        link->start();
    }
    ~LinkFixture() {
        bool stopped = false;
        link->stop([&] { stopped = true; });
        run_until(
            io, [&] { return stopped; }, 5s);
    }
    bool wait_ready(int count = 1) {
        return run_until(
            io, [&] { return ready_count >= count && link->state() == radio::LinkState::ready; });
    }
    bool wait_text(const std::string& body, std::chrono::milliseconds timeout = 5s) {
        return run_until(
            io,
            [&] {
                for (const auto& p : packets) {
                    if (p.has_decoded() && p.decoded().payload() == body) return true;
                }
                return false;
            },
            timeout);
    }
};

pb::MeshPacket text_packet(const std::string& body) {
    pb::MeshPacket p;
    p.set_to(radio::kBroadcast);
    p.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    p.mutable_decoded()->set_payload(body);
    return p;
}

// At no time did the simulator have two of our connections open.
void check_one_connection_at_a_time(const SimProcess& sim) {
    int open = 0;
    for (const Record& r : sim.records()) {
        const auto ev = r.get<std::string>("ev", "");
        if (ev == "accept") {
            ++open;
            CHECK(open == 1);
        } else if (ev == "close") {
            --open;
            CHECK(r.get<std::string>("reason", "") != "newer_connection");
        }
    }
}

}  // namespace

TEST_CASE("the link completes the handshake with a nonce the firmware treats as ordinary",
          "[link]") {
    SimProcess sim({.nodes = 5});
    LinkFixture f(radio_config(sim));
    REQUIRE(f.wait_ready());
    const auto request = sim.wait_for("rx", "want_config_id", 2s);
    const auto done = sim.wait_for("tx", "config_complete", 2s);
    REQUIRE(request);
    REQUIRE(done);
    const auto nonce = request->get<std::uint32_t>("nonce");
    CHECK(nonce != 0);
    CHECK(nonce != 69420u);
    CHECK(nonce != 69421u);
    CHECK(done->get<std::uint32_t>("nonce") == nonce);
    CHECK(f.link->radio().my_node_num == sim.my_node());
    CHECK(f.link->radio().nodes.size() == 5);
    CHECK(f.link->radio().hop_limit() == 3);
}

TEST_CASE("heartbeats leave at the configured interval with nonce 0", "[link]") {
    SimProcess sim;
    LinkFixture f(radio_config(sim));  // every 0.5 s
    REQUIRE(f.wait_ready());
    REQUIRE(run_until(
        f.io, [&] { return sim.count("rx", "heartbeat") >= 5; }, 6s));
    const auto beats = sim.records("rx", "heartbeat");
    for (std::size_t i = 1; i < beats.size(); ++i) {
        CHECK(beats[i].get<std::uint32_t>("nonce") == 0);
        const double gap = beats[i].get<double>("t") - beats[i - 1].get<double>("t");
        CHECK(gap > 0.4);
        CHECK(gap < 0.8);
    }
}

TEST_CASE("after the radio drops the connection the link reconnects and redoes the handshake",
          "[link]") {
    SimProcess sim;
    LinkFixture f(radio_config(sim));
    REQUIRE(f.wait_ready());
    sim.command("drop");
    REQUIRE(f.wait_ready(2));
    CHECK(f.down_count == 1);
    CHECK(sim.count("rx", "want_config_id") == 2);
    CHECK(sim.count("tx", "config_complete") == 2);
    check_one_connection_at_a_time(sim);
}

TEST_CASE("a packet sent while the link is down is delivered exactly once after reconnect",
          "[link]") {
    SimProcess sim;
    LinkFixture f(radio_config(sim));
    REQUIRE(f.wait_ready());
    sim.command("reboot 1.5");
    REQUIRE(run_until(f.io, [&] { return f.down_count == 1; }));

    std::optional<radio::SendResult> result;
    const auto id = f.link->send(text_packet("queued while down"),
                                 [&](const radio::SendResult& r) { result = r; });
    REQUIRE(id != 0);
    REQUIRE(f.wait_ready(2));
    REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
    CHECK(result->status == radio::SendResult::Status::sent);
    const auto sent = sim.records("rx", "packet");
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].get<std::uint32_t>("id") == id);
    CHECK(sent[0].get<std::string>("text") == "queued while down");
    CHECK(sent[0].get<unsigned>("hop_limit") == 3);
}

TEST_CASE("garbage, oversize, truncated and undecodable frames do not break the link", "[link]") {
    SimProcess sim;
    LinkFixture f(radio_config(sim));
    REQUIRE(f.wait_ready());
    run_until(
        f.io, [] { return false; }, 300ms);  // past the replay tail
    sim.command("garbage 300");
    sim.command("text from=!2f000001 after garbage");
    REQUIRE(f.wait_text("after garbage"));
    sim.command("oversize");
    sim.command("text from=!2f000001 after oversize");
    REQUIRE(f.wait_text("after oversize"));
    sim.command("undecodable");
    sim.command("encrypted from=!2f000001");
    sim.command("notify duty cycle limit reached");
    sim.command("text from=!2f000001 after undecodable");
    REQUIRE(f.wait_text("after undecodable"));
    CHECK(f.link->stats().undecodable >= 1);
    // The truncated frame swallows the bytes of the frames behind it until its length is
    // reached; the decoder then resynchronises.
    sim.command("truncated");
    for (int i = 1; i <= 5; ++i)
        sim.command("text from=!2f000001 after truncated " + std::to_string(i));
    REQUIRE(f.wait_text("after truncated 5"));
    CHECK(f.ready_count == 1);  // never reconnected
    CHECK(sim.count("accept") == 1);
}

TEST_CASE("duplicate packets from the radio are delivered once", "[link]") {
    SimProcess sim;
    LinkFixture f(radio_config(sim));
    REQUIRE(f.wait_ready());
    run_until(
        f.io, [] { return false; }, 300ms);
    sim.command("text from=!2f000001 id=4242 once only");
    sim.command("text from=!2f000001 id=4242 once only");
    sim.command("text from=!2f000001 id=4243 sentinel");
    REQUIRE(f.wait_text("sentinel"));
    CHECK(std::count_if(f.packets.begin(), f.packets.end(), [](const pb::MeshPacket& p) {
              return p.decoded().payload() == "once only";
          }) == 1);
}

TEST_CASE("a second link to the same radio in the process is refused", "[link]") {
    SimProcess sim;
    LinkFixture f(radio_config(sim));
    REQUIRE(f.wait_ready());
    boost::asio::io_context other;
    CHECK_THROWS_AS(radio::RadioLink(other.get_executor(), radio_config(sim), {}),
                    radio::EndpointInUse);
    run_until(
        f.io, [] { return false; }, 300ms);
    CHECK(sim.count("accept") == 1);
}

TEST_CASE("the link completes the handshake over a serial pty", "[link][serial]") {
    SimProcess sim({.serial = true});
    config::RadioConfig c = radio_config(sim);
    c.transport = config::Transport::serial;
    c.device = sim.serial_path();
    LinkFixture f(c);
    REQUIRE(f.wait_ready());
    CHECK(f.link->radio().my_node_num == sim.my_node());
    run_until(
        f.io, [] { return false; }, 300ms);
    sim.command("text from=!2f000001 over serial");
    REQUIRE(f.wait_text("over serial"));
    CHECK(f.link->stats().undecodable == 0);
}
