#include "monitor_config.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace monitor {

namespace {

[[noreturn]] void bad(std::string_view key, std::string_view why) {
    throw std::runtime_error("config key '" + std::string(key) + "' " + std::string(why));
}

std::int64_t seconds_key(const meshbot::Config& config, const std::string& key,
                         std::int64_t fallback, std::int64_t min) {
    const auto v = config.get_or<std::int64_t>(key, fallback);
    if (v < min) bad(key, "must be at least " + std::to_string(min) + " (seconds)");
    return v;
}

std::vector<std::uint32_t> node_list(const meshbot::Config& config, const std::string& key) {
    std::vector<std::uint32_t> out;
    for (const auto& text : config.get_or<std::vector<std::string>>(key, {})) {
        const auto num = parse_node_id(text);
        if (!num) bad(key, "holds '" + text + "', which is not a node id like \"!10000002\"");
        if (std::find(out.begin(), out.end(), *num) == out.end()) out.push_back(*num);
    }
    return out;
}

// The type of [plugins.monitor] <path>. The SDK's Config reads scalars and arrays only, so
// tables are found through the C table directly (a documented ABI call, nothing private).
mb_value_type value_type(const meshbot::Host& host, const std::string& path) {
    mb_value v{};
    v.struct_size = sizeof v;
    if (host.api()->config_get(host.handle(), mb_str{path.data(), path.size()}, &v) != MB_OK) {
        return MB_VALUE_NONE;
    }
    return v.type;
}

ThresholdSpec threshold(const meshbot::Host& host, const MetricInfo& m) {
    ThresholdSpec spec;
    const std::string table = "thresholds." + std::string(m.name);
    const auto& config = host.config();
    const auto type = value_type(host, table);
    if (type == MB_VALUE_NONE) return spec;  // no table: this figure is not judged
    if (type != MB_VALUE_TABLE) bad(table, "must be a table such as { warn = 60.0 }");
    spec.enabled = config.get_or<bool>(table + ".enabled", true);
    spec.below = m.below;
    spec.warn = config.get_or<double>(table + ".warn", m.warn);
    spec.warn_for = Seconds(seconds_key(config, table + ".warn_for", m.warn_for, 0));
    spec.cooldown = Seconds(seconds_key(config, table + ".cooldown", m.cooldown, 0));
    // critical = false: this figure only ever warns.
    if (value_type(host, table + ".critical") == MB_VALUE_BOOL) {
        if (config.get<bool>(table + ".critical").value()) {
            bad(table + ".critical", "must be a number, or false for no critical level");
        }
        return spec;
    }
    spec.critical = config.get_or<double>(table + ".critical", m.critical);
    // A critical level on the good side of the warning level could never be reached in order.
    if (m.below ? *spec.critical > spec.warn : *spec.critical < spec.warn) {
        bad(table + ".critical", m.below ? "must not be above warn" : "must not be below warn");
    }
    return spec;
}

}  // namespace

std::optional<std::uint32_t> parse_node_id(std::string_view text) {
    int base = 10;
    if (text.size() == 9 && text.front() == '!') {
        text.remove_prefix(1);
        base = 16;
    } else if (text.size() > 2 && (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X")) {
        text.remove_prefix(2);
        base = 16;
    }
    std::uint32_t num = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), num, base);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (num == 0 || num == 0xFFFFFFFFu) return std::nullopt;  // nobody, broadcast
    return num;
}

MonitorConfig load_config(const meshbot::Host& host) {
    const auto& config = host.config();
    MonitorConfig c;
    c.check_interval = std::chrono::seconds(seconds_key(config, "check_interval", 30, 1));
    c.roots.proc = config.get_or("proc_root", "/proc");
    c.roots.sys = config.get_or("sys_root", "/sys");
    c.alert_nodes = node_list(config, "alert_nodes");
    c.watch = node_list(config, "watch");
    c.watch_settings.offline_after = seconds_key(config, "offline_after", 900, 1);
    c.watch_settings.cooldown = seconds_key(config, "watch_cooldown", 600, 0);

    const auto probe = seconds_key(config, "probe_interval", 0, 0);
    c.probe_interval = std::chrono::seconds(probe);
    if (probe > 0 && probe < kMinProbeInterval.count()) {
        c.probe_interval = kMinProbeInterval;
        c.warnings.push_back("probe_interval = " + std::to_string(probe) +
                             " is below the minimum of " +
                             std::to_string(kMinProbeInterval.count()) +
                             " s (each probe is a DM on the air); using " +
                             std::to_string(kMinProbeInterval.count()));
    }
    if (c.probe_interval.count() > 0 && c.watch.empty()) {
        c.warnings.push_back("probe_interval is set but watch is empty: nothing to probe");
    }
    for (const auto& m : kMetrics)
        c.thresholds[static_cast<std::size_t>(m.metric)] = threshold(host, m);
    return c;
}

}  // namespace monitor
