#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "plugin_host/rate_limiter.hpp"

using meshbot::plugins::RateLimiter;
using Verdict = RateLimiter::Verdict;
using namespace std::chrono_literals;

namespace {

// A fixed origin: the limiter only ever compares time points, never reads the clock.
const RateLimiter::Clock::time_point t0{std::chrono::hours(1000)};

std::vector<Verdict> verdicts(RateLimiter& limiter, std::uint32_t sender,
                              RateLimiter::Clock::time_point start, int count,
                              RateLimiter::Clock::duration step) {
    std::vector<Verdict> out;
    for (int i = 0; i < count; ++i)
        out.push_back(limiter.check(sender, start + i * step).verdict);
    return out;
}

}  // namespace

TEST_CASE("Ten commands in ten seconds at 5 per minute: 5 allowed, 1 notice, 4 silent",
          "[rate_limiter]") {
    RateLimiter limiter(5, 60s);
    CHECK(verdicts(limiter, 0x1234, t0, 10, 1s) ==
          std::vector<Verdict>{Verdict::allow, Verdict::allow, Verdict::allow, Verdict::allow,
                               Verdict::allow, Verdict::deny_notify, Verdict::deny_silent,
                               Verdict::deny_silent, Verdict::deny_silent, Verdict::deny_silent});
}

TEST_CASE("retry_after is the time until the oldest counted command leaves the window",
          "[rate_limiter]") {
    RateLimiter limiter(5, 60s);
    for (int i = 0; i < 5; ++i)
        CHECK(limiter.check(7, t0 + i * 1s).retry_after == 0s);
    const auto first = limiter.check(7, t0 + 5s);
    CHECK(first.verdict == Verdict::deny_notify);
    CHECK(first.retry_after == 55s);
    const auto later = limiter.check(7, t0 + 59s + 500ms);
    CHECK(later.verdict == Verdict::deny_silent);
    CHECK(later.retry_after == 500ms);
    // Denied commands do not count: the window frees up exactly as announced.
    CHECK(limiter.check(7, t0 + 60s).verdict == Verdict::allow);
    const auto next = limiter.check(7, t0 + 60s + 100ms);
    CHECK(next.verdict == Verdict::deny_silent);  // the notice was less than a window ago
    CHECK(next.retry_after == 900ms);             // until the command at t0 + 1s expires
}

TEST_CASE("After the window passes the sender is allowed again, and notified again",
          "[rate_limiter]") {
    RateLimiter limiter(5, 60s);
    verdicts(limiter, 1, t0, 10, 1s);
    const auto again = t0 + 9s + 60s;
    CHECK(verdicts(limiter, 1, again, 7, 1s) ==
          std::vector<Verdict>{Verdict::allow, Verdict::allow, Verdict::allow, Verdict::allow,
                               Verdict::allow, Verdict::deny_notify, Verdict::deny_silent});
}

TEST_CASE("A sender pacing just over the limit gets one notice per window", "[rate_limiter]") {
    RateLimiter limiter(2, 10s);
    int notices = 0;
    int allowed = 0;
    for (int i = 0; i < 60; ++i) {  // one attempt per second for a minute
        const auto verdict = limiter.check(9, t0 + i * 1s).verdict;
        notices += verdict == Verdict::deny_notify;
        allowed += verdict == Verdict::allow;
    }
    CHECK(allowed == 12);  // 2 per 10 s
    CHECK(notices == 6);   // 1 per 10 s

    // A slot frees up between two denials: the second one is still silent, since the
    // notice went out less than a window ago.
    RateLimiter burst(2, 10s);
    std::vector<Verdict> got;
    for (const auto at : {0s, 5s, 6s, 10s, 11s, 15s, 16s})
        got.push_back(burst.check(9, t0 + at).verdict);
    CHECK(got == std::vector<Verdict>{Verdict::allow, Verdict::allow, Verdict::deny_notify,
                                      Verdict::allow, Verdict::deny_silent, Verdict::allow,
                                      Verdict::deny_notify});
}

TEST_CASE("Senders are limited independently", "[rate_limiter]") {
    RateLimiter limiter(2, 60s);
    CHECK(limiter.check(1, t0).verdict == Verdict::allow);
    CHECK(limiter.check(1, t0 + 1s).verdict == Verdict::allow);
    CHECK(limiter.check(1, t0 + 2s).verdict == Verdict::deny_notify);
    CHECK(limiter.check(2, t0 + 3s).verdict == Verdict::allow);
    CHECK(limiter.check(2, t0 + 4s).verdict == Verdict::allow);
    CHECK(limiter.check(2, t0 + 5s).verdict == Verdict::deny_notify);
    CHECK(limiter.check(1, t0 + 6s).verdict == Verdict::deny_silent);
    CHECK(limiter.tracked_senders() == 2);
}

TEST_CASE("Idle senders are forgotten, active ones kept", "[rate_limiter]") {
    RateLimiter limiter(1, 60s);
    limiter.check(1, t0);
    limiter.check(2, t0 + 30s);
    limiter.check(2, t0 + 31s);  // denied, but seen
    limiter.forget_idle(t0 + 59s);
    CHECK(limiter.tracked_senders() == 2);
    limiter.forget_idle(t0 + 60s);
    CHECK(limiter.tracked_senders() == 1);
    // Forgetting changes nothing: sender 1's command had left the window anyway.
    CHECK(limiter.check(1, t0 + 60s).verdict == Verdict::allow);
    limiter.forget_idle(t0 + 200s);
    CHECK(limiter.tracked_senders() == 0);
}

TEST_CASE("Past the sender cap the least recently seen sender is evicted", "[rate_limiter]") {
    RateLimiter limiter(1, 60s, 3);
    limiter.check(1, t0);
    limiter.check(2, t0 + 1s);
    limiter.check(3, t0 + 2s);
    CHECK(limiter.check(1, t0 + 3s).verdict == Verdict::deny_notify);  // 1 is now the newest
    limiter.check(4, t0 + 4s);                                         // evicts 2
    CHECK(limiter.tracked_senders() == 3);
    CHECK(limiter.check(1, t0 + 5s).verdict == Verdict::deny_silent);  // still tracked
    CHECK(limiter.check(3, t0 + 6s).verdict == Verdict::deny_notify);  // still tracked
    CHECK(limiter.check(2, t0 + 7s).verdict == Verdict::allow);        // forgotten: fresh
    CHECK(limiter.tracked_senders() == 3);

    RateLimiter big(1, 60s, 10'000);
    for (std::uint32_t sender = 0; sender < 25'000; ++sender)
        big.check(sender, t0 + std::chrono::milliseconds(sender));
    CHECK(big.tracked_senders() == 10'000);
}

TEST_CASE("Nonsense settings are refused", "[rate_limiter]") {
    CHECK_THROWS_AS(RateLimiter(0, 60s), std::invalid_argument);
    CHECK_THROWS_AS(RateLimiter(5, 0s), std::invalid_argument);
    CHECK_THROWS_AS(RateLimiter(5, -1s), std::invalid_argument);
    CHECK_THROWS_AS(RateLimiter(5, 60s, 0), std::invalid_argument);
}
