#include "nodes/node_record.hpp"

#include <algorithm>

#include "nodes/node_codec.hpp"

namespace meshbot::nodes {

std::optional<PublicKey> to_key(std::string_view bytes) {
    if (bytes.size() != PublicKey{}.size()) return std::nullopt;
    PublicKey key{};
    std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(key.data()));
    return key;
}

std::string_view key_bytes(const PublicKey& key) {
    return {reinterpret_cast<const char*>(key.data()), key.size()};
}

std::string key_base64(const PublicKey& key) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= key.size(); i += 3) {
        const std::uint32_t v = (key[i] << 16) | (key[i + 1] << 8) | key[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6)
            out.push_back(alphabet[(v >> shift) & 0x3F]);
    }
    if (i < key.size()) {  // 32 = 10 * 3 + 2: one trailing pair
        const std::uint32_t v = (key[i] << 16) | (i + 1 < key.size() ? key[i + 1] << 8 : 0);
        out.push_back(alphabet[(v >> 18) & 0x3F]);
        out.push_back(alphabet[(v >> 12) & 0x3F]);
        out.push_back(i + 1 < key.size() ? alphabet[(v >> 6) & 0x3F] : '=');
        out.push_back('=');
    }
    return out;
}

const char* to_string(KeyState state) {
    switch (state) {
        case KeyState::unknown:
            return "none";
        case KeyState::pinned:
            return "pinned";
        case KeyState::changed:
            return "CHANGED";
    }
    return "?";
}

pb::StoredNode to_stored(const NodeRecord& node) {
    pb::StoredNode out;
    out.set_num(node.num);
    out.set_long_name(node.long_name);
    out.set_short_name(node.short_name);
    out.set_role(node.role);
    out.set_hw_model(node.hw_model);
    if (node.pinned_key) out.set_pinned_key(std::string(key_bytes(*node.pinned_key)));
    if (node.presented_key) out.set_presented_key(std::string(key_bytes(*node.presented_key)));
    for (const auto& past : node.key_history) {
        auto* p = out.add_key_history();
        p->set_key(std::string(key_bytes(past.key)));
        p->set_first_seen(past.first_seen);
        p->set_last_seen(past.last_seen);
    }
    out.set_pinned_at(node.pinned_at);
    out.set_first_heard(node.first_heard);
    out.set_last_heard(node.last_heard);
    out.set_snr(node.snr);
    out.set_rssi(node.rssi);
    out.set_hops_away(node.hops_away);
    if (node.position) {
        out.set_has_position(true);
        out.set_latitude_i(node.position->latitude_i);
        out.set_longitude_i(node.position->longitude_i);
        out.set_altitude(node.position->altitude);
        out.set_position_time(node.position->time);
    }
    if (node.metrics) {
        out.set_has_metrics(true);
        out.set_battery_level(node.metrics->battery_level);
        out.set_voltage(node.metrics->voltage);
        out.set_channel_utilization(node.metrics->channel_utilization);
        out.set_air_util_tx(node.metrics->air_util_tx);
        out.set_uptime_seconds(node.metrics->uptime_seconds);
    }
    return out;
}

NodeRecord from_stored(const pb::StoredNode& in) {
    NodeRecord node;
    node.num = in.num();
    node.long_name = in.long_name();
    node.short_name = in.short_name();
    node.role = in.role();
    node.hw_model = in.hw_model();
    node.pinned_key = to_key(in.pinned_key());
    if (node.pinned_key) node.presented_key = to_key(in.presented_key());
    for (const auto& past : in.key_history()) {
        if (auto key = to_key(past.key())) {
            node.key_history.push_back(PastKey{*key, past.first_seen(), past.last_seen()});
        }
    }
    node.pinned_at = in.pinned_at();
    node.first_heard = in.first_heard();
    node.last_heard = in.last_heard();
    node.snr = in.snr();
    node.rssi = in.rssi();
    node.hops_away = in.hops_away();
    if (in.has_position()) {
        node.position =
            NodePosition{in.latitude_i(), in.longitude_i(), in.altitude(), in.position_time()};
    }
    if (in.has_metrics()) {
        node.metrics = NodeMetrics{in.battery_level(), in.voltage(), in.channel_utilization(),
                                   in.air_util_tx(), in.uptime_seconds()};
    }
    return node;
}

}  // namespace meshbot::nodes
