#include "proxy/handshake_replay.hpp"

#include "radio/session.hpp"

namespace meshbot::proxy {

namespace {

std::string serialized(const pb::FromRadio& message) {
    return message.SerializeAsString();
}

std::string node_frame(const pb::NodeInfo& node) {
    pb::FromRadio message;
    *message.mutable_node_info() = node;
    return serialized(message);
}

}  // namespace

pb::NodeInfo current_node_info(const pb::NodeInfo* from_radio, const nodes::NodeRecord* record) {
    pb::NodeInfo info;
    if (from_radio) info = *from_radio;
    if (!record || (from_radio && record->last_heard <= from_radio->last_heard())) return info;
    info.set_num(record->num);
    info.set_last_heard(record->last_heard);
    info.set_snr(record->snr);
    if (record->hops_away >= 0) info.set_hops_away(static_cast<std::uint32_t>(record->hops_away));
    pb::User& user = *info.mutable_user();
    if (user.id().empty()) user.set_id(radio::node_id(record->num));
    if (!record->long_name.empty()) user.set_long_name(record->long_name);
    if (!record->short_name.empty()) user.set_short_name(record->short_name);
    if (!from_radio) {
        user.set_hw_model(record->hw_model);
        user.set_role(static_cast<pb::Role>(record->role));
    }
    // The radio keeps the first key it learns; the pinned one is that key unless it changed.
    if (user.public_key().empty() && record->pinned_key)
        user.set_public_key(std::string(nodes::key_bytes(*record->pinned_key)));
    if (record->position) {
        pb::Position& p = *info.mutable_position();
        p.set_latitude_i(record->position->latitude_i);
        p.set_longitude_i(record->position->longitude_i);
        p.set_altitude(record->position->altitude);
        p.set_time(record->position->time);
    }
    if (record->metrics) {
        pb::DeviceMetrics& m = *info.mutable_device_metrics();
        m.set_battery_level(record->metrics->battery_level);
        m.set_voltage(record->metrics->voltage);
        m.set_channel_utilization(record->metrics->channel_utilization);
        m.set_air_util_tx(record->metrics->air_util_tx);
        m.set_uptime_seconds(record->metrics->uptime_seconds);
    }
    return info;
}

std::vector<std::string> handshake_frames(const radio::RadioInfo& radio,
                                          const nodes::NodeStore& store, std::uint32_t nonce,
                                          bool with_private_key) {
    const bool only_nodes = nonce == radio::kNonceOnlyNodes;
    const bool with_nodes = nonce != radio::kNonceOnlyConfig;
    std::vector<std::string> out;
    out.reserve(radio.config_frames.size() + radio.nodes.size() + 1);

    const auto add_nodes = [&] {
        for (const auto& [num, node] : radio.nodes)
            out.push_back(node_frame(current_node_info(&node, store.find(num))));
        // Heard since the radio's handshake: the radio has added them to its NodeDB too.
        store.for_each([&](const nodes::NodeRecord& record) {
            if (record.num == radio.my_node_num || radio.nodes.count(record.num) != 0) return;
            if (record.last_heard < radio.handshake_epoch || radio.handshake_epoch == 0) return;
            out.push_back(node_frame(current_node_info(nullptr, &record)));
        });
    };
    bool nodes_added = false;
    for (const pb::FromRadio& frame : radio.config_frames) {
        const bool own_node = frame.has_node_info();
        if (only_nodes && !own_node) continue;
        // The other nodes come after the module config, before the file manifest.
        if (frame.has_fileinfo() && !nodes_added) {
            if (with_nodes) add_nodes();
            nodes_added = true;
        }
        if (!with_private_key && frame.has_config() && frame.config().has_security()) {
            pb::FromRadio redacted = frame;
            redacted.mutable_config()->mutable_security()->clear_private_key();
            out.push_back(serialized(redacted));
            continue;
        }
        out.push_back(serialized(frame));
    }
    if (!nodes_added && with_nodes) add_nodes();
    pb::FromRadio complete;
    complete.set_config_complete_id(nonce);
    out.push_back(serialized(complete));
    return out;
}

}  // namespace meshbot::proxy
