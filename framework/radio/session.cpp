#include "radio/session.hpp"

#include <cstdio>
#include <random>

namespace meshbot::radio {

std::uint32_t random_config_nonce() {
    static thread_local std::mt19937 rng{std::random_device{}()};
    for (;;) {
        const std::uint32_t n = rng();
        if (n != 0 && n != kNonceOnlyConfig && n != kNonceOnlyNodes) return n;
    }
}

Session::Session(SessionOptions options) : options_(options) {}

void Session::begin_handshake(std::uint32_t nonce, Clock::time_point /*now*/,
                              std::uint32_t epoch_now) {
    phase_ = Phase::handshaking;
    nonce_ = nonce;
    began_epoch_ = epoch_now;
    refreshing_ = false;
    abandoned_refresh_ = 0;
    pending_ = RadioInfo{};
    pending_.handshake_epoch = epoch_now;
}

void Session::begin_refresh(std::uint32_t nonce) {
    if (phase_ != Phase::ready) return;
    refreshing_ = true;
    refresh_nonce_ = nonce;
    pending_ = RadioInfo{};
    pending_.handshake_epoch = radio_.handshake_epoch;
}

void Session::cancel_refresh() {
    if (refreshing_) abandoned_refresh_ = refresh_nonce_;
    refreshing_ = false;
    pending_ = RadioInfo{};
}

SessionEvent Session::on_from_radio(const pb::FromRadio& message, Clock::time_point now) {
    using Kind = SessionEvent::Kind;
    if (refreshing_ && message.has_my_info()) {
        // my_info starts the radio's answer: what came before it belongs to no answer of ours.
        const auto epoch = pending_.handshake_epoch;
        pending_ = RadioInfo{};
        pending_.handshake_epoch = epoch;
    }
    if (collecting()) {
        switch (message.payload_variant_case()) {
            case pb::FromRadio::kPacket:
            case pb::FromRadio::kConfigCompleteId:
            case pb::FromRadio::kQueueStatus:
            case pb::FromRadio::kClientNotification:
            case pb::FromRadio::kLogRecord:
            case pb::FromRadio::kRebooted:
            case pb::FromRadio::kXmodemPacket:
            case pb::FromRadio::kMqttClientProxyMessage:
                break;
            case pb::FromRadio::kNodeInfo:
                // Only our own: the others are served from the node list, kept current.
                if (pending_.my_node_num == 0 || message.node_info().num() != pending_.my_node_num)
                    break;
                [[fallthrough]];
            default:
                pending_.config_frames.push_back(message);
        }
    }
    switch (message.payload_variant_case()) {
        case pb::FromRadio::kPacket:
            return on_packet(message.packet(), now);
        case pb::FromRadio::kMyInfo:
            // A late answer to a refresh given up is no sign of trouble; only its end is awaited.
            if (!collecting() && abandoned_refresh_ == 0) {
                return {Kind::restart_handshake, false,
                        "the radio sent my_info outside a handshake"};
            }
            if (!collecting()) return {};
            pending_.my_info = message.my_info();
            pending_.my_node_num = message.my_info().my_node_num();
            return {};
        case pb::FromRadio::kNodeInfo: {
            const auto& info = message.node_info();
            RadioInfo& target = collecting() ? pending_ : radio_;
            if (info.num() == target.my_node_num && target.my_node_num != 0) {
                target.own_user = info.user();
            } else {
                target.nodes[info.num()] = info;
            }
            return {};
        }
        case pb::FromRadio::kMetadata:
            pending_.metadata = message.metadata();
            return {};
        case pb::FromRadio::kChannel: {
            const auto& ch = message.channel();
            if (ch.index() >= 0 && static_cast<std::size_t>(ch.index()) < kChannelCount) {
                pending_.channels[static_cast<std::size_t>(ch.index())] = ch;
            }
            return {};
        }
        case pb::FromRadio::kConfig:
            if (message.config().has_lora()) pending_.lora = message.config().lora();
            return {};
        case pb::FromRadio::kConfigCompleteId:
            if (refreshing_ && message.config_complete_id() == refresh_nonce_) {
                refreshing_ = false;
                radio_ = std::move(pending_);
                pending_ = RadioInfo{};
                return {Kind::refreshed, false, {}};
            }
            if (abandoned_refresh_ != 0 && message.config_complete_id() == abandoned_refresh_)
                abandoned_refresh_ = 0;
            if (phase_ != Phase::handshaking || message.config_complete_id() != nonce_) {
                return {Kind::stale_complete, false, {}};
            }
            phase_ = Phase::ready;
            radio_ = std::move(pending_);
            pending_ = RadioInfo{};
            ready_at_ = now;
            return {Kind::ready, false, {}};
        case pb::FromRadio::kRebooted:
            return {Kind::restart_handshake, false, "the radio rebooted"};
        case pb::FromRadio::kQueueStatus:
            return {Kind::queue_status, false, {}};
        case pb::FromRadio::kClientNotification:
            return {Kind::notification, false, message.clientnotification().message()};
        default:
            // Module configs, file manifest, log records, and variants newer than our schema.
            return {};
    }
}

SessionEvent Session::on_packet(const pb::MeshPacket& packet, Clock::time_point now) {
    using Kind = SessionEvent::Kind;
    // What was delivered before (2.8 replays its cache after every handshake) is a duplicate.
    if (seen_before(packet, now)) return {Kind::duplicate, false, {}};
    // The packet's own rx_time tells backlog from live, whenever it arrives: the radio stamps
    // it on reception (0 when the radio does not know the time; then it counts as live).
    const bool received_earlier = packet.rx_time() != 0 && packet.rx_time() < began_epoch_;
    return {Kind::packet, phase_ != Phase::ready || received_earlier, {}};
}

bool Session::seen_before(const pb::MeshPacket& packet, Clock::time_point now) {
    if (packet.id() == 0) return false;  // no identity to compare
    while (!seen_order_.empty()) {
        auto it = seen_.find(seen_order_.front());
        const bool expired = it == seen_.end() || now - it->second > options_.dedupe_window;
        if (!expired && seen_order_.size() <= options_.dedupe_capacity) break;
        if (it != seen_.end()) seen_.erase(it);
        seen_order_.pop_front();
    }
    const std::uint64_t key = (std::uint64_t{packet.from()} << 32) | packet.id();
    if (!seen_.emplace(key, now).second) return true;
    seen_order_.push_back(key);
    return false;
}

}  // namespace meshbot::radio
