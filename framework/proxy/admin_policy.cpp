#include "proxy/admin_policy.hpp"

#include <algorithm>

#include "admin.pb.h"
#include "portnums.pb.h"
#include "radio/radio_info.hpp"

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
    // Before the radio's first handshake its number is unknown: any packet may be for it. The
    // firmware hands a broadcast from its client to its own modules too, admin included (and
    // no destination at all is taken as one here).
    const bool to_radio = my_node == 0 || packet.to() == my_node ||
                          packet.to() == radio::kBroadcast || packet.to() == 0;
    if (!packet.has_decoded()) {
        // Bytes we cannot read could be anything once the radio decrypts them, an admin message
        // to itself included (a broadcast is handed to its own modules too). No app sends them.
        if (!config.allow_all_admin) return {Kind::refuse, "encrypted"};
        return {to_radio ? Kind::forward_refresh : Kind::forward, "encrypted"};
    }
    if (packet.decoded().portnum() != pb::ADMIN_APP) return {};
    pb::AdminMessage admin;
    std::string field;
    // With fields our schema does not know, the radio's reading (a newer schema, the last
    // oneof member wins) may differ from ours: such a message cannot be named.
    if (admin.ParseFromString(packet.decoded().payload()) &&
        admin.GetReflection()->GetUnknownFields(admin).empty())
        field = admin_field(admin);
    // Requests and responses read; anything else, including what we cannot name, may change
    // the radio (or, sent to another node, that node).
    if (!field.empty() && !changes_radio(field)) return {Kind::forward, field};
    const std::string name = field.empty() ? "unknown" : field;
    const bool allowed = config.allow_all_admin ||
                         std::find(config.allow_admin.begin(), config.allow_admin.end(), name) !=
                             config.allow_admin.end();
    if (!allowed) return {Kind::refuse, name};
    return {to_radio ? Kind::forward_refresh : Kind::forward, name};
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
