#include "http/metrics_text.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <limits>
#include <set>
#include <sstream>

#include "plugin_host/utf8_chunker.hpp"
#include "radio/node_id.hpp"

namespace meshbot::http {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// Owns the families, in the order they are added (one per name); one request's thread.
class Families {
public:
    MetricFamily& family(std::string name, std::string help, MetricType type) {
        families_.push_back(MetricFamily{std::move(name), std::move(help), type, {}});
        return families_.back();
    }
    void gauge(std::string name, std::string help, double value, Labels labels = {}) {
        add(family(std::move(name), std::move(help), MetricType::Gauge), value, std::move(labels));
    }
    void counter(std::string name, std::string help, double value, Labels labels = {}) {
        add(family(std::move(name), std::move(help), MetricType::Counter), value,
            std::move(labels));
    }
    static void add(MetricFamily& f, double value, Labels labels = {}) {
        ClientMetric m;
        m.label = std::move(labels);
        if (f.type == MetricType::Counter)
            m.counter.value = value;
        else
            m.gauge.value = value;
        f.metric.push_back(std::move(m));
    }
    std::string text() const {
        std::ostringstream out;
        prometheus::TextSerializer().Serialize(
            out, std::vector<MetricFamily>(families_.begin(), families_.end()));
        return out.str();
    }

private:
    std::deque<MetricFamily> families_;  // a deque: family() hands out references that stay
};

double seconds_since(radio::Clock::time_point t) {
    if (t == radio::Clock::time_point{}) return -1;
    return std::chrono::duration<double>(radio::Clock::now() - t).count();
}

void link_metrics(Families& out, const BotView& bot) {
    const auto& link = bot.radio_link();
    const auto& s = link.stats();
    const bool up = link.state() == radio::LinkState::ready;
    out.gauge("meshbot_link_up", "1 while the radio link is ready (handshake complete)",
              up ? 1 : 0);
    auto& state = out.family("meshbot_link_state", "The radio link's state (1 for the current one)",
                             MetricType::Gauge);
    for (const auto st :
         {radio::LinkState::idle, radio::LinkState::connecting, radio::LinkState::handshaking,
          radio::LinkState::ready, radio::LinkState::backoff, radio::LinkState::stopped})
        Families::add(state, link.state() == st ? 1 : 0, {{"state", radio::to_string(st)}});
    out.counter("meshbot_link_connect_attempts_total", "TCP or serial connects tried",
                static_cast<double>(s.connect_attempts));
    out.counter("meshbot_link_handshakes_total", "Handshakes with the radio that completed",
                static_cast<double>(s.handshakes));
    out.counter("meshbot_link_reconnects_total",
                "Connections after the first (each one followed a lost link)",
                static_cast<double>(link.reconnects()));
    out.gauge("meshbot_link_last_frame_age_seconds",
              "Seconds since the last frame from the radio that decoded (-1: none yet)",
              seconds_since(s.last_frame));
    out.counter("meshbot_link_frames_received_total", "Frames read from the radio",
                static_cast<double>(s.frames_in));
    out.counter("meshbot_link_frames_sent_total", "Frames written to the radio",
                static_cast<double>(s.frames_out));
    out.counter("meshbot_link_bytes_received_total", "Bytes read from the radio",
                static_cast<double>(s.bytes_in));
    out.counter("meshbot_link_bytes_sent_total", "Bytes written to the radio",
                static_cast<double>(s.bytes_out));
    out.counter("meshbot_link_undecodable_frames_total", "Frames that were not a FromRadio",
                static_cast<double>(s.undecodable));
    out.counter("meshbot_link_duplicate_packets_total", "Packets dropped as already seen",
                static_cast<double>(s.duplicates));
    out.gauge("meshbot_outbox_pending", "Packets waiting for the radio",
              static_cast<double>(link.outbox_pending()));
    auto& dropped = out.family("meshbot_outbox_dropped_total",
                               "Packets the outbox dropped, by reason", MetricType::Counter);
    Families::add(dropped, static_cast<double>(s.outbox_refused), {{"reason", "full"}});
    Families::add(dropped, static_cast<double>(link.outbox_expired()), {{"reason", "expired"}});
    out.gauge("meshbot_radio_tx_queue_free", "Free slots in the radio's TX queue (its last report)",
              s.radio_queue_free);
    out.gauge("meshbot_radio_tx_queue_size", "The radio's TX queue size (its last report)",
              s.radio_queue_max);
}

void key_metrics(Families& out, const BotView& bot) {
    const auto& c = bot.keys().counters();
    auto& checks = out.family("meshbot_key_checks_total",
                              "Periodic key checks: run (compared) or skipped (nothing changed)",
                              MetricType::Counter);
    Families::add(checks, static_cast<double>(c.checks_run), {{"result", "run"}});
    Families::add(checks, static_cast<double>(c.checks_skipped), {{"result", "skipped"}});
    out.counter("meshbot_keys_pushed_total", "Public keys the radio accepted (add_contact)",
                static_cast<double>(c.keys_pushed));
    out.counter("meshbot_key_pushes_failed_total", "add_contact refused or unanswered",
                static_cast<double>(c.pushes_failed));
    out.counter("meshbot_key_changes_total",
                "Nodes seen presenting a key other than the pinned one",
                static_cast<double>(bot.node_store().key_changes()));
    auto& nodes = out.family("meshbot_nodes", "Nodes known", MetricType::Gauge);
    Families::add(nodes, static_cast<double>(bot.node_store().size()), {{"where", "store"}});
    const auto& link = bot.radio_link();
    const auto on_radio = static_cast<double>(link.radio_nodes());
    Families::add(nodes, on_radio, {{"where", "radio"}});
}

void command_metrics(Families& out, const BotView& bot) {
    const auto& a = bot.commands().activity();
    auto& runs =
        out.family("meshbot_commands_total", "Commands that ran, by command", MetricType::Counter);
    for (const auto& [name, count] : a.runs)
        Families::add(runs, static_cast<double>(count), {{"command", name}});
    out.counter("meshbot_commands_rate_limited_total", "Commands refused by the per-sender limit",
                static_cast<double>(a.rate_limited));
    out.counter("meshbot_commands_refused_total",
                "Commands refused otherwise (unknown, not allowed there, not an admin)",
                static_cast<double>(a.refused));
    out.counter("meshbot_text_parts_sent_total",
                "Text parts (replies and plugins' texts) the radio took",
                static_cast<double>(bot.text_parts_sent()));
}

void plugin_metrics(Families& out, const BotView& bot) {
    const auto statuses = bot.plugin_statuses();
    auto& state = out.family("meshbot_plugin_state", "Each plugin's state (1 for the current one)",
                             MetricType::Gauge);
    auto& restarts = out.family("meshbot_plugin_restarts_total", "Times a plugin was restarted",
                                MetricType::Counter);
    auto& times = out.family("meshbot_plugin_callback_duration_seconds",
                             "How long plugin callbacks took", MetricType::Histogram);
    std::set<std::string> seen;
    for (const auto& s : statuses) {
        // A copy that lost to another folder's plugin of the same id is in the table, not here:
        // one series per id.
        if (!seen.insert(s.id).second) continue;
        Families::add(state, 1, {{"plugin", s.id}, {"state", plugins::to_string(s.state)}});
        Families::add(restarts, s.restarts, {{"plugin", s.id}});
        ClientMetric m;
        m.label = {{"plugin", s.id}};
        const auto& t = s.callback_times;
        m.histogram.sample_count = t.count;
        m.histogram.sample_sum = t.sum;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < t.kBounds.size(); ++i) {
            cumulative += t.in_bucket[i];
            m.histogram.bucket.push_back({cumulative, t.kBounds[i]});
        }
        m.histogram.bucket.push_back({t.count, std::numeric_limits<double>::infinity()});
        times.metric.push_back(std::move(m));
    }
}

void node_metrics(Families& out, const BotView& bot, unsigned limit) {
    std::vector<const nodes::NodeRecord*> heard;
    bot.node_store().for_each([&](const nodes::NodeRecord& n) {
        if (n.num != bot.node_store().self_num() && n.last_heard != 0) heard.push_back(&n);
    });
    const auto keep = std::min<std::size_t>(limit, heard.size());
    std::partial_sort(heard.begin(), heard.begin() + static_cast<std::ptrdiff_t>(keep), heard.end(),
                      [](const auto* a, const auto* b) { return a->last_heard > b->last_heard; });
    heard.resize(keep);
    std::sort(heard.begin(), heard.end(),
              [](const auto* a, const auto* b) { return a->num < b->num; });
    auto& last = out.family("meshbot_node_last_heard_timestamp_seconds",
                            "When a node was last heard (epoch seconds)", MetricType::Gauge);
    auto& snr = out.family("meshbot_node_snr_db", "A node's last SNR", MetricType::Gauge);
    auto& rssi = out.family("meshbot_node_rssi_dbm", "A node's last RSSI", MetricType::Gauge);
    auto& battery = out.family("meshbot_node_battery_percent",
                               "A node's battery level (101: powered)", MetricType::Gauge);
    auto& hops = out.family("meshbot_node_hops", "Hops away", MetricType::Gauge);
    for (const auto* n : heard) {
        // Prometheus refuses a whole scrape over one label that is not UTF-8.
        const Labels labels{{"node_id", radio::node_id(n->num)},
                            {"short_name", plugins::sanitize_utf8(n->short_name)}};
        Families::add(last, n->last_heard, labels);
        Families::add(snr, n->snr, labels);
        if (n->rssi != 0) Families::add(rssi, n->rssi, labels);
        if (n->metrics) Families::add(battery, n->metrics->battery_level, labels);
        if (n->hops_away >= 0) Families::add(hops, n->hops_away, labels);
    }
    out.gauge("meshbot_node_series_nodes",
              "Nodes with per-node series (capped by [http] node_metrics)",
              static_cast<double>(heard.size()));
}

void proxy_metrics(Families& out, const BotView& bot) {
    const auto& proxy = bot.virtual_node();
    if (!proxy.listening()) return;  // no series for a feature that is off
    const auto& c = proxy.counters();
    out.gauge("meshbot_proxy_clients", "API clients connected to the virtual node",
              static_cast<double>(proxy.clients().size()));
    out.counter("meshbot_proxy_connections_total", "Clients the virtual node admitted",
                static_cast<double>(c.connections));
    out.counter("meshbot_proxy_turned_away_total",
                "Clients refused (not on the allow-list, or max_clients reached)",
                static_cast<double>(c.turned_away));
    out.counter("meshbot_proxy_slow_disconnects_total", "Clients disconnected for not reading",
                static_cast<double>(c.slow_clients));
    auto& refused = out.family("meshbot_proxy_packets_refused_total",
                               "Client packets refused, by reason", MetricType::Counter);
    Families::add(refused, static_cast<double>(c.admin_refused), {{"reason", "admin"}});
    Families::add(refused, static_cast<double>(c.queue_refused), {{"reason", "queue_full"}});
    out.counter("meshbot_proxy_packets_to_radio_total", "Client packets handed to the outbox",
                static_cast<double>(c.packets_to_radio));
    out.counter("meshbot_proxy_frames_relayed_total",
                "Radio frames queued for clients (one per client)",
                static_cast<double>(c.frames_relayed));
}

}  // namespace

std::string metrics_text(const BotView& bot, unsigned node_limit) {
    Families out;
    out.gauge("meshbot_build_info", "meshbot's version", 1, {{"version", MESHBOT_VERSION}});
    out.gauge("meshbot_start_time_seconds", "When the bot started (epoch seconds)",
              static_cast<double>(bot.started_at()));
    link_metrics(out, bot);
    key_metrics(out, bot);
    command_metrics(out, bot);
    plugin_metrics(out, bot);
    node_metrics(out, bot, node_limit);
    proxy_metrics(out, bot);
    return out.text();
}

}  // namespace meshbot::http
