#include "status_text.hpp"

#include <meshbot/sdk/utf8.hpp>

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace monitor {

namespace {

constexpr std::string_view kNa = "n/a";

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
    char buffer[128];
    va_list args;
    va_start(args, format);
    const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    if (n < 0) return {};
    return std::string(buffer,
                       std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buffer - 1));
}

std::string fixed(double value, int decimals) {
    return printf_string("%.*f", decimals, value);
}

template <typename T, typename Fn>
std::string or_na(const std::optional<T>& value, Fn fn) {
    return value ? fn(*value) : std::string(kNa);
}

// "1.2G", "312M", "900K" from kilobytes.
std::string human_kb(std::uint64_t kb) {
    const double v = static_cast<double>(kb);
    if (v >= 1024.0 * 1024.0) return fixed(v / (1024.0 * 1024.0), 1) + "G";
    if (v >= 1024.0) return fixed(v / 1024.0, v >= 10240.0 ? 0 : 1) + "M";
    return std::to_string(kb) + "K";
}

std::string battery_text(const meshbot::DeviceMetrics& m) {
    // Above 100 the firmware means "externally powered", not a percentage.
    if (m.battery_level > 100) return "ext";
    if (m.battery_level == 0 && m.voltage == 0) return std::string(kNa);
    return std::to_string(m.battery_level) + "%";
}

std::int64_t age(std::uint64_t then, std::int64_t now) {
    return then == 0 ? 0 : std::max<std::int64_t>(now - static_cast<std::int64_t>(then), 0);
}

std::string bot_uptime(const RadioFigures& radio, std::int64_t now) {
    if (!radio.status || radio.status->started_at == 0) return std::string(kNa);
    return format_duration(age(radio.status->started_at, now));
}

std::string down_for(const RadioFigures& radio) {
    return radio.down_for ? " " + format_duration(*radio.down_for) : std::string();
}

}  // namespace

std::string format_duration(std::int64_t s) {
    if (s < 0) s = 0;
    if (s < 60) return std::to_string(s) + "s";
    if (s < 3600) return std::to_string(s / 60) + "m";
    if (s < 86400) {
        const auto m = (s % 3600) / 60;
        return std::to_string(s / 3600) + "h" + (m ? std::to_string(m) + "m" : "");
    }
    const auto h = (s % 86400) / 3600;
    return std::to_string(s / 86400) + "d" + (h ? std::to_string(h) + "h" : "");
}

std::string format_value(const MetricInfo& metric, double value) {
    if (metric.unit == "s") return format_duration(std::llround(value));
    return fixed(value, metric.decimals) + std::string(metric.unit);
}

std::string fit_bytes(std::string text, std::size_t max) {
    if (text.size() <= max) return text;
    text.resize(meshbot::utf8::boundary_at_or_before(text, max));
    return text;
}

std::vector<std::string> pack_lines(const std::vector<std::string>& lines, std::size_t max) {
    std::vector<std::string> out;
    for (const auto& raw : lines) {
        const std::string line = fit_bytes(raw, max);
        if (!out.empty() && out.back().size() + 2 + line.size() <= max) {
            out.back() += "; " + line;
        } else {
            out.push_back(line);
        }
    }
    return out;
}

std::string sys_line(const HostFigures& h, const RadioFigures& radio, std::int64_t now,
                     const std::vector<std::string_view>& alerting) {
    std::string out;
    out +=
        "up " + or_na(h.host_uptime_s, [](double s) { return format_duration(std::llround(s)); });
    out += " cpu " + or_na(h.cpu_temp_c, [](double c) { return fixed(c, 0) + "C"; });
    out += " load " + or_na(h.load1, [](double l) { return fixed(l, 2); });
    out += " mem " + or_na(h.mem_used_pct, [](double p) { return fixed(p, 0) + "%"; });
    out += " disk " + or_na(h.disk_free_pct, [](double p) { return fixed(p, 0) + "% free"; });
    out += "; bot " + bot_uptime(radio, now);
    out += " " + or_na(h.bot_rss_kb, [](std::uint64_t kb) { return human_kb(kb); });
    out += " " + or_na(h.bot_cpu_pct, [](double p) { return fixed(p, 0) + "%"; });

    out += "; radio ";
    if (!radio.status) {
        out += kNa;
    } else if (radio.status->link_up) {
        out += "ok " + format_duration(age(radio.status->connected_since, now));
        if (radio.status->reconnects() > 0)
            out += " (" + std::to_string(radio.status->reconnects()) + " rc)";
    } else {
        out += "DOWN" + down_for(radio);
    }
    if (radio.status) out += ", " + std::to_string(radio.status->nodes_known) + " nodes";
    if (radio.self_metrics) {
        out += ", bat " + battery_text(*radio.self_metrics);
        out += ", ch " + fixed(radio.self_metrics->channel_utilization, 0) + "%";
    }
    if (!alerting.empty()) {
        std::string list = "; ALERT";
        for (const auto name : alerting)
            list += " " + std::string(name);
        // The alert names matter more than the tail of the figures: keep them whole.
        if (out.size() + list.size() > kPartBytes)
            out = fit_bytes(out, kPartBytes - std::min(list.size(), kPartBytes));
        out += list;
    }
    return fit_bytes(out, kPartBytes);
}

std::string status_report(const HostFigures& h, const RadioFigures& radio, std::int64_t now,
                          const std::vector<ThresholdLine>& thresholds,
                          const std::vector<WatchLine>& watched) {
    std::string out;
    out += "host: up " +
           or_na(h.host_uptime_s, [](double s) { return format_duration(std::llround(s)); });
    out += ", cpu " + or_na(h.cpu_temp_c, [](double c) { return fixed(c, 1) + "C"; });
    out += ", load ";
    out += h.load1 ? fixed(*h.load1, 2) + "/" + fixed(h.load5.value_or(0), 2) + "/" +
                         fixed(h.load15.value_or(0), 2)
                   : std::string(kNa);
    out += ", mem ";
    out += h.mem_used_pct ? human_kb(*h.mem_used_kb) + "/" + human_kb(*h.mem_total_kb) + " (" +
                                fixed(*h.mem_used_pct, 0) + "%)"
                          : std::string(kNa);
    out += ", disk ";
    out += h.disk_free_pct
               ? human_kb(*h.disk_free_bytes / 1024) + " free (" + fixed(*h.disk_free_pct, 0) + "%)"
               : std::string(kNa);

    out += "\nbot: up " + bot_uptime(radio, now);
    out += ", rss " + or_na(h.bot_rss_kb, [](std::uint64_t kb) { return human_kb(kb); });
    out += ", cpu " + or_na(h.bot_cpu_pct, [](double p) { return fixed(p, 1) + "%"; });
    out += ", threads " + or_na(h.bot_threads, [](std::uint32_t n) { return std::to_string(n); });

    if (const auto& s = radio.status) {
        out += "\nradio: ";
        out += s->link_up ? "up " + format_duration(age(s->connected_since, now))
                          : "DOWN" + down_for(radio);
        out += ", " + std::to_string(s->reconnects()) + " reconnects";
        out += ", last rx " +
               (s->last_rx ? format_duration(age(s->last_rx, now)) + " ago" : std::string("never"));
        out += ", frames " + std::to_string(s->frames_in) + " in/" + std::to_string(s->frames_out) +
               " out";
        out += ", tx queue " + std::to_string(s->radio_queue_free) + "/" +
               std::to_string(s->radio_queue_max) + " free";
        out += ", outbox " + std::to_string(s->outbox_pending);
        out += "\nkeys: " + std::to_string(s->key_checks_run) + " checks (" +
               std::to_string(s->key_checks_skipped) + " skipped), " +
               std::to_string(s->keys_pushed) + " pushed, " + std::to_string(s->key_pushes_failed) +
               " failed, " + std::to_string(s->key_changes) + " changed";
        out += "\nnodes: " + std::to_string(s->nodes_known) + " known, " +
               std::to_string(s->nodes_on_radio) + " on radio";
    } else {
        out += "\nradio: n/a";
    }
    if (const auto& m = radio.self_metrics) {
        out += "\nown node: bat " + battery_text(*m);
        if (m->voltage > 0) out += " " + fixed(m->voltage, 2) + "V";
        out += ", ch util " + fixed(m->channel_utilization, 1) + "%";
        out += ", air tx " + fixed(m->air_util_tx, 1) + "%";
        if (m->uptime_seconds) out += ", up " + format_duration(m->uptime_seconds);
    } else {
        out += "\nown node: no telemetry yet";
    }

    std::string alerts;
    for (const auto& t : thresholds) {
        if (t.level == Level::ok) continue;
        alerts += (alerts.empty() ? "" : ", ") + std::string(t.metric->name) + " " +
                  std::string(level_name(t.level)) +
                  (t.value ? " " + format_value(*t.metric, *t.value) : std::string());
    }
    out += "\nalerts: " + (alerts.empty() ? std::string("none") : alerts) + " (" +
           std::to_string(thresholds.size()) + " checked)";

    if (!watched.empty()) {
        out += "\nwatch:";
        for (const auto& w : watched) {
            out += " " + w.name + (w.state.offline ? " OFFLINE " : " ");
            out += w.state.heard_ever ? format_duration(now - w.state.last_heard) + " ago"
                                      : std::string("not heard");
            out += ";";
        }
        out.pop_back();
    }
    return out;
}

std::string threshold_message(const MetricInfo& metric, const ThresholdSpec& spec,
                              const ThresholdEvent& event) {
    const std::string value = format_value(metric, event.value);
    const char* op = spec.below ? "<=" : ">=";
    std::string out;
    switch (event.kind) {
        case ThresholdEvent::Kind::warning:
            out = "WARNING " + std::string(metric.label) + " " + value + " (" + op + " " +
                  format_value(metric, spec.warn);
            if (event.bad_for.count() > 0) out += " for " + format_duration(event.bad_for.count());
            out += ")";
            break;
        case ThresholdEvent::Kind::critical:
            out = "CRITICAL " + std::string(metric.label) + " " + value + " (" + op + " " +
                  format_value(metric, spec.critical.value_or(spec.warn)) + ")";
            break;
        case ThresholdEvent::Kind::recovered:
            // "radio link down back to 0s" would read oddly: the link is simply up again.
            out = metric.metric == Metric::link_down
                      ? std::string("OK radio link up again")
                      : "OK " + std::string(metric.label) + " back to " + value;
            break;
    }
    return fit_bytes(out, kPartBytes);
}

std::string watch_message(const WatchEvent& event, std::string_view name, std::string_view id,
                          std::int64_t offline_after) {
    std::string who = std::string(name) + " " + std::string(id);
    std::string out;
    switch (event.kind) {
        case WatchEvent::Kind::offline:
            out = who + " offline: not heard for " + format_duration(event.silent_for) +
                  " (limit " + format_duration(offline_after) + ")";
            break;
        case WatchEvent::Kind::back_online:
            out = who + " back online after " + format_duration(event.silent_for) + " silent";
            break;
        case WatchEvent::Kind::rebooted:
            out = who + " rebooted: uptime " + format_duration(event.uptime) + ", was " +
                  format_duration(event.previous_uptime);
            break;
    }
    return fit_bytes(out, kPartBytes);
}

}  // namespace monitor
