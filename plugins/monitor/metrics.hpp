#pragma once
// The figures the monitor can alert on: their config names, how they read in a message, and
// their default thresholds (the original bot's 60/68 C over 300 s and 90/150 % CPU, 30-minute
// cooldowns; the rest chosen in the same spirit).

#include <array>
#include <cstddef>
#include <string_view>

namespace monitor {

enum class Metric : std::size_t {
    cpu_temp,
    bot_cpu,
    load,
    mem_used_pct,
    disk_free_pct,
    battery,
    channel_util,
    air_util_tx,
    link_down,
};
inline constexpr std::size_t kMetricCount = 9;

struct MetricInfo {
    Metric metric;
    std::string_view name;   // [plugins.monitor.thresholds.<name>]
    std::string_view label;  // in messages: "cpu temp 61.2C"
    std::string_view unit;   // "C", "%", "" or "s" (shown as a duration)
    int decimals;
    bool below;  // bad when it drops (battery, free disk) rather than when it rises
    double warn;
    int warn_for;  // seconds
    double critical;
    int cooldown;  // seconds
};

inline constexpr std::array<MetricInfo, kMetricCount> kMetrics = {{
    {Metric::cpu_temp, "cpu_temp", "cpu temp", "C", 1, false, 60, 300, 68, 1800},
    {Metric::bot_cpu, "bot_cpu", "bot cpu", "%", 0, false, 90, 300, 150, 1800},
    {Metric::load, "load", "load", "", 2, false, 4, 600, 8, 1800},
    {Metric::mem_used_pct, "mem_used_pct", "mem used", "%", 0, false, 90, 300, 97, 1800},
    {Metric::disk_free_pct, "disk_free_pct", "disk free", "%", 1, true, 10, 0, 3, 1800},
    {Metric::battery, "battery", "battery", "%", 0, true, 20, 300, 10, 1800},
    // Firmware stops its own optional traffic above 25 % (polite) and 40 % channel use.
    {Metric::channel_util, "channel_util", "channel util", "%", 1, false, 25, 600, 40, 1800},
    // EU868 allows a 10 % duty cycle per hour; warn well before the radio is silenced.
    {Metric::air_util_tx, "air_util_tx", "air util tx", "%", 1, false, 7, 600, 10, 1800},
    {Metric::link_down, "link_down", "radio link down", "s", 0, false, 120, 0, 900, 1800},
}};

inline constexpr const MetricInfo& info(Metric m) {
    return kMetrics[static_cast<std::size_t>(m)];
}

}  // namespace monitor
