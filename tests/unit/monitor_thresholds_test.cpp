// The monitor plugin's alert state machine: duration before a warning, critical at once,
// cooldowns per level, recovery notices only after an alert, and n/a never alerting.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <vector>

#include "monitor/thresholds.hpp"

using monitor::Clock;
using monitor::Threshold;
using monitor::ThresholdEvent;
using monitor::ThresholdSpec;
using Kind = ThresholdEvent::Kind;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0{std::chrono::hours(1000)};

ThresholdSpec cpu_temp() {
    ThresholdSpec s;
    s.enabled = true;
    s.warn = 60;
    s.warn_for = 300s;
    s.critical = 68;
    s.cooldown = 1800s;
    return s;
}

// Feeds `value` every `step` from `from` for `count` steps; returns the kinds of what is to be
// sent (quiet events, held back by a cooldown, are only logged).
std::vector<Kind> feed(Threshold& t, std::optional<double> value, Clock::time_point from, int count,
                       Clock::duration step = 30s) {
    std::vector<Kind> out;
    for (int i = 0; i < count; ++i) {
        if (auto e = t.update(value, from + i * step); e && !e->quiet) out.push_back(e->kind);
    }
    return out;
}

bool held_back(const std::optional<ThresholdEvent>& e, Kind kind) {
    return e && e->quiet && e->kind == kind;
}

}  // namespace

TEST_CASE("a warning needs warn_for seconds over warn, counted in time, not in checks",
          "[monitor][thresholds]") {
    Threshold t(cpu_temp());
    // 61 C checked every 30 s: the tenth check (t0 + 270 s) is still short of 300 s.
    CHECK(feed(t, 61.0, t0, 10).empty());
    CHECK(t.level() == monitor::Level::ok);
    const auto e = t.update(61.0, t0 + 300s);
    REQUIRE(e);
    CHECK(e->kind == Kind::warning);
    CHECK(e->bad_for == 300s);
    CHECK(t.level() == monitor::Level::warning);
    // The same spell does not warn twice.
    CHECK(feed(t, 62.0, t0 + 330s, 20).empty());
}

TEST_CASE("a dip under warn restarts the warn_for run", "[monitor][thresholds]") {
    Threshold t(cpu_temp());
    CHECK(feed(t, 61.0, t0, 9).empty());  // 0 .. 240 s
    CHECK_FALSE(t.update(59.0, t0 + 270s));
    CHECK(feed(t, 61.0, t0 + 300s, 10).empty());  // 300 .. 570 s: only 270 s in a row
    const auto e = t.update(61.0, t0 + 600s);
    REQUIRE(e);
    CHECK(e->kind == Kind::warning);
}

TEST_CASE("critical fires at once, even during a warning spell, then recovers once",
          "[monitor][thresholds]") {
    Threshold t(cpu_temp());
    auto e = t.update(70.0, t0);
    REQUIRE(e);
    CHECK(e->kind == Kind::critical);
    CHECK(t.level() == monitor::Level::critical);
    // Easing into the warning band is the same spell: nothing new, not even after warn_for.
    CHECK(feed(t, 64.0, t0 + 30s, 20).empty());
    e = t.update(50.0, t0 + 700s);
    REQUIRE(e);
    CHECK(e->kind == Kind::recovered);
    CHECK(e->value == 50.0);
    CHECK_FALSE(t.update(50.0, t0 + 730s));

    // A warning first, then critical: both are sent.
    Threshold u(cpu_temp());
    CHECK(feed(u, 61.0, t0, 12) == std::vector<Kind>{Kind::warning});
    CHECK(feed(u, 69.0, t0 + 360s, 3) == std::vector<Kind>{Kind::critical});
}

TEST_CASE("each level is sent at most once per cooldown, and recovery only follows a sent alert",
          "[monitor][thresholds]") {
    ThresholdSpec spec = cpu_temp();
    spec.warn_for = 0s;
    Threshold t(spec);
    CHECK(t.update(61.0, t0)->kind == Kind::warning);
    CHECK(t.update(55.0, t0 + 60s)->kind == Kind::recovered);
    // Back over warn within the cooldown: held back (said once, for the log) and so no
    // recovery notice either.
    CHECK(held_back(t.update(61.0, t0 + 120s), Kind::warning));
    CHECK_FALSE(t.update(61.0, t0 + 150s));
    CHECK(t.level() == monitor::Level::warning);
    CHECK_FALSE(t.update(55.0, t0 + 180s));
    // Still bad when the cooldown ends: the warning goes out then.
    CHECK(held_back(t.update(61.0, t0 + 1700s), Kind::warning));
    const auto e = t.update(61.0, t0 + 1800s);
    REQUIRE(e);
    CHECK(e->kind == Kind::warning);
    CHECK_FALSE(e->quiet);
}

TEST_CASE("below thresholds alert when the figure drops (battery, free disk)",
          "[monitor][thresholds]") {
    ThresholdSpec spec;
    spec.enabled = true;
    spec.below = true;
    spec.warn = 20;
    spec.warn_for = 0s;
    spec.critical = 10;
    spec.cooldown = 600s;
    Threshold t(spec);
    CHECK_FALSE(t.update(80.0, t0));
    CHECK(t.update(19.0, t0 + 10s)->kind == Kind::warning);
    CHECK(t.update(9.0, t0 + 20s)->kind == Kind::critical);
    CHECK(t.update(25.0, t0 + 30s)->kind == Kind::recovered);
}

TEST_CASE("an unreadable figure never alerts, never recovers, and breaks the run",
          "[monitor][thresholds]") {
    Threshold t(cpu_temp());
    CHECK(feed(t, std::nullopt, t0, 100).empty());
    CHECK(t.level() == monitor::Level::ok);
    CHECK_FALSE(t.last_value());

    CHECK(feed(t, 61.0, t0, 9).empty());
    CHECK_FALSE(t.update(std::nullopt, t0 + 270s));
    CHECK_FALSE(t.update(61.0, t0 + 300s));  // the run started again at 300 s

    // After an alert, n/a is not a recovery.
    CHECK(t.update(70.0, t0 + 400s)->kind == Kind::critical);
    CHECK_FALSE(t.update(std::nullopt, t0 + 430s));
    CHECK(t.update(40.0, t0 + 460s)->kind == Kind::recovered);
}

TEST_CASE("a disabled threshold never fires", "[monitor][thresholds]") {
    ThresholdSpec spec = cpu_temp();
    spec.enabled = false;
    Threshold t(spec);
    CHECK(feed(t, 100.0, t0, 100).empty());
}

TEST_CASE("a threshold without a critical level only warns", "[monitor][thresholds]") {
    ThresholdSpec spec = cpu_temp();
    spec.critical.reset();
    spec.warn_for = 0s;
    Threshold t(spec);
    CHECK(feed(t, 1000.0, t0, 5) == std::vector<Kind>{Kind::warning});
}
