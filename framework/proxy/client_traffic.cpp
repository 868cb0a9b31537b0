// The virtual node's traffic: what clients send (client -> radio) and what the radio's
// messages become for them (radio -> clients).

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "portnums.pb.h"
#include "proxy/handshake_replay.hpp"
#include "proxy/virtual_node.hpp"
#include "radio/node_id.hpp"

namespace meshbot::proxy {

namespace {

// The firmware ignores a packet whose id is among the last 20 it received (PhoneAPI).
constexpr std::size_t kRecentIds = 20;
// Bot ids remembered for routing answers and responses: enough for minutes of traffic.
constexpr std::size_t kOrigins = 8192;
// The radio's TX queue (MAX_TX_QUEUE), reported in heartbeat answers before the radio said.
constexpr std::uint32_t kRadioQueue = 16;
// A client's packets in the outbox at once (one per port): made-up port numbers do not get a
// client more.
constexpr std::size_t kInFlightPerClient = 4;
// A client's sent ids remembered for the reply_id of its replies and reactions.
constexpr std::size_t kSentIds = 256;
// QueueStatus.res for a packet that could not be queued (the firmware's ERRNO_UNKNOWN).
constexpr int kQueueFull = 32;

std::uint32_t portnum_of(const pb::MeshPacket& packet) {
    return packet.has_decoded() ? static_cast<std::uint32_t>(packet.decoded().portnum()) : 0;
}

pb::FromRadio queue_status(int res, std::uint32_t free, std::uint32_t id,
                           std::uint32_t maxlen = kRadioQueue) {
    pb::FromRadio message;
    auto& status = *message.mutable_queuestatus();
    status.set_res(res);
    status.set_free(free);
    status.set_maxlen(maxlen);
    status.set_mesh_packet_id(id);
    return message;
}

}  // namespace

void VirtualNode::on_client_message(ProxyClient& client, const pb::ToRadio& message) {
    switch (message.payload_variant_case()) {
        case pb::ToRadio::kWantConfigId: {
            client.configured = false;
            client.waiting_nonce = message.want_config_id();
            client.drop_unsent_handshake();
            // Built once the loop is free: a burst of requests in one read costs one build.
            if (client.handshake_posted) break;
            client.handshake_posted = true;
            std::weak_ptr<ProxyClient> weak = client.shared_from_this();
            std::weak_ptr<int> alive = alive_;
            boost::asio::post(executor_, [this, weak, alive] {
                const auto c = weak.lock();
                if (alive.expired() || !c || c->closed()) return;
                c->handshake_posted = false;
                // Served meanwhile, when the radio's first handshake completed.
                if (c->waiting_nonce) serve_handshake(*c);
            });
            break;
        }
        case pb::ToRadio::kPacket:
            on_client_packet(client, message.packet());
            break;
        case pb::ToRadio::kHeartbeat: {
            // Answered here (2.7.4+ firmware answers with a queueStatus); the bot's own link
            // keeps the radio's session alive.
            const auto& stats = link_.stats();
            const bool known = stats.radio_queue_max != 0;
            client.send(queue_status(0, known ? stats.radio_queue_free : kRadioQueue, 0,
                                     known ? stats.radio_queue_max : kRadioQueue));
            break;
        }
        case pb::ToRadio::kDisconnect:
            client.close("it said disconnect");
            break;
        case pb::ToRadio::kXmodemPacket: {
            // File transfers would need the radio to ourselves for minutes: cancelled at once.
            if (xmodem_warnings_.allow())
                spdlog::warn(
                    "proxy: client {} ({}) tried an xmodem file transfer: cancelled (the "
                    "virtual node does not relay file transfers)",
                    client.number(), client.address());
            pb::FromRadio cancel;
            cancel.mutable_xmodempacket()->set_control(pb::XModem::CAN);
            client.send(cancel);
            break;
        }
        case pb::ToRadio::kMqttClientProxyMessage:
            // The radio's MQTT client proxy needs one client that stays connected; with several
            // clients coming and going, none can be it. Dropped, said once per client.
            if (!client.mqtt_warned) {
                spdlog::warn(
                    "proxy: client {} ({}) sent MQTT client proxy messages: dropped (the "
                    "virtual node does not relay the radio's MQTT client proxy)",
                    client.number(), client.address());
                client.mqtt_warned = true;
            }
            break;
        default:
            ++client.counters.undecodable;  // an empty ToRadio, or a variant newer than ours
            break;
    }
}

void VirtualNode::serve_handshake(ProxyClient& client) {
    const radio::RadioInfo& radio = link_.radio();
    if (radio.my_node_num == 0) {
        // The radio has not answered since the bot started: the handshake waits for it.
        spdlog::info(
            "proxy: client {} ({}) asked for the config; it gets it once the radio has "
            "answered the bot",
            client.number(), client.address());
        return;
    }
    const std::uint32_t nonce = client.waiting_nonce.value_or(0);
    client.waiting_nonce.reset();
    const auto frames = handshake_frames(radio, store_, nonce, config_.allow_all_admin);
    for (const auto& frame : frames)
        client.send(frame, false);
    client.configured = true;
    spdlog::info(
        "proxy: client {} ({}) configured: {} messages for nonce {}{}", client.number(),
        client.address(), frames.size(), nonce,
        link_.state() == radio::LinkState::ready ? "" : " (the radio is away: its last state)");
}

void VirtualNode::on_client_packet(ProxyClient& client, pb::MeshPacket packet) {
    const std::uint32_t client_id = packet.id();
    if (client_id != 0) {
        auto& recent = client.recent_ids;
        if (std::find(recent.begin(), recent.end(), client_id) != recent.end()) return;
        recent.push_back(client_id);
        if (recent.size() > kRecentIds) recent.pop_front();
    }
    const std::uint32_t my_node = link_.radio().my_node_num;
    const PacketVerdict verdict = check_client_packet(packet, my_node, config_);
    if (verdict.kind == PacketVerdict::Kind::refuse) {
        ++counters_.admin_refused;
        if (admin_warnings_.allow())
            spdlog::warn(
                "proxy: refused admin message {} from client {} ({}): [proxy] allow_admin "
                "does not allow it",
                verdict.admin, client.number(), client.address());
        refuse(client, client_id, pb::Routing::NOT_AUTHORIZED,
               "meshbot: admin message " + verdict.admin +
                   " refused; the bot's operator can allow it with [proxy] allow_admin");
        return;
    }
    if (client.waiting.size() >= config_.client_queue) {
        ++counters_.queue_refused;
        client.send(queue_status(kQueueFull, 0, client_id));
        refuse(client, client_id, pb::Routing::RATE_LIMIT_EXCEEDED,
               "meshbot: too many packets waiting for the radio; try again later");
        return;
    }
    packet.clear_from();  // the radio sets it
    WaitingPacket waiting{std::move(packet), client_id,
                          verdict.kind == PacketVerdict::Kind::forward_refresh, Clock::now()};
    client.waiting.push_back(std::move(waiting));
    pump(client);
}

void VirtualNode::refuse(ProxyClient& client, std::uint32_t client_id, int routing_error,
                         const std::string& why) {
    ++client.counters.packets_refused;
    const std::uint32_t my_node = link_.radio().my_node_num;
    pb::FromRadio nak;
    pb::MeshPacket& p = *nak.mutable_packet();
    p.set_from(my_node);
    p.set_to(my_node);
    p.set_id(link_.reserve_id());
    p.set_priority(pb::MeshPacket::ACK);
    p.mutable_decoded()->set_portnum(pb::ROUTING_APP);
    p.mutable_decoded()->set_request_id(client_id);
    pb::Routing routing;
    routing.set_error_reason(static_cast<pb::Routing::Error>(routing_error));
    p.mutable_decoded()->set_payload(routing.SerializeAsString());
    client.send(nak);
    pb::FromRadio note;
    auto& n = *note.mutable_clientnotification();
    n.set_reply_id(client_id);
    n.set_level(30);  // WARNING
    n.set_time(static_cast<std::uint32_t>(std::time(nullptr)));
    n.set_message(why);
    client.send(note);
}

void VirtualNode::pump(ProxyClient& client) {
    // One packet per port in the outbox per client, and the clients' share of it in all: a
    // client's burst of texts waits here, and the outbox alternates the clients and the bot.
    const auto now = Clock::now();
    for (auto it = client.waiting.begin(); it != client.waiting.end() && !client.closed() &&
                                           client.in_flight.size() < kInFlightPerClient;) {
        if (now - it->queued_at >= expiry_) {
            // Waited as long as the outbox would have kept it (the radio was away).
            const std::uint32_t id = it->client_id;
            it = client.waiting.erase(it);
            refuse(client, id, pb::Routing::NO_INTERFACE,
                   "meshbot: the radio was away too long; the packet was not sent");
            continue;
        }
        const std::uint32_t port = portnum_of(it->packet);
        if (client.in_flight.count(port) != 0) {
            ++it;
            continue;
        }
        // Full with clients' packets (those of clients gone too): the rest wait for a slot.
        if (in_outbox_.size() >= outbox_share_) break;
        WaitingPacket next = std::move(*it);
        it = client.waiting.erase(it);
        client.in_flight[port] = 0;  // taken; the bot id follows once send() returns
        submit(client, std::move(next));
        it = client.waiting.begin();  // submit may have changed the queue
    }
}

void VirtualNode::pump_all() {
    for (const auto& [number, c] : std::map(clients_))
        if (!c->closed()) pump(*c);
}

void VirtualNode::left_outbox(std::uint32_t bot_id) {
    const bool was_full = in_outbox_.size() >= outbox_share_;
    if (in_outbox_.erase(bot_id) != 0 && was_full) pump_all();
}

void VirtualNode::submit(ProxyClient& client, WaitingPacket waiting) {
    const std::uint32_t port = portnum_of(waiting.packet);
    const std::uint64_t number = client.number();
    const std::uint32_t client_id = waiting.client_id;
    const bool refresh_after = waiting.refresh_after;
    if (auto* decoded = waiting.packet.mutable_decoded(); decoded->reply_id() != 0) {
        // A reply or reaction to one of its own packets: the mesh knows that one by our id.
        const auto& sent = client.sent_ids;
        const auto it = std::find_if(sent.rbegin(), sent.rend(), [&](const auto& ids) {
            return ids.first == decoded->reply_id();
        });
        if (it != sent.rend()) decoded->set_reply_id(it->second);
    }
    std::weak_ptr<int> alive = alive_;
    const std::uint32_t bot_id =
        send_(std::move(waiting.packet),
              [this, alive, number, client_id, port, refresh_after](const radio::SendResult& r) {
                  if (alive.expired()) return;
                  on_send_result(number, client_id, port, refresh_after, r);
              });
    if (bot_id == 0) return;  // refused: the callback says so, after this call
    ++client.counters.packets_to_radio;
    ++counters_.packets_to_radio;
    link_.assign_source(bot_id, number);
    remember(bot_id, {number, client_id == 0 ? bot_id : client_id, port});
    in_outbox_.insert(bot_id);
    client.in_flight[port] = bot_id;
    if (client_id != 0) {
        client.sent_ids.emplace_back(client_id, bot_id);
        if (client.sent_ids.size() > kSentIds) client.sent_ids.pop_front();
    }
}

void VirtualNode::on_send_result(std::uint64_t number, std::uint32_t client_id, std::uint32_t port,
                                 bool refresh_after, const radio::SendResult& r) {
    using S = radio::SendResult::Status;
    ProxyClient* c = client(number);
    if (r.status == S::reissued) {
        // Sent again under a new id (the radio's text limit, or a key pushed first): answers
        // come under that one, and the NAK that caused it is not the client's.
        if (const Origin* origin = origin_of(r.id)) {
            const Origin o = *origin;
            origins_.erase(r.id);
            remember(r.reissued_as, o);
        }
        link_.assign_source(r.reissued_as, number);
        in_outbox_.erase(r.id);
        in_outbox_.insert(r.reissued_as);  // queued again
        if (c && c->in_flight.count(port) && c->in_flight[port] == r.id)
            c->in_flight[port] = r.reissued_as;
        if (c)
            for (auto& ids : c->sent_ids)
                if (ids.second == r.id) ids.second = r.reissued_as;
        return;
    }
    left_outbox(r.id);
    if (refresh_after && (r.status == S::acked || r.status == S::sent)) link_.refresh_config();
    if (!c) return;
    const auto it = c->in_flight.find(port);
    if (it != c->in_flight.end() && (it->second == r.id || r.id == 0)) c->in_flight.erase(it);
    // What the radio answered itself reached the client already (route_packet); these the
    // radio never saw, so the client hears them from us.
    switch (r.status) {
        case S::expired:
        case S::cancelled:
            refuse(*c, client_id, pb::Routing::NO_INTERFACE,
                   "meshbot: the radio was away too long; the packet was not sent");
            break;
        case S::rejected_full:
            refuse(*c, client_id, pb::Routing::RATE_LIMIT_EXCEEDED,
                   "meshbot: the bot's outbox is full; the packet was not sent");
            break;
        case S::refused:
            refuse(*c, client_id, pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY, "meshbot: " + r.message);
            break;
        default:
            break;
    }
    pump(*c);
}

void VirtualNode::remember(std::uint32_t bot_id, Origin origin) {
    if (origins_.insert_or_assign(bot_id, origin).second) origin_order_.push_back(bot_id);
    while (origin_order_.size() > kOrigins) {
        origins_.erase(origin_order_.front());
        origin_order_.pop_front();
    }
}

const VirtualNode::Origin* VirtualNode::origin_of(std::uint32_t bot_id) const {
    const auto it = origins_.find(bot_id);
    return it == origins_.end() ? nullptr : &it->second;
}

void VirtualNode::on_radio_message(const pb::FromRadio& message, const radio::SessionEvent& event) {
    using Kind = radio::SessionEvent::Kind;
    switch (event.kind) {
        case Kind::packet:
            route_packet(message.packet());
            break;
        case Kind::queue_status: {
            const auto id = message.queuestatus().mesh_packet_id();
            const Origin* origin = id ? origin_of(id) : nullptr;
            if (!origin) break;  // the bot's own, or a heartbeat's answer
            const Origin o = *origin;
            pb::FromRadio status = message;
            status.mutable_queuestatus()->set_mesh_packet_id(o.client_id);
            to_owner(o, std::move(status));
            // Out of the outbox: the client's next packet for that port may go in.
            left_outbox(id);
            if (ProxyClient* c = client(o.client)) {
                const auto it = c->in_flight.find(o.port);
                if (it != c->in_flight.end() && it->second == id) {
                    c->in_flight.erase(it);
                    pump(*c);
                }
            }
            break;
        }
        case Kind::notification: {
            const auto& note = message.clientnotification();
            const Origin* origin = note.has_reply_id() ? origin_of(note.reply_id()) : nullptr;
            if (origin) {
                pb::FromRadio own = message;
                own.mutable_clientnotification()->set_reply_id(origin->client_id);
                to_owner(*origin, std::move(own));
            } else if (!note.has_reply_id()) {
                to_all(message);
            }
            break;
        }
        case Kind::ready:
            // Clients that asked before the radio's first handshake get theirs now.
            for (const auto& [number, c] : std::map(clients_))
                if (c->waiting_nonce && !c->closed()) serve_handshake(*c);
            break;
        case Kind::none:
            // A NodeDB change the radio reports outside a handshake (and outside a refresh,
            // which resends the whole NodeDB).
            if (message.has_node_info() && link_.state() == radio::LinkState::ready &&
                !link_.refreshing())
                to_all(message);
            break;
        default:
            break;
    }
}

void VirtualNode::route_packet(const pb::MeshPacket& packet) {
    const std::uint32_t request = packet.has_decoded() ? packet.decoded().request_id() : 0;
    if (request != 0) {
        if (const Origin* origin = origin_of(request)) {
            // An ACK, NAK or response to a client's packet: for that client, under its id.
            const Origin o = *origin;
            pb::FromRadio answer;
            *answer.mutable_packet() = packet;
            answer.mutable_packet()->mutable_decoded()->set_request_id(o.client_id);
            if (!config_.allow_all_admin) redact_private_key(*answer.mutable_packet());
            to_owner(o, std::move(answer));
            return;
        }
        // Routing answers and admin responses to the bot's own packets are the bot's.
        const auto port = packet.decoded().portnum();
        if (port == pb::ROUTING_APP || port == pb::ADMIN_APP) return;
    }
    pb::FromRadio message;
    *message.mutable_packet() = packet;
    const std::uint32_t reply = packet.has_decoded() ? packet.decoded().reply_id() : 0;
    const Origin* origin = reply != 0 ? origin_of(reply) : nullptr;
    if (!origin) {
        to_all(message);
        return;
    }
    // A reply or reaction to a client's packet: that client knows it by its own id.
    const Origin o = *origin;
    to_all(message, o.client);
    if (ProxyClient* c = client(o.client); c && c->configured) {
        message.mutable_packet()->mutable_decoded()->set_reply_id(o.client_id);
        to_owner(o, std::move(message));
    }
}

void VirtualNode::to_owner(const Origin& origin, pb::FromRadio message) {
    if (ProxyClient* c = client(origin.client)) {
        c->send(message);
        ++counters_.frames_relayed;
    }
}

void VirtualNode::to_all(const pb::FromRadio& message, std::uint64_t except) {
    if (clients_.empty()) return;
    const std::string payload = message.SerializeAsString();  // once for every client
    // A client closed for not reading leaves the map inside send(): walk a copy.
    std::vector<std::shared_ptr<ProxyClient>> targets;
    targets.reserve(clients_.size());
    for (const auto& [number, c] : clients_)
        if (c->configured && number != except) targets.push_back(c);
    for (const auto& c : targets) {
        c->send(payload);
        ++counters_.frames_relayed;
    }
}

}  // namespace meshbot::proxy
