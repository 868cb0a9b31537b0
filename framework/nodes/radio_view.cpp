#include "nodes/radio_view.hpp"

#include "portnums.pb.h"

namespace meshbot::nodes {

void RadioView::rebuild(const radio::RadioInfo& radio) {
    keys_.clear();
    keys_.reserve(radio.nodes.size());
    for (const auto& [num, info] : radio.nodes) {
        if (auto key = to_key(info.user().public_key())) keys_.emplace(num, *key);
    }
    nodes_ = radio.nodes.size();
    ++generation_;
}

void RadioView::set(std::uint32_t num, const PublicKey& key) {
    auto [it, inserted] = keys_.try_emplace(num, key);
    if (!inserted && it->second == key) return;
    it->second = key;
    ++generation_;
}

void RadioView::on_packet(const pb::MeshPacket& packet) {
    if (packet.pki_encrypted()) {
        if (auto key = to_key(packet.public_key())) set(packet.from(), *key);
        return;
    }
    if (!packet.has_decoded() || packet.decoded().portnum() != pb::NODEINFO_APP) return;
    if (has_key(packet.from())) return;  // the radio drops a NodeInfo with a different key
    pb::User user;
    if (!user.ParseFromString(packet.decoded().payload())) return;
    if (auto key = to_key(user.public_key())) set(packet.from(), *key);
}

void RadioView::on_pushed(std::uint32_t num, const PublicKey& key) {
    set(num, key);
}

void RadioView::forget(std::uint32_t num) {
    if (keys_.erase(num) != 0) ++generation_;
}

}  // namespace meshbot::nodes
