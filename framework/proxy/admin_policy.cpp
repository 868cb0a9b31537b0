#include "proxy/admin_policy.hpp"

#include <algorithm>

#include "admin.pb.h"
#include "portnums.pb.h"

namespace meshbot::proxy {

namespace {

// The set AdminMessage field's name, "" when none of ours is set (a variant newer than our
// schema, or bytes that are no AdminMessage at all).
std::string admin_field(const pb::AdminMessage& admin) {
    const auto* oneof = pb::AdminMessage::descriptor()->FindOneofByName("payload_variant");
    const auto* field = admin.GetReflection()->GetOneofFieldDescriptor(admin, oneof);
    return field ? field->name() : std::string();
}

bool changes_radio(const std::string& field) {
    const auto& names = config::radio_changing_admin();
    return std::find(names.begin(), names.end(), field) != names.end();
}

}  // namespace

PacketVerdict check_client_packet(const pb::MeshPacket& packet, std::uint32_t my_node,
                                  const config::ProxyConfig& config) {
    using Kind = PacketVerdict::Kind;
    if (!packet.has_decoded()) {
        // Already-encrypted bytes go out on a channel as they are; to our own radio they could
        // be anything, so they count as an admin message we cannot read.
        if (packet.to() != my_node) return {};
        return {config.allow_all_admin ? Kind::forward_refresh : Kind::refuse, "encrypted"};
    }
    if (packet.decoded().portnum() != pb::ADMIN_APP) return {};
    pb::AdminMessage admin;
    std::string field;
    if (admin.ParseFromString(packet.decoded().payload())) field = admin_field(admin);
    // Requests and responses read; anything else, including what we cannot name, may change
    // the radio (or, sent to another node, that node).
    if (!field.empty() && !changes_radio(field)) return {Kind::forward, field};
    const std::string name = field.empty() ? "unknown" : field;
    const bool allowed = config.allow_all_admin ||
                         std::find(config.allow_admin.begin(), config.allow_admin.end(), name) !=
                             config.allow_admin.end();
    if (!allowed) return {Kind::refuse, name};
    return {packet.to() == my_node ? Kind::forward_refresh : Kind::forward, name};
}

bool redact_private_key(pb::MeshPacket& packet) {
    if (!packet.has_decoded() || packet.decoded().portnum() != pb::ADMIN_APP) return false;
    pb::AdminMessage admin;
    if (!admin.ParseFromString(packet.decoded().payload()) ||
        !admin.get_config_response().has_security() ||
        admin.get_config_response().security().private_key().empty())
        return false;
    admin.mutable_get_config_response()->mutable_security()->clear_private_key();
    packet.mutable_decoded()->set_payload(admin.SerializeAsString());
    return true;
}

}  // namespace meshbot::proxy
