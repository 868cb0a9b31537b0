#pragma once
// Everything the monitor says, as text: the one-part /sys line, the full /status report, and
// the alert messages. Pure functions of the figures, so the byte budgets are unit-tested.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <meshbot/sdk/values.hpp>

#include "host_metrics.hpp"
#include "metrics.hpp"
#include "thresholds.hpp"
#include "watched_nodes.hpp"

namespace monitor {

// One text part on the mesh: the host's chunk size, which /sys and alerts must fit in whole.
inline constexpr std::size_t kPartBytes = 200;

// What the host tells about the radio side. Either may be missing.
struct RadioFigures {
    std::optional<meshbot::Status> status;
    std::optional<meshbot::DeviceMetrics> self_metrics;  // our own node's telemetry
    std::optional<std::int64_t> down_for;                // seconds, while the link is down
};

struct ThresholdLine {
    const MetricInfo* metric;
    Level level;
    std::optional<double> value;
};

struct WatchLine {
    std::string name;  // short name, or the last four hex digits
    std::string id;    // "!10000002"
    WatchedNodes::View state;
};

// "42s", "5m", "2h5m", "3d4h".
std::string format_duration(std::int64_t seconds);
// A metric's value with its unit: "61.2C", "87%", "0.30", "5m".
std::string format_value(const MetricInfo& metric, double value);
// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
std::string fit_bytes(std::string text, std::size_t max);
// Joins lines with "; " into as few texts of at most `max` bytes as possible.
std::vector<std::string> pack_lines(const std::vector<std::string>& lines, std::size_t max);

// The compact health line: always one part.
std::string sys_line(const HostFigures& host, const RadioFigures& radio, std::int64_t now,
                     const std::vector<std::string_view>& alerting);
// The full picture, several lines; the host splits it into parts.
std::string status_report(const HostFigures& host, const RadioFigures& radio, std::int64_t now,
                          const std::vector<ThresholdLine>& thresholds,
                          const std::vector<WatchLine>& watched);

std::string threshold_message(const MetricInfo& metric, const ThresholdSpec& spec,
                              const ThresholdEvent& event);
std::string watch_message(const WatchEvent& event, std::string_view name, std::string_view id,
                          std::int64_t offline_after);

}  // namespace monitor
