#pragma once
// Packet ids for packets this process originates.

#include <cstdint>

namespace meshbot::radio {

// Like the firmware: a 10-bit counter in the low bits, 22 random-looking bits above. The upper
// bits walk a full-period sequence (a random start, a random odd step) each time the counter
// wraps, so ids never repeat within 2^32 packets, without remembering the ones handed out.
// Not thread-safe: owned by the outbox on the io_context thread.
class PacketIdGenerator {
public:
    explicit PacketIdGenerator(std::uint64_t seed);
    std::uint32_t next();  // never 0

private:
    std::uint32_t counter_;  // 10 bits
    std::uint32_t high_;     // 22 bits
    std::uint32_t high_mul_;
    std::uint32_t high_step_;
};

}  // namespace meshbot::radio
