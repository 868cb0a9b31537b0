#include "http/status_json.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <ctime>
#include <iterator>

#include "radio/node_id.hpp"

namespace meshbot::http {
namespace {

using nlohmann::json;

std::uint64_t now_epoch() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

// Names and texts from the mesh may be any bytes: broken UTF-8 becomes U+FFFD rather than an
// exception.
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* key_state(const nodes::NodeRecord& n) {
    switch (n.key_state()) {
        case nodes::KeyState::pinned:
            return "pinned";
        case nodes::KeyState::changed:
            return "CHANGED";
        default:
            return "none";
    }
}

json link_json(const BotView& bot) {
    const auto& link = bot.radio_link();
    const auto& s = link.stats();
    const auto& radio = link.radio();
    json out = {
        {"state", radio::to_string(link.state())},
        {"endpoint", link.endpoint()},
        {"since", bot.link_changed_at()},
        {"connections", s.connections},
        {"reconnects", link.reconnects()},
        {"handshakes", s.handshakes},
        {"frames_in", s.frames_in},
        {"frames_out", s.frames_out},
        {"outbox_pending", link.outbox_pending()},
        {"radio_queue_free", s.radio_queue_free},
        {"radio_queue_max", s.radio_queue_max},
    };
    if (s.last_frame != radio::Clock::time_point{})
        out["last_frame_age"] =
            std::chrono::duration<double>(radio::Clock::now() - s.last_frame).count();
    if (s.handshakes > 0) {
        out["radio"] = {{"node_id", radio::node_id(radio.my_node_num)},
                        {"short_name", radio.own_user.short_name()},
                        {"long_name", radio.own_user.long_name()},
                        {"firmware", radio.metadata.firmware_version()},
                        {"nodes", link.radio_nodes()}};
    }
    return out;
}

json plugins_json(const BotView& bot) {
    json out = json::array();
    for (const auto& s : bot.plugin_statuses()) {
        out.push_back({{"id", s.id},
                       {"version", s.version},
                       {"state", plugins::to_string(s.state)},
                       {"wanted", s.wanted},
                       {"isolation", s.isolation == config::Isolation::none ? "in-bot" : "process"},
                       {"sandbox", s.sandbox},
                       {"restarts", s.restarts},
                       {"reason", s.reason},
                       {"last_fault", s.last_crash},
                       {"callbacks", s.callback_times.count}});
    }
    return out;
}

json proxy_json(const BotView& bot) {
    const auto& proxy = bot.virtual_node();
    if (!proxy.listening()) return {{"listening", false}};
    json clients = json::array();
    for (const auto& c : proxy.clients())
        clients.push_back({{"number", c.number},
                           {"address", c.address},
                           {"since", c.since},
                           {"configured", c.configured},
                           {"waiting", c.waiting},
                           {"unread_bytes", c.unread_bytes},
                           {"packets_to_radio", c.counters.packets_to_radio},
                           {"refused", c.counters.packets_refused},
                           {"frames_to_client", c.counters.frames_out}});
    const auto& c = proxy.counters();
    return {{"listening", true},
            {"endpoint", proxy.endpoint()},
            {"connections", c.connections},
            {"turned_away", c.turned_away},
            {"admin_refused", c.admin_refused},
            {"slow_clients", c.slow_clients},
            {"clients", std::move(clients)}};
}

}  // namespace

std::string status_json(const BotView& bot) {
    const auto& store = bot.node_store();
    const auto& keys = bot.keys().counters();
    const auto diff = bot.keys().diff();
    json key_events = json::array();
    for (const auto& e : bot.key_events())
        key_events.push_back({{"at", e.at},
                              {"node", radio::node_id(e.node)},
                              {"short_name", e.short_name},
                              {"what", e.what},
                              {"count", e.count}});
    json commands = json::array();
    const auto& activity = bot.commands().activity();
    for (const auto& c : activity.recent)
        commands.push_back({{"at", c.at},
                            {"command", c.command},
                            {"sender", radio::node_id(c.sender)},
                            {"outcome", c.outcome}});
    json out = {
        {"version", MESHBOT_VERSION},
        {"now", now_epoch()},
        {"started_at", bot.started_at()},
        {"link", link_json(bot)},
        {"nodes", {{"store", store.size()}}},
        {"keys",
         {{"checks_run", keys.checks_run},
          {"checks_skipped", keys.checks_skipped},
          {"pushed", keys.keys_pushed},
          {"push_failures", keys.pushes_failed},
          {"changes", store.key_changes()},
          {"pinned", diff.pinned},
          {"missing_on_radio", diff.missing}}},
        {"commands",
         {{"rate_limited", activity.rate_limited},
          {"refused", activity.refused},
          {"texts_sent", bot.text_parts_sent()}}},
        {"plugins", plugins_json(bot)},
        {"proxy", proxy_json(bot)},
        {"key_events", std::move(key_events)},
        {"recent_commands", std::move(commands)},
    };
    return dump(out);
}

std::string nodes_json(const BotView& bot) {
    // Written row by row rather than through json objects: with 10,000 nodes this runs on the
    // event loop every few seconds per open page, and a tree of maps costs it 4 times as long.
    const auto& store = bot.node_store();
    const auto& radio = bot.radio_link().radio();
    const bool have_radio = bot.radio_link().stats().handshakes > 0;
    std::string out = fmt::format("{{\"now\":{},\"nodes\":[", now_epoch());
    out.reserve(store.size() * 200);
    bool first = true;
    store.for_each([&](const nodes::NodeRecord& n) {
        out += first ? "" : ",";
        first = false;
        fmt::format_to(std::back_inserter(out),
                       "{{\"id\":\"{}\",\"short\":{},\"long\":{},\"heard\":{},\"snr\":{},"
                       "\"hops\":{},\"key\":\"{}\",\"self\":{},\"on_radio\":{}",
                       radio::node_id(n.num), dump(n.short_name), dump(n.long_name), n.last_heard,
                       std::isfinite(n.snr) ? n.snr : 0.0f, n.hops_away, key_state(n),
                       n.num == store.self_num(), have_radio && radio.nodes.count(n.num) > 0);
        if (n.rssi != 0) fmt::format_to(std::back_inserter(out), ",\"rssi\":{}", n.rssi);
        if (n.metrics)
            fmt::format_to(std::back_inserter(out), ",\"battery\":{}", n.metrics->battery_level);
        out += '}';
    });
    out += "]}";
    return out;
}

}  // namespace meshbot::http
