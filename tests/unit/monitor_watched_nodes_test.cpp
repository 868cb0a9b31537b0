// The monitor plugin's watched nodes: offline after silence, back online (which the original
// bot could never send), rebooted on an uptime going backwards, cooldowns per node and kind.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "monitor/watched_nodes.hpp"

using monitor::WatchedNodes;
using monitor::WatchEvent;
using monitor::WatchSettings;
using Kind = WatchEvent::Kind;

namespace {

constexpr std::uint32_t kA = 0x10000002;
constexpr std::uint32_t kB = 0x10000003;
constexpr std::int64_t t0 = 1'700'000'000;

WatchSettings settings() {
    WatchSettings s;
    s.offline_after = 900;
    s.cooldown = 600;
    return s;
}

// The kinds of the events that are to be sent (quiet ones are only logged).
std::vector<Kind> kinds(const std::vector<WatchEvent>& events) {
    std::vector<Kind> out;
    for (const auto& e : events) {
        if (!e.quiet) out.push_back(e.kind);
    }
    return out;
}

std::vector<Kind> quiet(const std::vector<WatchEvent>& events) {
    std::vector<Kind> out;
    for (const auto& e : events) {
        if (e.quiet) out.push_back(e.kind);
    }
    return out;
}

}  // namespace

TEST_CASE("a silent node goes offline after offline_after, once, and comes back online",
          "[monitor][watch]") {
    WatchedNodes w(settings(), {kA}, t0);
    CHECK(w.heard(kA, t0 + 10, t0 + 10, std::nullopt).empty());
    CHECK(w.check(t0 + 909).empty());
    const auto off = w.check(t0 + 910);
    REQUIRE(off.size() == 1);
    CHECK(off[0].kind == Kind::offline);
    CHECK(off[0].node == kA);
    CHECK(off[0].silent_for == 900);
    CHECK(w.check(t0 + 2000).empty());  // reported: not again while still silent

    const auto back = w.heard(kA, t0 + 2100, t0 + 2100, std::nullopt);
    REQUIRE(back.size() == 1);
    CHECK(back[0].kind == Kind::back_online);
    CHECK(back[0].silent_for == 2090);
    CHECK(w.heard(kA, t0 + 2110, t0 + 2110, std::nullopt).empty());
}

TEST_CASE("a node never heard is judged from the start of watching", "[monitor][watch]") {
    WatchedNodes w(settings(), {kA, kB}, t0);
    CHECK(w.check(t0 + 899).empty());
    CHECK(kinds(w.check(t0 + 900)) == std::vector<Kind>{Kind::offline, Kind::offline});
}

TEST_CASE("offline and back online are sent at most once per cooldown", "[monitor][watch]") {
    WatchSettings s = settings();
    s.cooldown = 3600;
    WatchedNodes w(s, {kA}, t0);
    CHECK(kinds(w.check(t0 + 900)) == std::vector<Kind>{Kind::offline});
    CHECK(kinds(w.heard(kA, t0 + 950, t0 + 950, std::nullopt)) ==
          std::vector<Kind>{Kind::back_online});
    // Silent again: offline at +1850 is inside the cooldown of the alert at +900, so it is
    // only logged (once).
    CHECK(quiet(w.check(t0 + 1850)) == std::vector<Kind>{Kind::offline});
    CHECK(w.check(t0 + 1851).empty());
    CHECK(w.view().at(0).offline);
    // Heard again: no offline alert was sent for this spell, so no "back online" either.
    CHECK(w.heard(kA, t0 + 1860, t0 + 1860, std::nullopt).empty());
    CHECK(quiet(w.check(t0 + 2760)) == std::vector<Kind>{Kind::offline});
    // Silent when the cooldown is over: alerted again.
    CHECK(w.check(t0 + 4499).empty());
    CHECK(kinds(w.check(t0 + 4500)) == std::vector<Kind>{Kind::offline});
}

TEST_CASE("a node still silent when the offline cooldown ends is reported again",
          "[monitor][watch]") {
    WatchSettings s = settings();
    s.cooldown = 1200;
    WatchedNodes w(s, {kA}, t0);
    CHECK(kinds(w.check(t0 + 900)) == std::vector<Kind>{Kind::offline});
    CHECK(kinds(w.heard(kA, t0 + 910, t0 + 910, std::nullopt)) ==
          std::vector<Kind>{Kind::back_online});
    CHECK(kinds(w.check(t0 + 1810)).empty());  // offline again, within the cooldown
    CHECK(kinds(w.check(t0 + 2100)) == std::vector<Kind>{Kind::offline});
}

TEST_CASE("a late copy of an old sighting is not a return", "[monitor][watch]") {
    WatchedNodes w(settings(), {kA}, t0);
    CHECK(kinds(w.check(t0 + 2000)) == std::vector<Kind>{Kind::offline});
    // The radio's NodeDB says it heard the node at +500: newer than we knew, still long ago.
    CHECK(w.heard(kA, t0 + 500, t0 + 2010, std::nullopt).empty());
    CHECK(w.view().at(0).offline);
    CHECK(kinds(w.heard(kA, t0 + 2020, t0 + 2020, std::nullopt)) ==
          std::vector<Kind>{Kind::back_online});
}

TEST_CASE("an uptime going backwards is a reboot, but the same or a growing uptime is not",
          "[monitor][watch]") {
    WatchedNodes w(settings(), {kA}, t0);
    CHECK(w.heard(kA, t0, t0, 5000u).empty());
    CHECK(w.heard(kA, t0 + 60, t0 + 60, 5060u).empty());
    CHECK(w.heard(kA, t0 + 61, t0 + 61, 5060u).empty());  // a text: same metrics again
    const auto r = w.heard(kA, t0 + 120, t0 + 120, 12u);
    REQUIRE(r.size() == 1);
    CHECK(r[0].kind == Kind::rebooted);
    CHECK(r[0].uptime == 12);
    CHECK(r[0].previous_uptime == 5060);
    CHECK(w.heard(kA, t0 + 180, t0 + 180, 72u).empty());
}

TEST_CASE("rebooted is sent at most once per cooldown", "[monitor][watch]") {
    WatchedNodes w(settings(), {kA}, t0);
    CHECK(w.heard(kA, t0, t0, 5000u).empty());
    CHECK(kinds(w.heard(kA, t0 + 10, t0 + 10, 3u)) == std::vector<Kind>{Kind::rebooted});
    CHECK(w.heard(kA, t0 + 100, t0 + 100, 90u).empty());
    // Rebooted again, inside the cooldown: logged only.
    CHECK(quiet(w.heard(kA, t0 + 110, t0 + 110, 2u)) == std::vector<Kind>{Kind::rebooted});
    CHECK(w.heard(kA, t0 + 700, t0 + 700, 590u).empty());
    CHECK(kinds(w.heard(kA, t0 + 710, t0 + 710, 1u)) == std::vector<Kind>{Kind::rebooted});
}

TEST_CASE("an old uptime report delivered late is not a reboot", "[monitor][watch]") {
    WatchedNodes w(settings(), {kA}, t0);
    CHECK(w.heard(kA, t0, t0, 86400u).empty());
    // 10 s later a report of 80000 s: the node cannot have restarted 80000 s ago in 10 s.
    CHECK(w.heard(kA, t0 + 10, t0 + 10, 80000u).empty());
    CHECK(w.heard(kA, t0 + 20, t0 + 20, 86420u).empty());
}

TEST_CASE("alerts survive a restart through the stored memory", "[monitor][watch]") {
    WatchedNodes before(settings(), {kA}, t0);
    CHECK(kinds(before.check(t0 + 900)) == std::vector<Kind>{Kind::offline});
    const auto saved = monitor::encode(before.memory(kA));
    const auto memory = monitor::decode_watch_memory(saved);
    REQUIRE(memory);
    CHECK(memory->reported_offline);
    CHECK(memory->last_offline == t0 + 900);
    CHECK_FALSE(monitor::decode_watch_memory("garbage"));

    // The restarted bot does not say "offline" again, and does say "back online".
    WatchedNodes after(settings(), {kA}, t0 + 1000);
    after.restore(kA, *memory);
    CHECK(after.check(t0 + 5000).empty());
    CHECK(kinds(after.heard(kA, t0 + 5010, t0 + 5010, std::nullopt)) ==
          std::vector<Kind>{Kind::back_online});
}

TEST_CASE("nodes that are not watched are ignored", "[monitor][watch]") {
    WatchedNodes w(settings(), {kA}, t0);
    CHECK_FALSE(w.watches(kB));
    CHECK(w.heard(kB, t0, t0, 1u).empty());
    CHECK(w.heard(kB, t0 + 1, t0 + 1, 0u).empty());
    CHECK(w.view().size() == 1);
}
