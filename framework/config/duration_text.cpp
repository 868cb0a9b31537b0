#include "config/duration_text.hpp"

#include <cmath>
#include <cstdio>

namespace meshbot::config {

namespace {

// `value` with at most one decimal, and none when it would be ".0".
std::string number(double value) {
    char text[32];
    const double tenths = std::round(value * 10) / 10;
    if (tenths == std::floor(tenths))
        std::snprintf(text, sizeof text, "%.0f", tenths);
    else
        std::snprintf(text, sizeof text, "%.1f", tenths);
    return text;
}

// "1 h 30 min" / "2 h": a larger unit and, when not zero, the whole count of the smaller one.
std::string two_units(long long total, long long per, const char* big, const char* small) {
    const long long whole = total / per;
    const long long rest = total % per;
    std::string out = std::to_string(whole) + " " + big;
    if (rest != 0) out += " " + std::to_string(rest) + " " + small;
    return out;
}

}  // namespace

std::string duration_text(std::chrono::duration<double> d) {
    const double s = d.count();
    if (!std::isfinite(s)) return "forever";
    if (s < 0) return "-" + duration_text(std::chrono::duration<double>(-s));
    if (s == 0) return "0 s";
    // Below a second: whole milliseconds, with one decimal only below 10 ms.
    const double ms = s * 1000;
    if (ms < 9.95) return number(ms) + " ms";
    if (std::llround(ms) < 1000) return std::to_string(std::llround(ms)) + " ms";
    if (std::round(s * 10) / 10 < 60) return number(s) + " s";
    const auto whole = std::llround(s);
    if (whole < 3600) return two_units(whole, 60, "min", "s");
    return two_units(whole / 60, 60, "h", "min");
}

}  // namespace meshbot::config
