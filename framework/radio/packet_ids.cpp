#include "radio/packet_ids.hpp"

#include <random>

namespace meshbot::radio {

namespace {
constexpr std::uint32_t kCounterBits = 10;
constexpr std::uint32_t kCounterMask = (1u << kCounterBits) - 1;
constexpr std::uint32_t kHighMask = (1u << (32 - kCounterBits)) - 1;
}  // namespace

PacketIdGenerator::PacketIdGenerator(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    counter_ = static_cast<std::uint32_t>(rng()) & kCounterMask;
    high_ = static_cast<std::uint32_t>(rng()) & kHighMask;
    // x -> a*x + c (mod 2^22) visits every value once per period when a = 1 (mod 4) and c is odd.
    high_mul_ = ((static_cast<std::uint32_t>(rng()) & kHighMask) & ~3u) | 1u;
    high_step_ = (static_cast<std::uint32_t>(rng()) & kHighMask) | 1u;
}

std::uint32_t PacketIdGenerator::next() {
    for (;;) {
        const std::uint32_t id = (high_ << kCounterBits) | counter_;
        counter_ = (counter_ + 1) & kCounterMask;
        if (counter_ == 0) high_ = (high_ * high_mul_ + high_step_) & kHighMask;
        if (id != 0) return id;
    }
}

}  // namespace meshbot::radio
