#include "radio/warning_throttle.hpp"

namespace meshbot::radio {

WarningThrottle::WarningThrottle(boost::asio::any_io_executor executor,
                                 std::chrono::steady_clock::duration period, Summary summary)
    : period_(period), summary_(std::move(summary)), timer_(executor) {}

bool WarningThrottle::allow() {
    ++total_;
    if (!quiet_) {
        quiet_ = true;
        arm();
        return true;
    }
    ++held_back_;
    return false;
}

void WarningThrottle::arm() {
    timer_.expires_after(period_);
    // The timer dies with this object and cancels the wait, so `this` outlives the handler's
    // use of it (it returns at once on operation_aborted).
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (held_back_ == 0) {  // a quiet period: the next occurrence is news again
            quiet_ = false;
            return;
        }
        const auto repeats = std::exchange(held_back_, 0);
        arm();  // a stream that goes on gets one summary per period
        if (summary_) summary_(repeats, period_);
    });
}

}  // namespace meshbot::radio
