#include "firmware_model.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace meshbot::sim {

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

namespace {

std::uint32_t epoch_now() {
    return static_cast<std::uint32_t>(std::time(nullptr));
}

// Portnums the firmware never PKI-encrypts (Router::perhapsEncode), so they need no key.
bool never_pki(pb::PortNum port) {
    return port == pb::TRACEROUTE_APP || port == pb::NODEINFO_APP || port == pb::ROUTING_APP ||
           port == pb::POSITION_APP;
}

constexpr int kNumChannels = 8;
constexpr int kNumModuleConfigs = 16;

// PhoneAPI::handleToRadioPacket's 10-second group (v2.7.1+).
bool ten_second_port(pb::PortNum port) {
    return port == pb::POSITION_APP || port == pb::WAYPOINT_APP || port == pb::ALERT_APP ||
           port == pb::TELEMETRY_APP;
}

}  // namespace

double wall_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string derive_key(std::uint32_t num) {
    std::uint64_t state = 0x6D657368626F74ULL ^ num;  // "meshbot"
    std::string key;
    key.reserve(32);
    for (int word = 0; word < 4; ++word) {
        const std::uint64_t v = splitmix64(state);
        for (int b = 0; b < 8; ++b)
            key.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
    }
    return key;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0F]);
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
        if (ec != std::errc{} || end != hex.data() + i + 2) return std::nullopt;
        out.push_back(static_cast<char>(value));
    }
    return out;
}

FirmwareModel::FirmwareModel(FirmwareSettings settings)
    : settings_(std::move(settings)),
      started_at_(wall_now()),
      own_key_(derive_key(settings_.my_node)),
      db_(settings_.my_node),
      loss_state_(settings_.seed ^ 0x6C6F7373ULL),  // "loss"
      rng_(settings_.seed) {
    id_counter_ = static_cast<std::uint32_t>(rng_());
    db_.set_capacity(settings_.capacity);
}

void FirmwareModel::record(std::string_view ev, JsonLine fields) {
    events_.push_back(RecordEvent{std::string(ev), std::move(fields)});
}

std::vector<RecordEvent> FirmwareModel::take_events() {
    std::vector<RecordEvent> out;
    out.swap(events_);
    return out;
}

pb::User FirmwareModel::own_user() const {
    pb::User user;
    user.set_id(radio::node_id(settings_.my_node));
    user.set_long_name(settings_.long_name);
    user.set_short_name(settings_.short_name);
    user.set_hw_model(kHwModel);
    user.set_role(pb::CLIENT);
    user.set_public_key(own_key_);
    return user;
}

pb::NodeInfo FirmwareModel::node_info(const SimNode& node, std::uint32_t now_epoch) const {
    pb::NodeInfo info;
    info.set_num(node.num);
    if (node.has_user) {
        pb::User* user = info.mutable_user();
        user->set_id(radio::node_id(node.num));
        user->set_long_name(node.long_name);
        user->set_short_name(node.short_name);
        user->set_hw_model(kHwModel);
        user->set_public_key(node.public_key);
    }
    info.set_snr(node.snr);
    const auto heard = static_cast<std::uint32_t>(node.last_heard);
    info.set_last_heard(std::min(heard, now_epoch));
    info.set_hops_away(node.hops);
    info.set_is_favorite(node.favorite);
    info.set_is_ignored(node.ignored);
    // fw2.7 embeds position and device metrics in each NodeInfo (docs/radio-protocol.md §2).
    if (node.lat && node.lon) {
        pb::Position* pos = info.mutable_position();
        pos->set_latitude_i(static_cast<std::int32_t>(*node.lat * 1e7));
        pos->set_longitude_i(static_cast<std::int32_t>(*node.lon * 1e7));
        pos->set_time(info.last_heard());
        pos->set_precision_bits(32);
    }
    if (node.metrics) *info.mutable_device_metrics() = *node.metrics;
    return info;
}

std::vector<pb::FromRadio> FirmwareModel::handshake(std::uint32_t nonce,
                                                    std::uint32_t now_epoch) const {
    const bool only_nodes = nonce == kNonceOnlyNodes;
    const bool skip_nodes = nonce == kNonceOnlyConfig;
    std::vector<pb::FromRadio> out;
    const auto next = [&out]() -> pb::FromRadio& { return out.emplace_back(); };

    if (!only_nodes) {
        pb::MyNodeInfo* my = next().mutable_my_info();
        my->set_my_node_num(settings_.my_node);
        my->set_reboot_count(reboot_count_);
        my->set_min_app_version(30200);
        my->set_device_id(derive_key(~settings_.my_node).substr(0, 16));
        my->set_pio_env("meshbot-sim");
        my->set_nodedb_count(static_cast<std::uint32_t>(db_.count()));
        next().mutable_deviceuiconfig();
    }
    {
        pb::NodeInfo* own = next().mutable_node_info();
        own->set_num(settings_.my_node);
        *own->mutable_user() = own_user();
        own->set_last_heard(now_epoch);
    }
    if (!only_nodes) {
        pb::DeviceMetadata* meta = next().mutable_metadata();
        meta->set_firmware_version(std::string(kFirmwareVersion));
        meta->set_device_state_version(24);
        meta->set_canshutdown(true);
        meta->set_haswifi(true);
        meta->set_hasbluetooth(true);
        meta->set_role(pb::CLIENT);
        meta->set_hw_model(kHwModel);
        meta->set_haspkc(true);
        for (int i = 0; i < kNumChannels; ++i) {
            pb::Channel* channel = next().mutable_channel();
            channel->set_index(i);
            if (i == 0) {
                channel->set_role(pb::Channel::PRIMARY);
                channel->mutable_settings()->set_psk(std::string(1, '\x01'));
                channel->mutable_settings()->set_name("");
            } else {
                channel->set_role(pb::Channel::DISABLED);
                channel->mutable_settings();
            }
        }
        // One Config per oneof tag 1..10, in tag order.
        next().mutable_config()->mutable_device();
        next().mutable_config()->mutable_position();
        next().mutable_config()->mutable_power();
        next().mutable_config()->mutable_network();
        next().mutable_config()->mutable_display();
        {
            pb::LoRaConfig* lora = next().mutable_config()->mutable_lora();
            lora->set_modem_preset(0);  // LONG_FAST
            lora->set_region(3);        // EU_868
            lora->set_hop_limit(settings_.hop_limit);
        }
        next().mutable_config()->mutable_bluetooth();
        {
            pb::SecurityConfig* security = next().mutable_config()->mutable_security();
            security->set_public_key(own_key_);
            security->set_private_key(derive_key(settings_.my_node ^ 0x5A5A5A5Au));
            security->set_serial_enabled(true);
        }
        next().mutable_config()->mutable_sessionkey();
        next().mutable_config()->mutable_device_ui();
        for (int i = 0; i < kNumModuleConfigs; ++i)
            next().mutable_moduleconfig();
    }
    if (!skip_nodes) {
        for (const auto& [num, node] : db_.nodes())
            *next().mutable_node_info() = node_info(node, now_epoch);
    }
    if (!only_nodes) {
        pb::FileInfo* prefs = next().mutable_fileinfo();
        prefs->set_file_name("/prefs/config.proto");
        prefs->set_size_bytes(412);
        pb::FileInfo* db = next().mutable_fileinfo();
        db->set_file_name("/prefs/nodes.proto");
        db->set_size_bytes(static_cast<std::uint32_t>(180 * db_.count()));
    }
    next().set_config_complete_id(nonce);
    return out;
}

pb::FromRadio FirmwareModel::queue_status(std::uint32_t id) const {
    pb::FromRadio msg;
    pb::QueueStatus* qs = msg.mutable_queuestatus();
    qs->set_res(0);
    // The simulated TX queue drains instantly, so it is always (nearly) empty.
    qs->set_free(id == 0 ? kTxQueueLen : kTxQueueLen - 1);
    qs->set_maxlen(kTxQueueLen);
    qs->set_mesh_packet_id(id);
    return msg;
}

pb::FromRadio FirmwareModel::heartbeat_reply() const {
    return queue_status(0);
}

pb::FromRadio FirmwareModel::routing_packet(std::uint32_t from, std::uint32_t request_id,
                                            int error) const {
    pb::FromRadio msg;
    pb::MeshPacket* p = msg.mutable_packet();
    p->set_from(from);
    p->set_to(settings_.my_node);
    p->set_channel(0);
    p->set_id(static_cast<std::uint32_t>(rng_()) | 1u);
    p->set_rx_time(epoch_now());
    p->set_priority(pb::MeshPacket::ACK);
    p->set_hop_start(settings_.hop_limit);
    const SimNode* node = db_.find(from);
    const std::uint32_t hops = node != nullptr ? std::min(node->hops, settings_.hop_limit) : 0;
    p->set_hop_limit(settings_.hop_limit - hops);
    if (node != nullptr) p->set_rx_snr(node->snr);
    p->set_transport_mechanism(from == settings_.my_node ? pb::MeshPacket::TRANSPORT_INTERNAL
                                                         : pb::MeshPacket::TRANSPORT_LORA);
    pb::Routing routing;
    routing.set_error_reason(static_cast<pb::Routing_Error>(error));
    pb::Data* data = p->mutable_decoded();
    data->set_portnum(pb::ROUTING_APP);
    data->set_payload(routing.SerializeAsString());
    data->set_request_id(request_id);
    return msg;
}

bool FirmwareModel::throttled(PhoneState& phone, pb::PortNum port, double now, PacketOutcome& out) {
    if (port == pb::TEXT_MESSAGE_APP) {
        if (phone.last_text_at && now - *phone.last_text_at < settings_.text_gap) {
            out.verdict = PacketOutcome::Verdict::rate_limited;
            out.replies.push_back(queue_status(out.id));
            out.replies.push_back(
                routing_packet(settings_.my_node, out.id, pb::Routing::RATE_LIMIT_EXCEEDED));
            return true;
        }
        return false;
    }
    const bool traceroute = port == pb::TRACEROUTE_APP;
    if (!settings_.throttle || (!traceroute && !ten_second_port(port))) return false;
    const auto last = phone.last_port_at.find(static_cast<int>(port));
    const double gap = traceroute ? kTracerouteThrottle : kPortThrottle;
    if (last == phone.last_port_at.end() || now - last->second >= gap) return false;
    out.verdict = PacketOutcome::Verdict::throttled;
    out.replies.push_back(queue_status(out.id));
    if (traceroute) {
        // Only traceroute tells the client why; the 10-second group drops silently.
        pb::FromRadio note;
        pb::ClientNotification* cn = note.mutable_clientnotification();
        cn->set_reply_id(out.id);
        cn->set_level(30);  // WARNING
        cn->set_time(static_cast<std::uint32_t>(wall_now()));
        cn->set_message(std::string(kTracerouteThrottled));
        out.replies.push_back(note);
    }
    record("throttled", JsonLine().add("portnum", static_cast<int>(port)).add("id", out.id));
    return true;
}

PacketOutcome FirmwareModel::handle_packet(PhoneState& phone, const pb::MeshPacket& packet,
                                           double now) {
    PacketOutcome out;
    out.id = packet.id();
    if (out.id != 0) {
        auto& seen = phone.recent_ids;
        if (std::find(seen.begin(), seen.end(), out.id) != seen.end()) {
            out.verdict = PacketOutcome::Verdict::duplicate;
            return out;
        }
        seen.push_back(out.id);
        if (seen.size() > kRecentIds) seen.pop_front();
    } else {
        out.id = next_packet_id();  // MeshService::handleToRadio assigns one
    }

    const bool decoded = packet.has_decoded();
    const pb::PortNum port = decoded ? packet.decoded().portnum() : pb::UNKNOWN_APP;
    if (throttled(phone, port, now, out)) return out;
    // The firmware measures every limit from the last *accepted* packet of that portnum.
    phone.last_port_at[static_cast<int>(port)] = now;
    if (port == pb::TEXT_MESSAGE_APP) phone.last_text_at = now;
    out.replies.push_back(queue_status(out.id));

    const std::uint32_t to = packet.to();
    const bool broadcast = to == kBroadcast || to == 1;
    // The firmware forces want_ack on a traceroute DM (docs/radio-protocol.md §7).
    const bool want_ack =
        packet.want_ack() || (port == pb::TRACEROUTE_APP && !broadcast && to != settings_.my_node);
    const auto ack = [&](std::uint32_t from, int error, double delay) {
        if (want_ack)
            out.later.push_back({delay, routing_packet(from, out.id, error), std::nullopt});
    };
    if (to == settings_.my_node) {
        if (port == pb::ADMIN_APP) handle_admin(packet);
        // ReliableRouter: a local packet with want_ack is acknowledged by the own node.
        ack(settings_.my_node, pb::Routing::NONE, settings_.ack_delay);
        return out;
    }

    const SimNode* node = db_.find(to);
    const std::string key = node != nullptr ? node->public_key : std::string();
    bool pki = false;
    if (!broadcast && decoded) {
        const auto nak = [&](int error) {
            out.replies.push_back(routing_packet(settings_.my_node, out.id, error));
        };
        // 2.7.19+: a DM that would be PKI-encrypted to a node without a stored key is refused.
        if (key.empty() && (!never_pki(port) || packet.pki_encrypted())) {
            nak(pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY);
            return out;
        }
        if (never_pki(port) && packet.pki_encrypted()) {
            nak(pb::Routing::PKI_FAILED);  // PKI was demanded for a channel-only portnum
            return out;
        }
        pki = !never_pki(port);
        // A client's key is only compared with the stored one (docs/radio-protocol.md §5.3).
        const std::string& offered = packet.public_key();
        const bool offered_set =
            offered.size() == 32 && offered.find_first_not_of('\0') != std::string::npos;
        if (pki && packet.pki_encrypted() && offered_set && offered != key) {
            nak(pb::Routing::PKI_FAILED);
            return out;
        }
    }
    JsonLine delivered;
    delivered.add("to", node_name(to)).add("id", out.id).add("portnum", static_cast<int>(port));
    delivered.add("pki", pki);
    if (pki) delivered.add("key_hex", to_hex(key));
    record("delivered", std::move(delivered));

    if (broadcast) {
        // Implicit ACK: a neighbour's rebroadcast heard by our own radio.
        ack(settings_.my_node, pb::Routing::NONE, settings_.ack_delay);
        return out;
    }
    const bool reachable = node != nullptr && !remote(to).silent;
    if (reachable) {
        ack(to, pb::Routing::NONE, settings_.ack_delay);
    } else {
        // Unknown or silent destination: three unanswered retransmissions.
        ack(settings_.my_node, pb::Routing::MAX_RETRANSMIT, settings_.ack_delay * 5);
    }
    if (reachable && decoded && packet.decoded().want_response()) {
        if (auto reply = auto_reply(packet, out.id)) out.later.push_back(std::move(*reply));
    }
    return out;
}

std::uint32_t FirmwareModel::next_packet_id() {
    // Router::generatePacketId: 22 random high bits, a 10-bit rolling counter, never 0.
    ++id_counter_;
    const auto high = static_cast<std::uint32_t>(rng_()) & ~0x3FFu;
    const std::uint32_t id = high | (id_counter_ & 0x3FFu);
    return id == 0 ? 1 : id;
}

pb::MeshPacket FirmwareModel::make_received(std::uint32_t from, std::uint32_t to,
                                            std::uint32_t channel,
                                            std::optional<std::uint32_t> hops,
                                            std::uint32_t now_epoch) const {
    pb::MeshPacket p;
    p.set_from(from);
    p.set_to(to);
    p.set_channel(channel);
    p.set_rx_time(now_epoch);
    const SimNode* node = db_.find(from);
    const std::uint32_t travelled =
        std::min(hops.value_or(node != nullptr ? node->hops : 0), settings_.hop_limit);
    p.set_hop_start(settings_.hop_limit);
    p.set_hop_limit(settings_.hop_limit - travelled);
    p.set_rx_snr(node != nullptr ? node->snr : 5.0f);
    p.set_rx_rssi(node != nullptr ? static_cast<std::int32_t>(-90 + node->snr) : -95);
    p.set_transport_mechanism(pb::MeshPacket::TRANSPORT_LORA);
    return p;
}

}  // namespace meshbot::sim
