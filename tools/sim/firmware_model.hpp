#pragma once
// What a Meshtastic 2.7 radio knows and how its PhoneAPI answers a client, without any I/O:
// the server feeds decoded ToRadio messages in and writes the returned FromRadio messages out.
// Kept socket-free so it can grow (PKI, add_contact, NodeDB eviction, auto-replies) and be
// unit-tested on its own.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mesh.pb.h"
#include "radio/node_id.hpp"

namespace meshbot::sim {

inline constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;
inline constexpr std::uint32_t kNonceOnlyConfig = 69420;  // SPECIAL_NONCE_ONLY_CONFIG
inline constexpr std::uint32_t kNonceOnlyNodes = 69421;   // SPECIAL_NONCE_ONLY_NODES
inline constexpr std::size_t kRecentIds = 20;             // PhoneAPI wasSeenRecently window
inline constexpr std::uint32_t kTxQueueLen = 16;          // MAX_TX_QUEUE
inline constexpr std::size_t kToPhoneQueueLen = 8;        // MAX_RX_TOPHONE, classic ESP32
inline constexpr std::string_view kFirmwareVersion = "2.7.26.sim";

// One NodeDB entry as the simulator keeps it.
struct SimNode {
    std::uint32_t num = 0;
    std::string long_name;
    std::string short_name;
    std::string public_key;  // 32 raw bytes; empty = the radio holds no key for this node
    float snr = 0;
    std::uint32_t hops = 0;
    std::uint32_t last_heard_ago = 0;  // seconds before the sim started
    std::optional<double> lat;
    std::optional<double> lon;
    std::optional<std::uint32_t> battery;
};

// The radio's own identity and the LoRa/PhoneAPI knobs the CLI exposes.
struct FirmwareSettings {
    std::uint32_t my_node = 0x0badc0de;
    std::string long_name = "Meshbot Sim";
    std::string short_name = "SIM";
    std::uint32_t hop_limit = 3;
    double text_gap = 2.0;   // seconds between accepted texts on one connection
    double ack_delay = 0.2;  // seconds until a simulated ACK arrives
    std::uint64_t seed = 1;
};

// PhoneAPI state that lives as long as one client connection.
struct PhoneState {
    std::deque<std::uint32_t> recent_ids;
    std::optional<double> last_text_at;  // monotonic seconds of the last accepted text
};

// A response the firmware sends later (an ACK after the simulated airtime).
struct DelayedMessage {
    double delay = 0;
    pb::FromRadio message;
};

// What handle_packet decided, and what goes back to the client now and later.
struct PacketOutcome {
    enum class Verdict { accepted, duplicate, rate_limited };
    Verdict verdict = Verdict::accepted;
    std::uint32_t id = 0;                // the packet id after the firmware assigned one
    std::vector<pb::FromRadio> replies;  // queueStatus first, then any immediate NAK
    std::vector<DelayedMessage> later;
};

// The simulated firmware: own node, NodeDB, channels and config. io_context thread only.
class FirmwareModel {
public:
    explicit FirmwareModel(FirmwareSettings settings);

    const FirmwareSettings& settings() const { return settings_; }
    std::uint32_t my_node() const { return settings_.my_node; }
    std::uint32_t reboot_count() const { return reboot_count_; }

    // Adds `count` deterministic nodes (num 0x10000001.., "Node 0001"/"N001").
    void add_generated_nodes(int count);
    // Inserts or replaces a NodeDB entry (never the own node).
    void upsert_node(SimNode node);
    const SimNode* find_node(std::uint32_t num) const;
    const std::map<std::uint32_t, SimNode>& nodes() const { return nodes_; }

    // The handshake sequence for want_config_id = nonce, config_complete_id included.
    std::vector<pb::FromRadio> handshake(std::uint32_t nonce, std::uint32_t now_epoch) const;
    // The reply to ToRadio.heartbeat (2.7.4+): one queueStatus.
    pb::FromRadio heartbeat_reply() const;
    // PhoneAPI::handleToRadioPacket + MeshService::handleToRadio for one client packet.
    PacketOutcome handle_packet(PhoneState& phone, const pb::MeshPacket& packet, double now);

    // A fresh packet id like Router::generatePacketId (random high bits, counter low bits).
    std::uint32_t next_packet_id();
    // A packet "received over LoRa" from `from`, with SNR/hops filled from the NodeDB.
    pb::MeshPacket make_received(std::uint32_t from, std::uint32_t to, std::uint32_t channel,
                                 std::optional<std::uint32_t> hops, std::uint32_t now_epoch) const;
    // The key the radio would report for `from`: the NodeDB one, else one derived from num.
    std::string key_for(std::uint32_t num) const;
    std::mt19937_64& rng() { return rng_; }
    void note_reboot() { ++reboot_count_; }

private:
    pb::FromRadio routing_packet(std::uint32_t from, std::uint32_t request_id, int error) const;
    pb::FromRadio queue_status(std::uint32_t id) const;
    pb::User own_user() const;
    pb::NodeInfo node_info(const SimNode& node, std::uint32_t now_epoch) const;

    FirmwareSettings settings_;
    std::string own_key_;
    std::map<std::uint32_t, SimNode> nodes_;
    std::uint32_t reboot_count_ = 1;
    std::uint32_t id_counter_ = 0;
    mutable std::mt19937_64 rng_;
};

// A deterministic 32-byte "public key" for a node number (not a real X25519 key).
std::string derive_key(std::uint32_t num);
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace meshbot::sim
