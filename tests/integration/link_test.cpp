// The radio link against the simulator, in process: handshake, reconnects, the outbox across
// a lost link, bad bytes from the radio, and the one-link-per-endpoint rule.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "radio/radio_link.hpp"
#include "support/fake_radio.hpp"
#include "support/sim_process.hpp"

using namespace meshbot;
using namespace std::chrono_literals;
using meshbot::testing::FakeRadio;
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

namespace {

config::RadioConfig fake_radio_config(const FakeRadio& radio) {
    config::RadioConfig c;
    c.host = "127.0.0.1";
    c.port = radio.port();
    c.heartbeat_interval = config::Seconds(0.5);
    c.silence_multiple = 3;
    c.backoff_initial = config::Seconds(0.2);
    c.backoff_max = config::Seconds(0.5);
    c.connect_timeout = config::Seconds(2);
    c.handshake_timeout = config::Seconds(5);
    return c;
}

// Keeps what the default logger writes while it lives (the link logs through spdlog).
struct LogCapture {
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink =
        std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000);
    LogCapture() { spdlog::default_logger()->sinks().push_back(sink); }
    ~LogCapture() { spdlog::default_logger()->sinks().pop_back(); }
    std::size_t count(std::string_view needle) const {
        std::size_t n = 0;
        for (const auto& line : sink->last_formatted())
            if (line.find(needle) != std::string::npos) ++n;
        return n;
    }
};

}  // namespace

TEST_CASE("a radio on old firmware that stalls after the handshake is noticed and reconnected",
          "[link][stall]") {
    // 2.7.3 does not answer heartbeats, so silence alone proves nothing; the link has to ask.
    FakeRadio radio("2.7.3.abcdef", FakeRadio::After::stall);
    LinkFixture f(fake_radio_config(radio));
    REQUIRE(f.wait_ready());
    // heartbeat 0.5 s x 3 is the silence limit; 10 s is a generous deadline.
    CHECK(run_until(
        f.io, [&] { return f.ready_count >= 2 && radio.connections() >= 2; }, 10s));
    CHECK(f.down_count >= 1);
}

TEST_CASE("a radio that sends only undecodable frames is reconnected, with few warnings",
          "[link][stall]") {
    LogCapture log;
    FakeRadio radio("2.7.26.abcdef", FakeRadio::After::garbage);
    LinkFixture f(fake_radio_config(radio));
    REQUIRE(f.wait_ready());
    CHECK(run_until(
        f.io, [&] { return f.ready_count >= 2 && radio.connections() >= 2; }, 10s));
    // Dozens of frames per second arrived; the log says so in a few lines, not one per frame.
    CHECK(radio.garbage_frames() >= 50);
    CHECK(f.link->stats().undecodable >= 50);
    CHECK(log.count("undecodable") <= 6);
}

TEST_CASE("a handshake that times out says after how long in plain words", "[link][log_text]") {
    LogCapture log;
    FakeRadio radio("2.7.26.abcdef", FakeRadio::After::mute);
    auto config = fake_radio_config(radio);
    config.handshake_timeout = config::Seconds(1.5);
    LinkFixture f(config);
    CHECK(run_until(
        f.io, [&] { return log.count("handshake timed out after") >= 1; }, 10s));
    CHECK(log.count("handshake timed out after 1.5 s") >= 1);
    CHECK(log.count("0000 s") == 0);
}
