#include "nodes/node_directory.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "portnums.pb.h"
#include "telemetry.pb.h"

namespace meshbot::nodes {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

void NodeDirectory::on_handshake(const radio::RadioInfo& radio) {
    self_ = radio.my_node_num;
    pb::NodeInfo& self = upsert(radio.my_node_num);
    *self.mutable_user() = radio.own_user;
    for (const auto& [num, info] : radio.nodes) {
        pb::NodeInfo& node = upsert(num);
        // The radio's record is at least as current as ours, except for what it never had.
        const auto last_heard = std::max(node.last_heard(), info.last_heard());
        node = info;
        node.set_last_heard(last_heard);
    }
}

pb::NodeInfo& NodeDirectory::upsert(std::uint32_t num) {
    auto [it, inserted] = nodes_.try_emplace(num);
    if (inserted) {
        it->second.set_num(num);
        it->second.mutable_user()->set_id(radio::node_id(num));
    }
    return it->second;
}

void NodeDirectory::on_packet(const pb::MeshPacket& packet) {
    if (packet.from() == 0 || packet.from() == radio::kBroadcast) return;
    pb::NodeInfo& node = upsert(packet.from());
    if (packet.from() != self_) {
        node.set_last_heard(packet.rx_time() ? packet.rx_time()
                                             : static_cast<std::uint32_t>(std::time(nullptr)));
        if (packet.rx_snr() != 0) node.set_snr(packet.rx_snr());
        if (packet.hop_start() != 0 && packet.hop_start() >= packet.hop_limit()) {
            node.set_hops_away(packet.hop_start() - packet.hop_limit());
        }
    }
    if (!packet.has_decoded()) {
        if (listener_) listener_(node);
        return;
    }
    const auto& data = packet.decoded();
    switch (data.portnum()) {
        case pb::NODEINFO_APP: {
            pb::User user;
            if (user.ParseFromString(data.payload())) {
                user.set_id(radio::node_id(packet.from()));  // as the firmware does
                *node.mutable_user() = std::move(user);
            }
            break;
        }
        case pb::POSITION_APP: {
            pb::Position position;
            if (position.ParseFromString(data.payload()) && position.has_latitude_i()) {
                *node.mutable_position() = std::move(position);
            }
            break;
        }
        case pb::TELEMETRY_APP: {
            pb::Telemetry telemetry;
            if (telemetry.ParseFromString(data.payload()) && telemetry.has_device_metrics()) {
                node.mutable_device_metrics()->MergeFrom(telemetry.device_metrics());
            }
            break;
        }
        default:
            break;
    }
    if (listener_) listener_(node);
}

const pb::NodeInfo* NodeDirectory::find(std::uint32_t num) const {
    auto it = nodes_.find(num);
    return it == nodes_.end() ? nullptr : &it->second;
}

const pb::NodeInfo* NodeDirectory::find(std::string_view query) const {
    if (query.empty()) return nullptr;
    if (auto num = radio::parse_node_number(query)) {
        if (const auto* n = find(*num)) return n;
    }
    const pb::NodeInfo* by_long = nullptr;
    for (const auto& [num, node] : nodes_) {
        if (iequals(node.user().short_name(), query)) return &node;
        if (!by_long && iequals(node.user().long_name(), query)) by_long = &node;
    }
    return by_long;
}

void NodeDirectory::for_each(const std::function<void(const pb::NodeInfo&)>& fn) const {
    for (const auto& [num, node] : nodes_)
        fn(node);
}

}  // namespace meshbot::nodes
