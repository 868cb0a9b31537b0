#pragma once
// A node's NODEINFO broadcast as the radio delivers it, for tests that teach the bot a node and
// its key without a simulator. Header-only: unit and integration tests both use it.

#include <cstdint>
#include <string>

#include "mesh.pb.h"
#include "portnums.pb.h"

namespace meshbot::testing {

inline pb::MeshPacket announce(std::uint32_t from, const std::string& key,
                               const std::string& short_name, const std::string& long_name,
                               std::uint32_t rx_time = 0) {
    pb::User user;
    user.set_short_name(short_name);
    user.set_long_name(long_name);
    user.set_public_key(key);
    pb::MeshPacket p;
    p.set_from(from);
    p.set_to(0xFFFFFFFF);
    p.set_rx_time(rx_time);
    p.mutable_decoded()->set_portnum(pb::NODEINFO_APP);
    p.mutable_decoded()->set_payload(user.SerializeAsString());
    return p;
}

}  // namespace meshbot::testing
