// FirmwareModel's NodeDB side: population, what the radio learns from packets it hears
// (NodeDB::updateFrom / updateUser), local admin (addFromContact) and the remote radios' state.
#include <cmath>
#include <cstdio>

#include "admin.pb.h"
#include "firmware_model.hpp"
#include "radio/node_id.hpp"
#include "telemetry.pb.h"

namespace meshbot::sim {

namespace {

std::string default_long_name(std::uint32_t num) {
    return "Meshtastic " + meshbot::default_short_name(num);
}

using meshbot::default_short_name;

}  // namespace

void FirmwareModel::add_generated_nodes(int count) {
    for (int i = 1; i <= count; ++i) {
        SimNode node;
        node.num = 0x10000000u + static_cast<std::uint32_t>(i);
        char long_name[32];
        char short_name[8];
        std::snprintf(long_name, sizeof long_name, "Node %04d", i);
        std::snprintf(short_name, sizeof short_name, "N%03d", i % 1000);
        node.long_name = long_name;
        node.short_name = short_name;
        node.public_key = derive_key(node.num);
        // Varied but reproducible link quality and age, so NodeDB views have something to sort.
        node.snr = 10.0f - 2.5f * static_cast<float>(i % 7);
        node.hops = static_cast<std::uint32_t>(i % 4);
        node.last_heard = started_at_ - 60.0 * i * (i % 3 + 1);
        RemoteNode remote = this->remote(node.num);  // the defaults for that number
        if (i % 2 == 1) {
            node.lat = remote.lat = 48.85 + 0.01 * i;
            node.lon = remote.lon = 2.35 + 0.01 * i;
        }
        remote.battery = static_cast<std::uint32_t>(40 + (i * 17) % 61);
        remotes_[node.num] = remote;
        node.metrics = remote_metrics(node.num);
        node.metrics->clear_uptime_seconds();  // a NodeDB entry's metrics are not that fresh
        add_node(std::move(node), std::move(remote));
    }
}

void FirmwareModel::add_node(SimNode node, RemoteNode remote) {
    if (node.num == settings_.my_node) return;
    remotes_[node.num] = std::move(remote);
    db_.put(std::move(node));
}

RemoteNode& FirmwareModel::remote(std::uint32_t num) {
    const auto it = remotes_.find(num);
    if (it != remotes_.end()) return it->second;
    // Defaults derived from the number: reproducible, and different from node to node.
    RemoteNode r;
    r.public_key = derive_key(num);
    r.booted_at = started_at_ - 3600.0 * (1 + num % 72);
    r.battery = 40 + (num * 17) % 61;
    r.channel_util = 2.0f + 0.5f * static_cast<float>(num % 23);
    r.air_util_tx = 0.1f * static_cast<float>(1 + num % 30);
    return remotes_.emplace(num, std::move(r)).first->second;
}

SimNode* FirmwareModel::get_or_create(std::uint32_t num) {
    const NodeDb::Created c = db_.get_or_create(num);
    if (c.evicted) {
        record("evicted", JsonLine().add("node", node_name(*c.evicted)).add("for", node_name(num)));
    }
    if (c.node == nullptr && num != settings_.my_node) {
        record("nodedb_full", JsonLine().add("node", node_name(num)));
    }
    return c.node;
}

void FirmwareModel::on_air(const pb::MeshPacket& packet) {
    const std::uint32_t from = packet.from();
    if (from == settings_.my_node || from == 0 || from == kBroadcast) return;
    SimNode* node = get_or_create(from);
    if (node == nullptr) return;
    node->last_heard = wall_now();
    node->snr = packet.rx_snr();
    if (packet.hop_start() >= packet.hop_limit())
        node->hops = packet.hop_start() - packet.hop_limit();
    if (!packet.has_decoded()) return;
    const pb::Data& data = packet.decoded();
    if (data.portnum() == pb::NODEINFO_APP) {
        pb::User user;
        if (user.ParseFromString(data.payload())) update_user(from, user);
    } else if (data.portnum() == pb::TELEMETRY_APP) {
        pb::Telemetry telemetry;
        if (telemetry.ParseFromString(data.payload()) && telemetry.has_device_metrics())
            node->metrics = telemetry.device_metrics();
    } else if (data.portnum() == pb::POSITION_APP) {
        pb::Position pos;
        if (pos.ParseFromString(data.payload()) && pos.has_latitude_i() && pos.has_longitude_i()) {
            node->lat = pos.latitude_i() / 1e7;
            node->lon = pos.longitude_i() / 1e7;
        }
    }
}

void FirmwareModel::update_user(std::uint32_t num, const pb::User& user) {
    SimNode* node = db_.find(num);
    if (node == nullptr) return;
    const std::string& offered = user.public_key();
    if (node->public_key.size() == 32 && offered.size() == 32 && offered != node->public_key) {
        // "Public Key mismatch, dropping NodeInfo": names and all, first key wins.
        record("key_mismatch", JsonLine()
                                   .add("node", node_name(num))
                                   .add("stored_hex", to_hex(node->public_key))
                                   .add("offered_hex", to_hex(offered)));
        return;
    }
    node->has_user = true;
    node->long_name = user.long_name();
    node->short_name = user.short_name();
    if (offered.size() == 32) node->public_key = offered;  // a keyless NodeInfo keeps the key
}

void FirmwareModel::handle_admin(const pb::MeshPacket& packet) {
    pb::AdminMessage admin;
    if (!admin.ParseFromString(packet.decoded().payload())) {
        record("admin", JsonLine().add("variant", 0).add("handled", false));
        return;
    }
    const int variant = static_cast<int>(admin.payload_variant_case());
    if (admin.has_add_contact()) {
        // NodeDB::addFromContact (fw 2.7).
        const pb::SharedContact& contact = admin.add_contact();
        const std::string& key = contact.user().public_key();
        SimNode* node = get_or_create(contact.node_num());
        const bool stored = node != nullptr && contact.has_user();
        if (stored) {
            node->has_user = true;
            node->long_name = contact.user().long_name();
            node->short_name = contact.user().short_name();
            // Overwritten unconditionally: an empty key erases the stored one (the fw 2.7 bug,
            // fixed by firmware PR #11432), and the erased key is persisted.
            node->public_key = key;
            if (contact.should_ignore()) {
                node->ignored = true;
                node->favorite = false;
                node->public_key.clear();
                node->metrics.reset();
                node->lat.reset();
                node->lon.reset();
            } else {
                node->favorite = true;  // protects it from eviction; last_heard is left alone
            }
            ++flash_writes_;  // saveNodeDatabaseToDisk() on every call
        }
        record("add_contact", JsonLine()
                                  .add("node", node_name(contact.node_num()))
                                  .add("key_hex", to_hex(key))
                                  .add("empty_key", key.empty())
                                  .add("stored", stored)
                                  .add("should_ignore", contact.should_ignore())
                                  .add("flash_writes", flash_writes_));
        return;
    }
    JsonLine line;
    line.add("variant", variant);
    if (admin.has_set_owner()) {
        // AdminModule::handleSetOwner: the names change at once (the next handshake shows them).
        const pb::User& owner = admin.set_owner();
        if (!owner.long_name().empty()) settings_.long_name = owner.long_name();
        if (!owner.short_name().empty()) settings_.short_name = owner.short_name();
        ++flash_writes_;
        record("admin", line.add("long", settings_.long_name).add("handled", true));
        return;
    }
    std::optional<std::uint32_t> target;
    if (admin.has_set_favorite_node()) target = admin.set_favorite_node();
    if (admin.has_remove_favorite_node()) target = admin.remove_favorite_node();
    if (admin.has_remove_by_nodenum()) target = admin.remove_by_nodenum();
    if (!target) {
        record("admin", line.add("handled", false));  // accepted, not modelled
        return;
    }
    line.add("node", node_name(*target)).add("handled", true);
    if (admin.has_remove_by_nodenum()) {
        record("admin", std::move(line));
        forget(*target, "admin");
        return;
    }
    if (SimNode* node = db_.find(*target)) {
        node->favorite = admin.has_set_favorite_node();
        ++flash_writes_;
    }
    record("admin", std::move(line));
}

bool FirmwareModel::forget(std::uint32_t num, std::string_view reason) {
    const bool known = db_.remove(num);
    record("forget",
           JsonLine().add("node", node_name(num)).add("reason", reason).add("known", known));
    return known;
}

bool FirmwareModel::forget_key(std::uint32_t num) {
    SimNode* node = db_.find(num);
    const bool had_key = node != nullptr && !node->public_key.empty();
    if (node != nullptr) node->public_key.clear();
    record("forget_key", JsonLine()
                             .add("node", node_name(num))
                             .add("known", node != nullptr)
                             .add("had_key", had_key));
    return node != nullptr;
}

pb::DeviceMetrics FirmwareModel::remote_metrics(std::uint32_t num) {
    const RemoteNode& r = remote(num);
    pb::DeviceMetrics m;
    m.set_battery_level(r.battery);
    m.set_voltage(3.3f + 0.009f * static_cast<float>(std::min(r.battery, 100u)));
    m.set_channel_utilization(r.channel_util);
    m.set_air_util_tx(r.air_util_tx);
    m.set_uptime_seconds(static_cast<std::uint32_t>(std::max(0.0, wall_now() - r.booted_at)));
    return m;
}

pb::User FirmwareModel::remote_user(std::uint32_t num) {
    pb::User user;
    user.set_id(node_name(num));
    const SimNode* node = db_.find(num);
    const bool named = node != nullptr && node->has_user;
    user.set_long_name(named ? node->long_name : default_long_name(num));
    user.set_short_name(named ? node->short_name : default_short_name(num));
    user.set_hw_model(kHwModel);
    user.set_role(pb::CLIENT);
    user.set_public_key(remote(num).public_key);
    return user;
}

pb::MeshPacket FirmwareModel::node_telemetry(std::uint32_t num) {
    const auto now = static_cast<std::uint32_t>(wall_now());
    pb::Telemetry telemetry;
    telemetry.set_time(now);
    *telemetry.mutable_device_metrics() = remote_metrics(num);
    pb::MeshPacket p = make_received(num, kBroadcast, 0, std::nullopt, now);
    p.set_id(next_packet_id());
    p.mutable_decoded()->set_portnum(pb::TELEMETRY_APP);
    p.mutable_decoded()->set_payload(telemetry.SerializeAsString());
    const pb::DeviceMetrics& m = telemetry.device_metrics();
    record("node_telemetry", JsonLine()
                                 .add("node", node_name(num))
                                 .add("id", p.id())
                                 .add("uptime", m.uptime_seconds())
                                 .add("battery", m.battery_level()));
    return p;
}

void FirmwareModel::node_reboot(std::uint32_t num) {
    RemoteNode& r = remote(num);
    r.booted_at = wall_now() - kRebootedUptime;
    r.silent = false;  // it is back on the air to send its first packet
}

}  // namespace meshbot::sim
