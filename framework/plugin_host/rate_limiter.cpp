#include "plugin_host/rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>

namespace meshbot::plugins {

RateLimiter::RateLimiter(unsigned limit, Clock::duration window, std::size_t max_senders)
    : limit_(limit), window_(window), max_senders_(max_senders) {
    if (limit == 0) throw std::invalid_argument("rate limit: limit must be at least 1");
    if (window <= Clock::duration::zero())
        throw std::invalid_argument("rate limit: window must be positive");
    if (max_senders == 0) throw std::invalid_argument("rate limit: max_senders must be >= 1");
}

RateLimiter::Decision RateLimiter::check(std::uint32_t sender, Clock::time_point now) {
    if (const auto found = index_.find(sender); found != index_.end()) {
        by_recency_.splice(by_recency_.begin(), by_recency_, found->second);
    } else {
        if (index_.size() >= max_senders_) {
            index_.erase(by_recency_.back().id);
            by_recency_.pop_back();
        }
        by_recency_.emplace_front();
        by_recency_.front().id = sender;
        index_.emplace(sender, by_recency_.begin());
    }
    Sender& s = by_recency_.front();
    s.last_seen = now;

    // A command stops counting once a whole window has passed since it ran.
    const auto still_counts = std::find_if(s.counted.begin(), s.counted.end(),
                                           [&](Clock::time_point t) { return now - t < window_; });
    s.counted.erase(s.counted.begin(), still_counts);

    if (s.counted.size() < limit_) {
        s.counted.push_back(now);
        return {Verdict::allow, Clock::duration::zero()};
    }
    const auto retry_after =
        std::clamp(s.counted.front() + window_ - now, Clock::duration::zero(), window_);
    // At most one notice per window, however the sender paces its attempts.
    if (!s.notified_at || now - *s.notified_at >= window_) {
        s.notified_at = now;
        return {Verdict::deny_notify, retry_after};
    }
    return {Verdict::deny_silent, retry_after};
}

void RateLimiter::forget_idle(Clock::time_point now) {
    // Idle for a window means every counted command and the last notice are older than a
    // window: forgetting the sender changes no future decision.
    while (!by_recency_.empty() && now - by_recency_.back().last_seen >= window_) {
        index_.erase(by_recency_.back().id);
        by_recency_.pop_back();
    }
}

}  // namespace meshbot::plugins
