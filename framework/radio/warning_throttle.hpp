#pragma once
// A warning that can come in bursts (a frame per 20 ms, a refused text per command): the first
// is logged in full, the rest are counted and reported as one summary per period.

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

namespace meshbot::radio {

// Owns the count and the timer of one kind of warning; io_context thread only.
class WarningThrottle {
public:
    // Called at the end of a period in which `repeats` further occurrences were held back.
    using Summary =
        std::function<void(std::uint64_t repeats, std::chrono::steady_clock::duration period)>;

    WarningThrottle(boost::asio::any_io_executor executor,
                    std::chrono::steady_clock::duration period, Summary summary);
    WarningThrottle(const WarningThrottle&) = delete;
    WarningThrottle& operator=(const WarningThrottle&) = delete;

    // True: log this occurrence in full now. False: it is counted for the next summary.
    bool allow();
    std::uint64_t total() const { return total_; }

private:
    void arm();

    std::chrono::steady_clock::duration period_;
    Summary summary_;
    boost::asio::steady_timer timer_;
    bool quiet_ = false;  // within a period that began with an occurrence logged in full
    std::uint64_t held_back_ = 0;
    std::uint64_t total_ = 0;
};

}  // namespace meshbot::radio
