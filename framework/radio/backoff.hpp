#pragma once
// Reconnect delays: exponential with jitter, capped.

#include <chrono>
#include <cstdint>
#include <random>

namespace meshbot::radio {

// Delay n is base_n * U(0.75, 1] with base_n = initial * 2^n capped at max, so delays grow
// while two bots restarting together still spread out. Owned by one link (io_context thread).
class Backoff {
public:
    using Duration = std::chrono::duration<double>;

    Backoff(Duration initial, Duration max, std::uint64_t seed);

    Duration next();  // the delay before the next attempt; grows until the cap
    void reset();
    unsigned attempts() const { return attempts_; }

private:
    Duration initial_;
    Duration max_;
    Duration base_;
    unsigned attempts_ = 0;
    std::mt19937_64 rng_;
};

}  // namespace meshbot::radio
