#pragma once
// A cap on the lines per second one plugin may put into the bot's log (its log() calls, its
// runner's stdout and stderr), so that a chatty or hostile plugin cannot flood the log.

#include <chrono>
#include <cstddef>

namespace meshbot::plugins {

// The longest line of a plugin's that reaches the log; the rest of it is cut.
inline constexpr std::size_t kMaxLogLineBytes = 1000;

// Counts lines in one-second windows. Owned by one source; io_context thread only.
class LineBudget {
public:
    static constexpr unsigned kLinesPerSecond = 100;

    // True when the line may be logged. When a new window starts, `dropped` is set to the number
    // of lines refused in the one before (0 when none), for the caller to report once.
    bool take(std::chrono::steady_clock::time_point now, unsigned& dropped) {
        dropped = 0;
        if (now - window_ >= std::chrono::seconds(1)) {
            dropped = refused_;
            window_ = now;
            lines_ = 0;
            refused_ = 0;
        }
        if (++lines_ <= kLinesPerSecond) return true;
        ++refused_;
        return false;
    }

private:
    std::chrono::steady_clock::time_point window_{};
    unsigned lines_ = 0;
    unsigned refused_ = 0;
};

}  // namespace meshbot::plugins
