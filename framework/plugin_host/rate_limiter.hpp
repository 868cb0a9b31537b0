#pragma once
// Per-sender rate limit with one "slow down" notice (docs/architecture.md, "Commands and replies").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace meshbot::plugins {

// Sliding window: a sender may run `limit` commands in any span of `window`. Only allowed
// commands count, so a sender who keeps typing while denied is not locked out longer.
// Owns the recent command times of every sender it has seen lately; io_context thread only.
//
// Memory stays bounded on a mesh where anyone can make up node numbers: a sender idle for a
// whole window is forgotten by forget_idle() (nothing it did still counts), and past
// `max_senders` the least recently seen sender is evicted on the spot.
class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    enum class Verdict {
        allow,
        deny_notify,  // the first denial in a window: tell the sender when to retry, once
        deny_silent,  // further denials: every reply costs airtime, so say nothing
    };
    struct Decision {
        Verdict verdict;
        Clock::duration retry_after;  // zero when allowed; else until the oldest counted
                                      // command leaves the window
    };

    // Throws std::invalid_argument for a zero limit, a non-positive window or no senders.
    RateLimiter(unsigned limit, Clock::duration window, std::size_t max_senders = 10'000);

    // Decides on one command from `sender` at `now` and records it when allowed. `now`
    // must not go backwards between calls (steady_clock does not).
    Decision check(std::uint32_t sender, Clock::time_point now);

    // Drops every sender not seen for at least a window; call it from a periodic timer.
    void forget_idle(Clock::time_point now);

    std::size_t tracked_senders() const { return index_.size(); }

private:
    struct Sender {
        std::uint32_t id = 0;
        std::vector<Clock::time_point> counted;  // allowed commands still in the window
        std::optional<Clock::time_point> notified_at;
        Clock::time_point last_seen;
    };
    using List = std::list<Sender>;

    unsigned limit_;
    Clock::duration window_;
    std::size_t max_senders_;
    List by_recency_;  // most recently seen first, so the idle and the evictable are at the back
    std::unordered_map<std::uint32_t, List::iterator> index_;
};

}  // namespace meshbot::plugins
