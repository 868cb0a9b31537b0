// The remote plugin's pure logic (plugins/remote/*.hpp, header-only): /nodes pages, node
// matching, the request lanes' pacing and queue, and the words of its answers. The plugin
// itself is tested end to end in tests/integration/remote_plugin_test.cpp.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "../../plugins/remote/answers.hpp"
#include "../../plugins/remote/info_text.hpp"
#include "../../plugins/remote/node_match.hpp"
#include "../../plugins/remote/node_pages.hpp"
#include "../../plugins/remote/request_lane.hpp"
#include "../../plugins/remote/text.hpp"

using namespace std::chrono_literals;
using meshbot::NodeInfo;
using remote::RequestLane;

namespace {

constexpr std::uint32_t kNow = 1'800'000'000;

NodeInfo node(std::uint32_t num, std::string short_name, std::string long_name, float snr = 0,
              int hops = 0, std::uint32_t ago = 60) {
    NodeInfo n;
    n.num = num;
    n.id = meshbot::node_id(num);
    n.short_name = std::move(short_name);
    n.long_name = std::move(long_name);
    n.snr = snr;
    n.hops_away = hops;
    n.last_heard = kNow - ago;
    return n;
}

}  // namespace

TEST_CASE("remote: text: UTF-8 is cleaned and cut only at code point boundaries", "[remote]") {
    CHECK(remote::is_valid_utf8("Café 📡"));
    CHECK_FALSE(remote::is_valid_utf8("\xC3"));
    CHECK_FALSE(remote::is_valid_utf8("\xED\xA0\x80"));  // a surrogate
    CHECK_FALSE(remote::is_valid_utf8("\xC0\xAF"));      // overlong
    CHECK(remote::clean_text("a\xFF"
                             "b\nc\x7F") == "a?b?c?");
    CHECK(remote::clean_text("\xF0\x9F\x93") == "???");  // a truncated emoji
    const std::string s = "ab📡📡";                        // 2 + 4 + 4 bytes
    CHECK(remote::utf8_prefix(s, 10) == s);
    CHECK(remote::utf8_prefix(s, 9) == "ab📡");
    CHECK(remote::utf8_prefix(s, 6) == "ab📡");
    CHECK(remote::utf8_prefix(s, 5) == "ab");
    CHECK(remote::utf8_prefix(s, 0).empty());
}

TEST_CASE("remote: text: ages, durations, SNR and distances in their short forms", "[remote]") {
    CHECK(remote::format_age(45) == "45s");
    CHECK(remote::format_age(300) == "5m");
    CHECK(remote::format_age(3 * 3600 + 59) == "3h");
    CHECK(remote::format_age(2 * 86400) == "2d");
    CHECK(remote::format_age(-5) == "0s");
    CHECK(remote::format_duration(93784) == "1d2h");
    CHECK(remote::format_duration(4 * 3600 + 12 * 60) == "4h12m");
    CHECK(remote::format_duration(59) == "59s");
    CHECK(remote::format_db(6) == "6.0");
    CHECK(remote::format_db(5.25) == "5.25");
    CHECK(remote::format_db(5.5) == "5.5");
    CHECK(remote::format_db(-3.75) == "-3.75");
    CHECK(remote::format_db(-0.01) == "0.0");
    // Paris centre to Versailles: about 18 km as the crow flies.
    const double km = remote::haversine_km(48.8566, 2.3522, 48.8049, 2.1204);
    CHECK(km == Approx(17.9).margin(0.2));
    CHECK(remote::format_km(km) == "17.9 km");
    CHECK(remote::format_km(0.852) == "0.85 km");
    CHECK(remote::format_km(151.2) == "151 km");
}

TEST_CASE("remote: /nodes: direct, recent, not self, best SNR first", "[remote]") {
    std::vector<NodeInfo> all = {
        node(1, "A", "Alpha", 2.0),       node(2, "B", "Bravo", 9.0),
        node(3, "C", "Charlie", 5.0, 1),  node(4, "D", "Delta", 7.0, 0, 4 * 86400),
        node(5, "E", "Echo", 9.0, 0, 10), node(6, "F", "Fox", 1.0, -1)};
    NodeInfo self = node(7, "ME", "Me", 20.0);
    self.is_self = true;
    all.push_back(self);
    const auto direct = remote::direct_nodes(all, kNow, 3 * 86400);
    REQUIRE(direct.size() == 3);
    CHECK(direct[0].num == 5);  // same SNR as B, heard more recently
    CHECK(direct[1].num == 2);
    CHECK(direct[2].num == 1);
    CHECK(remote::node_line(direct[0], kNow, false, 16) == "E 0005 9.0dB 10s");
    CHECK(remote::node_line(direct[2], kNow, true, 16) == "Alpha 0001 2.0dB 1m");
    // A node that never said its name shows the last four hex digits of its id.
    CHECK(remote::node_line(node(0xabcd1234, "", ""), kNow, false, 16) == "1234 1234 0.0dB 1m");
}

TEST_CASE("remote: /nodes: every page fits its budget, header and marker included", "[remote]") {
    for (const std::size_t budget : {64u, 100u, 200u}) {
        for (const std::size_t count : {1u, 7u, 30u, 120u}) {
            std::vector<std::string> lines;
            for (std::size_t i = 0; i < count; ++i)
                lines.push_back("📡🛰️ name " + std::to_string(i) + " 0a0b -12.75dB 59m");
            const auto pages = remote::paginate(lines, "3d", budget);
            INFO("budget " << budget << ", " << count << " lines");
            std::size_t seen = 0;
            for (std::size_t p = 0; p < pages.size(); ++p) {
                CHECK(pages[p].size() <= budget);
                CHECK(remote::is_valid_utf8(pages[p]));
                const std::string header = std::to_string(count) + " direct <3d p" +
                                           std::to_string(p + 1) + "/" +
                                           std::to_string(pages.size());
                CHECK(pages[p].rfind(header + "\n", 0) == 0);
                seen +=
                    static_cast<std::size_t>(std::count(pages[p].begin(), pages[p].end(), '\n'));
            }
            CHECK(seen == count);
        }
    }
    // A line too long for any page is cut, at a code point boundary.
    const auto pages = remote::paginate({std::string(300, 'x') + "📡"}, "3d", 64);
    REQUIRE(pages.size() == 1);
    CHECK(pages[0].size() <= 64);
}

TEST_CASE("remote: node matching: id, number, short, long, prefix, hex suffix", "[remote]") {
    const std::vector<NodeInfo> all = {
        node(0x10000001, "N001", "Node 0001"), node(0x10000002, "N002", "Node 0002"),
        node(0x2f1e0a01, "ALC", "Alice's T-Beam"), node(0x2f1e0a04, "cafe", "Café 📡 gateway"),
        node(0x0000cafe, "XYZ", "Node cafe")};
    const auto one = [&](std::string_view q) {
        const auto m = meshbot::match_nodes(q, all);
        return m.size() == 1 ? m[0].num : 0u;
    };
    CHECK(one("!10000002") == 0x10000002);
    CHECK(one("0x10000002") == 0x10000002);
    CHECK(one("268435458") == 0x10000002);
    CHECK(one("alc") == 0x2f1e0a01);
    CHECK(one("ALICE'S T-BEAM") == 0x2f1e0a01);
    CHECK(one("alice") == 0x2f1e0a01);
    CHECK(one("CAFE") == 0x2f1e0a04);  // the short name wins over the hex suffix
    CHECK(one("0a01") == 0x2f1e0a01);
    CHECK(meshbot::match_nodes("node", all).size() == 3);
    CHECK(meshbot::match_nodes("zzz", all).empty());
    CHECK(meshbot::match_nodes("", all).empty());
    CHECK(meshbot::match_nodes("!", all).empty());

    const auto text = remote::describe_candidates("node", meshbot::match_nodes("node", all), 2);
    CHECK(text == "3 nodes match \"node\": !10000001 N001, !10000002 N002, +1 more. Use the !id.");
}

TEST_CASE("remote: lanes: one request in flight, the gap respected, a bounded queue", "[remote]") {
    using Verdict = RequestLane::Verdict;
    const auto t0 = RequestLane::Clock::time_point{} + 1000s;
    RequestLane lane(30s, 2);
    const auto req = [](std::uint32_t target, std::uint32_t asker) {
        return remote::RemoteRequest{target, "T", asker, 0};
    };

    CHECK(lane.admit(req(1, 100), t0).verdict == Verdict::send_now);
    lane.start(1, req(1, 100), t0);
    lane.set_packet_id(1, 0xabc);
    CHECK(lane.in_flight_packet_id() == 0xabc);
    CHECK(lane.admit(req(1, 100), t0 + 1s).verdict == Verdict::duplicate);

    const auto a = lane.admit(req(2, 100), t0 + 5s);
    CHECK(a.verdict == Verdict::queued);
    CHECK(a.position == 1);
    REQUIRE(a.eta);
    CHECK(*a.eta == 25s);
    const auto b = lane.admit(req(3, 101), t0 + 5s);
    CHECK(b.verdict == Verdict::queued);
    CHECK(*b.eta == 55s);
    CHECK(lane.admit(req(2, 100), t0 + 6s).verdict == Verdict::duplicate);
    const auto full = lane.admit(req(4, 102), t0 + 10s);
    CHECK(full.verdict == Verdict::full);
    CHECK(*full.eta == 20s);

    // Answered quickly: the next still waits for the gap.
    REQUIRE(lane.finish(1, true));
    CHECK_FALSE(lane.finish(1, true));  // a late second outcome is ignored
    CHECK_FALSE(lane.take_ready(t0 + 29s));
    CHECK(lane.wake_at() == t0 + 30s);
    auto next = lane.take_ready(t0 + 30s);
    REQUIRE(next);
    CHECK(next->target == 2);
    lane.start(2, *next, t0 + 30s);
    CHECK_FALSE(lane.wake_at());  // waits for the answer, not a clock

    // An answer slower than the gap: the next goes as soon as it ends; eta unknown meanwhile.
    const auto c = lane.admit(req(5, 103), t0 + 70s);
    CHECK(c.verdict == Verdict::queued);
    CHECK_FALSE(c.eta);
    CHECK_FALSE(lane.take_ready(t0 + 70s));
    REQUIRE(lane.finish(2, true));
    next = lane.take_ready(t0 + 71s);
    REQUIRE(next);
    CHECK(next->target == 3);

    // A request the host refused never reached the radio: the gap does not count it.
    lane.start(3, *next, t0 + 71s);
    REQUIRE(lane.finish(3, false));
    next = lane.take_ready(t0 + 71s);
    REQUIRE(next);
    CHECK(next->target == 5);
    CHECK(lane.queued() == 0);
}

TEST_CASE("remote: answers: routes, telemetry, positions and failures in words", "[remote]") {
    const remote::NameOf name = [](std::uint32_t n) {
        return n == 1 ? std::string("SIM") : "N00" + std::to_string(n);
    };
    meshbot::wire::RouteDiscovery r;
    r.route = {4, meshbot::wire::RouteDiscovery::kUnknownHop};
    r.snr_towards = {24, -128, 21};
    r.route_back = {4};
    r.snr_back = {12, 22};
    CHECK(remote::format_trace(r, 1, 2, name) ==
          "SIM > N004 (6.0dB) > ? (?dB) > N002 (5.25dB)\nback: N002 > N004 (3.0dB) > SIM (5.5dB)");
    CHECK(remote::format_trace({}, 1, 2, name) == "SIM > N002\nback: not reported");

    meshbot::wire::DeviceMetrics m;
    m.battery_level = 101;
    m.voltage = 4.2f;
    m.uptime_seconds = 3600;
    CHECK(remote::format_telemetry("N002", m) == "N002: external power, 4.20V, up 1h0m");
    CHECK(remote::format_telemetry("N002", {}) == "N002 sent empty device metrics");

    meshbot::wire::Position p;
    p.latitude_i = 488049000;
    p.longitude_i = 21204000;
    p.altitude = 130;
    p.precision_bits = 13;
    CHECK(remote::format_position("N002", p, meshbot::Position{48.8566, 2.3522, 35}) ==
          "N002: 48.80490, 2.12040, alt 130 m (approximate), 17.9 km away");
    CHECK(remote::format_position("N002", {}, std::nullopt) == "N002 does not share its position");

    using Status = meshbot::SendResult::Status;
    const auto fail = [](remote::RequestKind kind, Status status, int error = 0,
                         std::string message = {}) {
        meshbot::SendResult result;
        result.status = status;
        result.routing_error = error;
        result.message = std::move(message);
        return remote::describe_failure(kind, "N002", result, 1200ms, 60s);
    };
    using remote::RequestKind;
    CHECK(fail(RequestKind::trace, Status::timeout) == "no answer from N002 in 60 s");
    CHECK(fail(RequestKind::trace, Status::nak, 5) == "no answer from N002 in 1 s");
    CHECK(fail(RequestKind::position, Status::nak, 8) == "N002 does not share its position");
    CHECK(fail(RequestKind::telemetry, Status::nak, 39) ==
          "no public key for N002; it has to send its node info first");
    CHECK(fail(RequestKind::telemetry, Status::rejected, 0, "No public KEY is known") ==
          "no public key for N002; it has to send its node info first");
    CHECK(fail(RequestKind::telemetry, Status::rejected, 0, "the outbox is full") ==
          "could not send the telemetry request to N002: the outbox is full");
    CHECK(fail(RequestKind::trace, Status::nak, 6) ==
          "the traceroute request to N002 failed (NO_CHANNEL)");
    CHECK(fail(RequestKind::trace, Status::cancelled).empty());
}

TEST_CASE("remote: /info: names, role, link, power, distance and key", "[remote]") {
    NodeInfo n = node(0x2f1e0a01, "ALC", "Alice's T-Beam", 9.25, 0, 300);
    n.role = 2;
    n.hw_model = 9;
    n.rssi = -84;
    n.metrics = meshbot::DeviceMetrics{80, 4.05f, 0, 0, 0};
    n.position = meshbot::Position{48.8049, 2.1204, 0};
    n.key_state = meshbot::KeyState::pinned;
    n.radio_has_key = true;
    NodeInfo self = node(0x0badc0de, "SIM", "Meshbot Sim");
    self.is_self = true;
    self.position = meshbot::Position{48.8566, 2.3522, 35};
    CHECK(remote::format_info(n, self, kNow) ==
          "ALC Alice's T-Beam !2f1e0a01\nrole ROUTER, hw RAK4631\nheard 5m ago, SNR 9.25dB, "
          "RSSI -84dBm, direct\nbattery 80%, 4.05V\n17.9 km away\nkey pinned, on the radio");

    n.key_state = meshbot::KeyState::changed;
    n.hops_away = 2;
    n.metrics.reset();
    CHECK_THAT(remote::format_info(n, std::nullopt, kNow),
               Catch::Contains("2 hops") && Catch::Contains("key CHANGED") &&
                   !Catch::Contains("km away") && !Catch::Contains("battery"));
    CHECK(remote::format_info(self, self, kNow) ==
          "SIM Meshbot Sim !0badc0de (this bot)\nrole CLIENT, hw UNSET\nkey none");
}
