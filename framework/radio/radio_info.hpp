#pragma once
// What the connected radio told us about itself during the handshake.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config.pb.h"
#include "mesh.pb.h"
#include "radio/node_id.hpp"

namespace meshbot::radio {

inline constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;
inline constexpr std::size_t kChannelCount = 8;
// The firmware's default hop limit, used until the radio's LoRa config says otherwise.
inline constexpr std::uint32_t kDefaultHopLimit = 3;

struct RadioInfo {
    std::uint32_t my_node_num = 0;
    pb::MyNodeInfo my_info;
    pb::User own_user;
    pb::DeviceMetadata metadata;
    std::array<pb::Channel, kChannelCount> channels{};
    pb::LoRaConfig lora;
    std::map<std::uint32_t, pb::NodeInfo> nodes;  // every other node in the radio's NodeDB
    // The handshake's messages as the radio sent them, in its order, except the other nodes'
    // node_info and config_complete_id: what the virtual node replays to its clients.
    std::vector<pb::FromRadio> config_frames;
    std::uint32_t handshake_epoch = 0;  // wall clock (s) when this handshake began

    std::uint32_t hop_limit() const {
        return lora.hop_limit() ? lora.hop_limit() : kDefaultHopLimit;
    }
};

}  // namespace meshbot::radio
