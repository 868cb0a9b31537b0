#pragma once
// The [plugins.monitor] table, read once in the plugin's constructor: a bad value throws with
// the key's name, so the plugin does not load (failed_init) instead of misbehaving later.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <meshbot/sdk.hpp>

#include "host_metrics.hpp"
#include "metrics.hpp"
#include "thresholds.hpp"
#include "watched_nodes.hpp"

namespace monitor {

struct MonitorConfig {
    std::chrono::seconds check_interval{30};
    HostRoots roots;
    std::vector<std::uint32_t> alert_nodes;
    std::vector<std::uint32_t> watch;
    WatchSettings watch_settings;
    std::chrono::seconds probe_interval{0};  // 0 = no probes
    std::array<ThresholdSpec, kMetricCount> thresholds{};
    // Values that were adjusted rather than refused; the plugin logs them.
    std::vector<std::string> warnings;
};

// The shortest probe interval accepted: every probe is a PKI DM on the air.
inline constexpr std::chrono::seconds kMinProbeInterval{60};
// Probes are at least this far apart: the firmware drops a client's TELEMETRY packets sent
// within 10 s of the previous one (docs/radio-protocol.md §6.4), silently.
inline constexpr std::chrono::seconds kProbeSpacing{11};

MonitorConfig load_config(const meshbot::Host& host);

// "!10000002" (also "0x10000002" or decimal) -> node number; nullopt when malformed.
std::optional<std::uint32_t> parse_node_id(std::string_view text);

}  // namespace monitor
