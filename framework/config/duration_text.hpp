#pragma once
// Durations as people write them, for every log line, status text and config message:
// "250 ms", "1.5 s", "30 s", "1 min 30 s", "2 h".

#include <chrono>
#include <string>

namespace meshbot::config {

std::string duration_text(std::chrono::duration<double> d);

template <typename Rep, typename Period>
std::string duration_text(std::chrono::duration<Rep, Period> d) {
    return duration_text(std::chrono::duration_cast<std::chrono::duration<double>>(d));
}

}  // namespace meshbot::config
