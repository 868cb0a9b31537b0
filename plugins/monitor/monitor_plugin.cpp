// The monitor plugin: watches the machine the bot runs on, the radio, and chosen mesh nodes,
// and tells the operators by DM when something goes wrong (and when it is right again).
//
//   /sys     one-part health line, for anyone who DMs the bot
//   /status  the full picture, for admins in PKI DMs
//
// Every period is in real seconds from the config (the original bot counted loop passes).
// File reads run on a post_work worker; all the state lives on the event loop.

#include <meshbot/sdk.hpp>
#include <meshbot/sdk/wire.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host_metrics.hpp"
#include "metrics.hpp"
#include "monitor_config.hpp"
#include "status_text.hpp"
#include "thresholds.hpp"
#include "watched_nodes.hpp"

namespace {

using namespace std::chrono_literals;
using monitor::Clock;

std::int64_t epoch_now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

constexpr auto kProbeTimeout = 60s;
constexpr auto kFirstProbe = 15s;  // let the handshake and the first packets arrive first

// Owns the checks, alerts, watched nodes and the /sys and /status commands; every member
// function runs on the host's event loop (file reads go to post_work and come back).
class MonitorPlugin {
public:
    explicit MonitorPlugin(meshbot::Host& host)
        : host_(host),
          config_(monitor::load_config(host)),
          watched_(config_.watch_settings, config_.watch, epoch_now()) {
        for (const auto& w : config_.warnings)
            host_.warn(w);
        for (std::size_t i = 0; i < monitor::kMetricCount; ++i)
            thresholds_.emplace_back(config_.thresholds[i]);

        const auto status = host_.status();
        if (status) data_dir_ = status->data_dir;
        link_up_ = status && status->link_up;
        if (!link_up_) link_down_since_ = Clock::now();

        // Alerts already sent before a restart: an offline node stays reported until heard.
        for (const auto node : config_.watch) {
            const auto saved = host_.store().get(memory_key(node));
            if (!saved) continue;
            if (const auto memory = monitor::decode_watch_memory(*saved)) {
                watched_.restore(node, *memory);
            }
        }

        nodes_ = host_.on_node_updated([this](const meshbot::NodeInfo& n) { on_node(n); });
        up_ = host_.on_link_up([this] {
            link_up_ = true;
            link_down_since_.reset();
        });
        down_ = host_.on_link_down([this](std::string_view) {
            link_up_ = false;
            if (!link_down_since_) link_down_since_ = Clock::now();
        });

        host_.command({.name = "sys",
                       .help = "host and radio health in one line",
                       .scope = meshbot::Scope::dm},
                      [this](const meshbot::Command& cmd) { request_sample(cmd.event(), false); });
        host_.command({.name = "status",
                       .help = "full health report: host, bot, radio, keys, alerts, watched nodes",
                       .scope = meshbot::Scope::dm,
                       .privileged = true},
                      [this](const meshbot::Command& cmd) { request_sample(cmd.event(), true); });

        check_timer_ = host_.every(config_.check_interval, [this] { check(); });
        if (config_.probe_interval.count() > 0 && !config_.watch.empty()) {
            // Round robin: one node per slot, slots never closer than the firmware allows.
            const auto per_node = config_.probe_interval / config_.watch.size();
            probe_spacing_ = std::max<std::chrono::seconds>(monitor::kProbeSpacing, per_node);
            next_probe_ = Clock::now() + std::min<Clock::duration>(kFirstProbe, probe_spacing_);
            probe_timer_ = host_.every(1s, [this] { probe_tick(); });
        }
        request_sample(std::nullopt, false);  // the baseline for the bot's CPU figure

        host_.info("checking every " + std::to_string(config_.check_interval.count()) +
                   " s: " + std::to_string(enabled_thresholds()) + " thresholds, " +
                   std::to_string(config_.watch.size()) + " watched nodes, alerts to " +
                   std::to_string(config_.alert_nodes.size()) + " nodes");
    }

private:
    // ---- the periodic check

    void check() {
        const auto now = epoch_now();
        // A node record can move without an event (the radio's NodeDB after a reconnect).
        for (const auto node : config_.watch) {
            const auto n = host_.node(node);
            if (n && (n->is_self || (n->last_heard != 0 && n->last_heard != seen_[node]))) {
                on_node(*n);
            }
        }
        report(watched_.check(now));
        check_wanted_ = true;
        request_sample(std::nullopt, false);
    }

    // One host sample at a time, shared by the check and any /sys or /status asked meanwhile.
    void request_sample(std::optional<std::uint64_t> event, bool full) {
        if (event) waiting_.push_back({*event, full});
        if (sampling_) return;
        sampling_ = true;
        if (data_dir_.empty()) {
            if (const auto status = host_.status()) data_dir_ = status->data_dir;
        }
        try {
            host_.post_work([roots = config_.roots,
                             dir = data_dir_] { return monitor::read_host_sample(roots, dir); },
                            [this](monitor::HostSample sample) { on_sample(sample); });
        } catch (const std::exception& e) {
            // No worker: answer from the figures we have rather than never.
            sampling_ = false;
            host_.warn(std::string("cannot sample the host: ") + e.what());
            answer_waiting();
        }
    }

    void on_sample(const monitor::HostSample& sample) {
        sampling_ = false;
        figures_ = monitor::HostFigures::derive(sample, cpu_.update(sample));
        if (check_wanted_) {
            check_wanted_ = false;
            judge();
        }
        answer_waiting();
    }

    void answer_waiting() {
        if (waiting_.empty()) return;
        const auto radio = radio_figures();
        for (const auto& w : std::exchange(waiting_, {})) {
            host_.reply(w.event, w.full ? status_report(radio) : sys_line(radio));
        }
    }

    void judge() {
        using monitor::Metric;
        const auto radio = radio_figures();
        std::array<std::optional<double>, monitor::kMetricCount> values{};
        auto set = [&](Metric m, std::optional<double> v) {
            values[static_cast<std::size_t>(m)] = v;
        };
        set(Metric::cpu_temp, figures_.cpu_temp_c);
        set(Metric::bot_cpu, figures_.bot_cpu_pct);
        set(Metric::load, figures_.load1);
        set(Metric::mem_used_pct, figures_.mem_used_pct);
        set(Metric::disk_free_pct, figures_.disk_free_pct);
        if (const auto& m = radio.self_metrics) {
            // Above 100 means external power; 0 with no voltage means no battery sensing.
            const bool battery_known =
                m->battery_level <= 100 && (m->battery_level > 0 || m->voltage > 0);
            if (battery_known) set(Metric::battery, m->battery_level);
            set(Metric::channel_util, m->channel_utilization);
            set(Metric::air_util_tx, m->air_util_tx);
        }
        const auto now = Clock::now();
        set(Metric::link_down, link_down_since_
                                   ? std::chrono::duration<double>(now - *link_down_since_).count()
                                   : 0.0);

        std::vector<std::string> lines;
        for (const auto& m : monitor::kMetrics) {
            auto& t = thresholds_[static_cast<std::size_t>(m.metric)];
            const auto e = t.update(values[static_cast<std::size_t>(m.metric)], now);
            if (!e) continue;
            auto text = monitor::threshold_message(m, t.spec(), *e);
            if (e->quiet) {
                host_.info("not sent, within cooldown: " + text);
            } else {
                lines.push_back(std::move(text));
            }
        }
        alert(lines);
    }

    // ---- watched nodes

    void on_node(const meshbot::NodeInfo& n) {
        if (!watched_.watches(n.num)) return;
        const auto now = epoch_now();
        std::int64_t at = now;
        if (n.is_self) {
            // Our own radio is never heard from the mesh: it is there while the link is up.
            if (!link_up_) return;
        } else {
            seen_[n.num] = n.last_heard;
            if (n.last_heard) at = std::min<std::int64_t>(n.last_heard, now);
        }
        std::optional<std::uint32_t> uptime;
        if (n.metrics) uptime = n.metrics->uptime_seconds;
        report(watched_.heard(n.num, at, now, uptime));
    }

    void report(const std::vector<monitor::WatchEvent>& events) {
        if (events.empty()) return;
        std::vector<std::string> lines;
        for (const auto& e : events) {
            auto text = monitor::watch_message(e, name_of(e.node), meshbot::node_id(e.node),
                                               config_.watch_settings.offline_after);
            if (e.quiet) {
                host_.info("not sent, within watch_cooldown: " + text);
                continue;
            }
            // Written through, so a restart neither repeats the alert nor forgets to follow
            // "offline" with "back online".
            if (!host_.store().set(memory_key(e.node), monitor::encode(watched_.memory(e.node)))) {
                host_.warn("could not save the alert state of " + meshbot::node_id(e.node) +
                           ": a restart may repeat or miss an alert");
            }
            lines.push_back(std::move(text));
        }
        alert(lines);
    }

    void probe_tick() {
        const auto now = Clock::now();
        if (!link_up_ || now < next_probe_) return;
        next_probe_ = now + probe_spacing_;
        // A node heard lately needs no probe: each one is a DM on the air.
        const auto fresh_for = config_.probe_interval.count() / 2;
        for (std::size_t tried = 0; tried < config_.watch.size(); ++tried) {
            const auto node = config_.watch[probe_next_++ % config_.watch.size()];
            const auto last = watched_.last_heard(node);
            if (last && epoch_now() - *last < fresh_for) continue;
            probe(node);
            return;
        }
    }

    void probe(std::uint32_t node) {
        host_.debug("probing " + meshbot::node_id(node) + " for telemetry");
        host_.send_data({.to = node,
                         .portnum = meshbot::wire::port::telemetry,
                         .payload = meshbot::wire::telemetry_request_device_metrics(),
                         .want_response = true,
                         .timeout = kProbeTimeout},
                        [this, node](const meshbot::SendResult& r) {
                            // Any answer from the node itself (even "no module answered")
                            // proves it is on the air.
                            if (r.status == meshbot::SendResult::Status::response ||
                                (r.from == node && r.status == meshbot::SendResult::Status::nak)) {
                                const auto now = epoch_now();
                                report(watched_.heard(node, now, now, std::nullopt));
                            } else {
                                host_.debug("probe of " + meshbot::node_id(node) +
                                            " got no answer" +
                                            (r.message.empty() ? "" : ": " + r.message));
                            }
                        });
    }

    // ---- output

    void alert(const std::vector<std::string>& lines) {
        if (lines.empty()) return;
        for (const auto& line : lines)
            host_.warn("alert: " + line);
        // Several alerts of one pass share a text where they fit: fewer packets on the air.
        for (const auto& text : monitor::pack_lines(lines, monitor::kPartBytes)) {
            for (const auto node : config_.alert_nodes)
                host_.send_text(meshbot::To{node}, text);
        }
    }

    monitor::RadioFigures radio_figures() const {
        monitor::RadioFigures out;
        out.status = host_.status();
        if (link_down_since_) {
            out.down_for =
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *link_down_since_)
                    .count();
        }
        // Our radio's telemetry says nothing current while the link is down.
        if (link_up_) {
            if (const auto self = host_.self()) out.self_metrics = self->metrics;
        }
        return out;
    }

    std::string sys_line(const monitor::RadioFigures& radio) const {
        std::vector<std::string_view> alerting;
        for (const auto& m : monitor::kMetrics) {
            if (thresholds_[static_cast<std::size_t>(m.metric)].level() != monitor::Level::ok)
                alerting.push_back(m.name);
        }
        return monitor::sys_line(figures_, radio, epoch_now(), alerting);
    }

    std::string status_report(const monitor::RadioFigures& radio) const {
        std::vector<monitor::ThresholdLine> levels;
        for (const auto& m : monitor::kMetrics) {
            const auto& t = thresholds_[static_cast<std::size_t>(m.metric)];
            if (t.spec().enabled) levels.push_back({&m, t.level(), t.last_value()});
        }
        std::vector<monitor::WatchLine> watched;
        for (const auto& v : watched_.view())
            watched.push_back({name_of(v.node), meshbot::node_id(v.node), v});
        return monitor::status_report(figures_, radio, epoch_now(), levels, watched);
    }

    std::string name_of(std::uint32_t node) const {
        if (const auto n = host_.node(node)) return n->display_name();
        return meshbot::default_short_name(node);
    }

    static std::string memory_key(std::uint32_t node) { return "watch:" + meshbot::node_id(node); }

    std::size_t enabled_thresholds() const {
        return static_cast<std::size_t>(
            std::count_if(thresholds_.begin(), thresholds_.end(),
                          [](const auto& t) { return t.spec().enabled; }));
    }

    struct Waiting {
        std::uint64_t event;
        bool full;  // /status rather than /sys
    };

    meshbot::Host& host_;
    monitor::MonitorConfig config_;
    monitor::WatchedNodes watched_;
    std::vector<monitor::Threshold> thresholds_;  // indexed by monitor::Metric
    std::string data_dir_;

    monitor::BotCpuMeter cpu_;
    monitor::HostFigures figures_;
    bool sampling_ = false;
    bool check_wanted_ = false;
    std::vector<Waiting> waiting_;

    bool link_up_ = false;
    std::optional<Clock::time_point> link_down_since_;
    std::map<std::uint32_t, std::uint32_t> seen_;  // last_heard per watched node, as last seen

    std::chrono::seconds probe_spacing_{0};
    Clock::time_point next_probe_{};
    std::size_t probe_next_ = 0;

    meshbot::Subscription nodes_, up_, down_;
    meshbot::Timer check_timer_, probe_timer_;
};

}  // namespace

MESHBOT_PLUGIN(MonitorPlugin, "monitor", "1.0.0")
