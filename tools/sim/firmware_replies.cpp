// FirmwareModel's remote side: what another node answers to a client DM with want_response
// (DeviceTelemetryModule, PositionModule, NodeInfoModule, TraceRouteModule, and MeshModule's
// NO_RESPONSE when no module answers).
#include <algorithm>
#include <cmath>

#include "firmware_model.hpp"
#include "telemetry.pb.h"

namespace meshbot::sim {

namespace {

// A reproducible SNR (dB) for the link between two other nodes.
float link_snr(std::uint32_t a, std::uint32_t b) {
    std::uint64_t state = (std::uint64_t{std::min(a, b)} << 32) | std::max(a, b);
    return -10.0f + 0.25f * static_cast<float>(splitmix64(state) % 89);  // -10 .. +12 dB
}

// RouteDiscovery carries SNR as dB * 4 in an int8.
std::int32_t snr4(float db) {
    return static_cast<std::int32_t>(std::lround(db * 4.0f));
}

}  // namespace

bool FirmwareModel::lose_reply() {
    if (settings_.reply_loss <= 0) return false;
    const double u = static_cast<double>(splitmix64(loss_state_) >> 11) * 0x1.0p-53;
    return u < settings_.reply_loss;
}

pb::MeshPacket FirmwareModel::reply_packet(std::uint32_t from, std::uint32_t request_id) {
    pb::MeshPacket p = make_received(from, settings_.my_node, 0, std::nullopt,
                                     static_cast<std::uint32_t>(wall_now()));
    p.set_id(next_packet_id());
    p.set_priority(pb::MeshPacket::RESPONSE);
    p.mutable_decoded()->set_request_id(request_id);
    return p;
}

DelayedMessage FirmwareModel::no_response(std::uint32_t from, std::uint32_t request_id) {
    DelayedMessage reply;
    reply.delay = settings_.reply_delay;
    reply.message = routing_packet(from, request_id, pb::Routing::NO_RESPONSE);
    return reply;
}

std::string FirmwareModel::traceroute_payload(std::uint32_t target) {
    const SimNode* dest = db_.find(target);
    std::vector<std::uint32_t> others;
    for (const auto& [num, node] : db_.nodes()) {
        if (num != target) others.push_back(num);
    }
    // hops-many other NodeDB nodes as relays, picked from the target's number: reproducible.
    std::vector<std::uint32_t> route;
    const std::size_t hops = std::min<std::size_t>(dest->hops, others.size());
    for (std::size_t i = 0; i < hops; ++i)
        route.push_back(others[(target + i) % others.size()]);
    const auto db_snr = [this](std::uint32_t num) {
        const SimNode* node = db_.find(num);
        return node != nullptr ? node->snr : 0.0f;
    };

    // Each node on the way appends the SNR it heard the previous one at; the target appends
    // the last towards-entry, and our own radio the last back-entry (TraceRouteModule).
    pb::RouteDiscovery rd;
    std::uint32_t prev = settings_.my_node;
    for (const std::uint32_t hop : route) {
        rd.add_route(hop);
        rd.add_snr_towards(snr4(prev == settings_.my_node ? db_snr(hop) : link_snr(prev, hop)));
        prev = hop;
    }
    rd.add_snr_towards(snr4(route.empty() ? dest->snr : link_snr(prev, target)));
    prev = target;
    for (auto it = route.rbegin(); it != route.rend(); ++it) {
        rd.add_route_back(*it);
        rd.add_snr_back(snr4(link_snr(prev, *it)));
        prev = *it;
    }
    rd.add_snr_back(snr4(route.empty() ? dest->snr : db_snr(prev)));
    return rd.SerializeAsString();
}

std::optional<DelayedMessage> FirmwareModel::auto_reply(const pb::MeshPacket& request,
                                                        std::uint32_t id) {
    const std::uint32_t from = request.to();
    const pb::Data& asked = request.decoded();
    const RemoteNode& remote = this->remote(from);
    if (remote.silent || db_.find(from) == nullptr) return std::nullopt;

    std::optional<DelayedMessage> reply;
    pb::MeshPacket p = reply_packet(from, id);
    pb::Data* data = p.mutable_decoded();
    data->set_portnum(asked.portnum());
    switch (asked.portnum()) {
        case pb::TELEMETRY_APP: {
            // DeviceTelemetryModule::allocReply: the variant asked for selects the answer.
            pb::Telemetry question;
            pb::Telemetry answer;
            answer.set_time(static_cast<std::uint32_t>(wall_now()));
            if (!question.ParseFromString(asked.payload())) break;
            if (question.has_device_metrics()) {
                *answer.mutable_device_metrics() = remote_metrics(from);
            } else if (question.has_local_stats()) {
                pb::LocalStats* stats = answer.mutable_local_stats();
                const pb::DeviceMetrics m = remote_metrics(from);
                stats->set_uptime(m.uptime_seconds());
                stats->set_channel_util(m.channel_utilization());
                stats->set_air_util_tx(m.air_util_tx());
                stats->set_total_nodes(static_cast<std::uint32_t>(db_.count()));
                stats->set_online_nodes(static_cast<std::uint32_t>(db_.count()));
            } else {
                break;  // other variants belong to modules this node does not run
            }
            data->set_payload(answer.SerializeAsString());
            // Telemetry is PKI both ways (docs/radio-protocol.md §5.2): the reply arrives
            // decrypted.
            p.set_pki_encrypted(true);
            p.set_public_key(db_.find(from)->public_key);
            p.set_channel(0);
            reply = DelayedMessage{settings_.reply_delay, {}, std::nullopt};
            break;
        }
        case pb::POSITION_APP: {
            if (!remote.lat || !remote.lon) break;  // no fix: PositionModule stays quiet
            pb::Position pos;
            pos.set_latitude_i(static_cast<std::int32_t>(std::lround(*remote.lat * 1e7)));
            pos.set_longitude_i(static_cast<std::int32_t>(std::lround(*remote.lon * 1e7)));
            pos.set_time(static_cast<std::uint32_t>(wall_now()));
            pos.set_precision_bits(32);
            data->set_payload(pos.SerializeAsString());
            reply = DelayedMessage{settings_.reply_delay, {}, std::nullopt};
            break;
        }
        case pb::NODEINFO_APP:
            data->set_payload(remote_user(from).SerializeAsString());
            reply = DelayedMessage{settings_.reply_delay, {}, std::nullopt};
            break;
        case pb::TRACEROUTE_APP:
            data->set_payload(traceroute_payload(from));
            reply = DelayedMessage{settings_.reply_delay, {}, std::nullopt};
            break;
        default:
            break;
    }
    if (reply) {
        *reply->message.mutable_packet() = p;
    } else {
        reply = no_response(from, id);  // MeshModule: nobody answered a want_response request
    }
    const pb::Data& sent = reply->message.packet().decoded();
    JsonLine fields;
    fields.add("from", node_name(from))
        .add("portnum", static_cast<int>(sent.portnum()))
        .add("request_id", id);
    if (sent.portnum() == pb::ROUTING_APP)
        fields.add("error", static_cast<int>(pb::Routing::NO_RESPONSE));
    if (lose_reply()) {
        record("reply_lost", std::move(fields));
        return std::nullopt;
    }
    reply->record = RecordEvent{"reply", std::move(fields)};
    return reply;
}

}  // namespace meshbot::sim
