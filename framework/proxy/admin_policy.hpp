#pragma once
// What the virtual node lets its clients send: everything but admin messages that change the
// radio, unless [proxy] allow_admin says so.

#include <string>

#include "config/app_config.hpp"
#include "mesh.pb.h"

namespace meshbot::proxy {

struct PacketVerdict {
    enum class Kind {
        forward,          // not admin, or admin the operator allows
        forward_refresh,  // radio-changing admin, allowed: forward, then refresh the bot's view
        refuse,           // radio-changing admin, not allowed
    };
    Kind kind = Kind::forward;
    std::string admin;  // the AdminMessage field ("set_owner", "get_config_request"), if admin
};

// Pure; any thread. `my_node` is the radio's node number (0 when not known yet).
PacketVerdict check_client_packet(const pb::MeshPacket& packet, std::uint32_t my_node,
                                  const config::ProxyConfig& config);

// The radio's private key is for whoever may change the radio: an admin response carrying the
// security config (get_config_response) loses it. True when the packet was changed.
bool redact_private_key(pb::MeshPacket& packet);

}  // namespace meshbot::proxy
