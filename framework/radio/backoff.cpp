#include "radio/backoff.hpp"

#include <algorithm>

namespace meshbot::radio {

Backoff::Backoff(Duration initial, Duration max, std::uint64_t seed)
    : initial_(initial), max_(std::max(max, initial)), base_(initial), rng_(seed) {}

Backoff::Duration Backoff::next() {
    std::uniform_real_distribution<double> jitter(0.75, 1.0);
    const Duration delay = base_ * jitter(rng_);
    base_ = std::min(base_ * 2, max_);
    ++attempts_;
    return delay;
}

void Backoff::reset() {
    base_ = initial_;
    attempts_ = 0;
}

}  // namespace meshbot::radio
