#pragma once
// The remote plugin's text helpers: safe UTF-8 (names come from the mesh and may be anything),
// cutting by bytes at code point boundaries, and the short forms its replies use for ages,
// durations, SNR and distances. Pure functions, header-only so unit tests can use them.

#include <meshbot/sdk/utf8.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace remote {

inline bool is_valid_utf8(std::string_view s) {
    return meshbot::utf8::valid(s);
}

// `s` as valid UTF-8 on one line: invalid bytes and control characters become '?', so a name a
// node chose can neither break a reply's encoding nor its line layout.
inline std::string clean_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = meshbot::utf8::sequence_length(s, i);
        const auto c = static_cast<unsigned char>(s[i]);
        if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
            out.push_back('?');
            i += n == 0 ? 1 : n;
            continue;
        }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

// The longest prefix of valid UTF-8 `s` that fits `max_bytes` without splitting a code point.
inline std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
    return meshbot::utf8::prefix(s, max_bytes);
}

// "45s", "5m", "3h", "2d": how long ago, in its largest whole unit.
inline std::string format_age(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 60) return std::to_string(seconds) + "s";
    if (seconds < 3600) return std::to_string(seconds / 60) + "m";
    if (seconds < 86400) return std::to_string(seconds / 3600) + "h";
    return std::to_string(seconds / 86400) + "d";
}

// "3d4h", "4h12m", "12m", "45s": an uptime, to two units.
inline std::string format_duration(std::uint64_t seconds) {
    const std::uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60;
    if (d > 0) return std::to_string(d) + "d" + std::to_string(h) + "h";
    if (h > 0) return std::to_string(h) + "h" + std::to_string(m) + "m";
    if (m > 0) return std::to_string(m) + "m";
    return std::to_string(seconds) + "s";
}

// SNR in dB at the quarter-dB resolution radios report: "6.0", "5.25", "5.5", "-3.75".
inline std::string format_db(double db) {
    double q = std::round(db * 4.0) / 4.0;
    if (q == 0) q = 0;  // no "-0.0"
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", q);
    std::string s = buf;
    if (s.size() >= 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
    return s;
}

// Numbers with a fixed count of decimals ("4.05", "12.5"), without locale surprises.
inline std::string format_fixed(double v, int decimals) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// Great-circle distance in km between two points given in degrees (haversine, mean radius).
inline double haversine_km(double lat1, double lon1, double lat2, double lon2) {
    constexpr double kEarthRadiusKm = 6371.0088;
    constexpr double kRad = 3.14159265358979323846 / 180.0;
    const double dlat = (lat2 - lat1) * kRad;
    const double dlon = (lon2 - lon1) * kRad;
    const double a =
        std::sin(dlat / 2) * std::sin(dlat / 2) +
        std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
    return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

// "0.85 km", "12.3 km", "151 km": three significant digits or so.
inline std::string format_km(double km) {
    if (km < 1) return format_fixed(km, 2) + " km";
    if (km < 100) return format_fixed(km, 1) + " km";
    return format_fixed(km, 0) + " km";
}

}  // namespace remote
