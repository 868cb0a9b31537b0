#pragma once
// What a Meshtastic 2.7 radio knows and how its PhoneAPI answers a client, without any I/O:
// the server feeds decoded ToRadio messages in and writes the returned FromRadio messages out.
// Kept socket-free: record events are queued here and written by the server (take_events).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mesh.pb.h"
#include "node_db.hpp"
#include "radio/node_id.hpp"
#include "recorder.hpp"

namespace meshbot::sim {

inline constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;
inline constexpr std::uint32_t kNonceOnlyConfig = 69420;  // SPECIAL_NONCE_ONLY_CONFIG
inline constexpr std::uint32_t kNonceOnlyNodes = 69421;   // SPECIAL_NONCE_ONLY_NODES
inline constexpr std::size_t kRecentIds = 20;             // PhoneAPI wasSeenRecently window
inline constexpr std::uint32_t kTxQueueLen = 16;          // MAX_TX_QUEUE
inline constexpr std::size_t kToPhoneQueueLen = 8;        // MAX_RX_TOPHONE, classic ESP32
inline constexpr std::uint32_t kHwModel = 43;             // HELTEC_V3: any plausible board id
inline constexpr double kPortThrottle = 10.0;             // POSITION/WAYPOINT/ALERT/TELEMETRY gap
inline constexpr double kTracerouteThrottle = 30.0;       // TRACEROUTE gap
inline constexpr double kRebootedUptime = 3.0;  // a rebooted node's uptime at its 1st packet
inline constexpr std::string_view kFirmwareVersion = "2.7.26.sim";
inline constexpr std::string_view kTracerouteThrottled =
    "TraceRoute can only be sent once every 30 seconds";

// Wall-clock seconds since the epoch, with a fractional part.
double wall_now();

// The simulated state of another radio on the mesh, as opposed to what our NodeDB knows about
// it: it survives our NodeDB forgetting the node.
struct RemoteNode {
    std::string public_key;  // the key it really has and announces in NodeInfo replies
    double booted_at = 0;    // wall-clock epoch of its last boot: uptime = now - booted_at
    std::uint32_t battery = 80;
    float channel_util = 0;
    float air_util_tx = 0;
    std::optional<double> lat;  // no position: POSITION requests get NO_RESPONSE
    std::optional<double> lon;
    bool silent = false;                  // off the air: no ACKs, auto-replies or beacons
    double beacon_every = 0;              // seconds between telemetry broadcasts; 0 = none
    std::uint64_t beacon_generation = 0;  // bumped to end a running beacon loop
};

// The radio's own identity and the LoRa/PhoneAPI knobs the CLI exposes.
struct FirmwareSettings {
    std::uint32_t my_node = 0x0badc0de;
    std::string long_name = "Meshbot Sim";
    std::string short_name = "SIM";
    std::uint32_t hop_limit = 3;
    double text_gap = 2.0;       // seconds between accepted texts on one connection
    double ack_delay = 0.2;      // seconds until a simulated ACK arrives
    std::size_t capacity = 100;  // MAX_NUM_NODES, counting the own node
    double reply_delay = 1.0;    // seconds until a remote node's auto-reply arrives
    double reply_loss = 0.0;     // probability that an auto-reply is lost
    bool throttle = true;        // PhoneAPI's 10 s / 30 s per-portnum limits
    std::uint64_t seed = 1;
};

// PhoneAPI state that lives as long as one client connection.
struct PhoneState {
    std::deque<std::uint32_t> recent_ids;
    std::optional<double> last_text_at;  // monotonic seconds of the last accepted text
    std::map<int, double> last_port_at;  // lastPortNumToRadio: last accepted, per portnum
};

// One --record line the model wants written: {"ev": ev, <fields>}.
struct RecordEvent {
    std::string ev;
    JsonLine fields;
};

// A response the firmware sends later (an ACK after the simulated airtime, an auto-reply).
struct DelayedMessage {
    double delay = 0;
    pb::FromRadio message;
    std::optional<RecordEvent> record;  // written when the message is delivered
};

// What handle_packet decided, and what goes back to the client now and later.
struct PacketOutcome {
    enum class Verdict { accepted, duplicate, rate_limited, throttled };
    Verdict verdict = Verdict::accepted;
    std::uint32_t id = 0;  // the packet id after the firmware assigned one
    // queueStatus first, then any immediate NAK or clientNotification.
    std::vector<pb::FromRadio> replies;
    std::vector<DelayedMessage> later;
};

// The simulated firmware: own node, NodeDB, channels and config, and the other radios' state
// (uptime, beacons, auto-replies). io_context thread only.
class FirmwareModel {
public:
    explicit FirmwareModel(FirmwareSettings settings);

    const FirmwareSettings& settings() const { return settings_; }
    std::uint32_t my_node() const { return settings_.my_node; }
    std::uint32_t reboot_count() const { return reboot_count_; }
    double started_at() const { return started_at_; }

    // ---- NodeDB population and queries (firmware_nodes.cpp)
    // Adds `count` deterministic nodes (num 0x10000001.., "Node 0001"/"N001").
    void add_generated_nodes(int count);
    // Start-up population: a NodeDB entry and the remote radio behind it, no eviction.
    void add_node(SimNode node, RemoteNode remote);
    // Applies --capacity once the start-up population is in (see NodeDb::set_capacity).
    void set_capacity(std::size_t capacity) { db_.set_capacity(capacity); }
    std::size_t capacity() const { return db_.capacity(); }
    const SimNode* find_node(std::uint32_t num) const { return db_.find(num); }
    const std::map<std::uint32_t, SimNode>& nodes() const { return db_.nodes(); }
    // The remote radio `num`, created with defaults derived from its number when unknown.
    RemoteNode& remote(std::uint32_t num);

    // Our radio received `packet` over LoRa from another node: NodeDB::updateFrom (create,
    // evicting if needed; last heard, SNR, hops), then NodeInfo/telemetry/position updates.
    void on_air(const pb::MeshPacket& packet);
    // remove_by_nodenum; reason goes into the "forget" record. False if it was not there.
    bool forget(std::uint32_t num, std::string_view reason);
    // Erases only the stored key. False if the node is not in the NodeDB.
    bool forget_key(std::uint32_t num);
    // A TELEMETRY_APP device_metrics broadcast from remote `num` with its current state.
    pb::MeshPacket node_telemetry(std::uint32_t num);
    // The remote restarts: its uptime begins again near 0.
    void node_reboot(std::uint32_t num);

    // ---- PhoneAPI (firmware_model.cpp)
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
    std::mt19937_64& rng() { return rng_; }
    void note_reboot() { ++reboot_count_; }

    // Record events queued since the last call, oldest first.
    std::vector<RecordEvent> take_events();

private:
    // firmware_model.cpp
    pb::FromRadio routing_packet(std::uint32_t from, std::uint32_t request_id, int error) const;
    pb::FromRadio queue_status(std::uint32_t id) const;
    pb::User own_user() const;
    pb::NodeInfo node_info(const SimNode& node, std::uint32_t now_epoch) const;
    // PhoneAPI's per-portnum limits; true (and `out` filled) when the packet is dropped.
    bool throttled(PhoneState& phone, pb::PortNum port, double now, PacketOutcome& out);
    void record(std::string_view ev, JsonLine fields);

    // firmware_nodes.cpp
    // getOrCreateMeshNode, recording an eviction or a full DB. Null when not stored.
    SimNode* get_or_create(std::uint32_t num);
    // NodeDB::updateUser: a stored key is never replaced by a different one.
    void update_user(std::uint32_t num, const pb::User& user);
    // A local AdminMessage (to the own node); add_contact models NodeDB::addFromContact.
    void handle_admin(const pb::MeshPacket& packet);
    pb::DeviceMetrics remote_metrics(std::uint32_t num);
    pb::User remote_user(std::uint32_t num);

    // firmware_replies.cpp
    // The answer remote `to` sends for a want_response request, if any.
    std::optional<DelayedMessage> auto_reply(const pb::MeshPacket& request, std::uint32_t id);
    pb::MeshPacket reply_packet(std::uint32_t from, std::uint32_t request_id);
    DelayedMessage no_response(std::uint32_t from, std::uint32_t request_id);
    std::string traceroute_payload(std::uint32_t target);
    bool lose_reply();

    FirmwareSettings settings_;
    double started_at_;
    std::string own_key_;
    NodeDb db_;
    std::map<std::uint32_t, RemoteNode> remotes_;
    std::uint32_t reboot_count_ = 1;
    std::uint32_t id_counter_ = 0;
    std::uint32_t flash_writes_ = 0;
    std::uint64_t loss_state_;  // its own stream, so reply loss does not shift packet ids
    std::vector<RecordEvent> events_;
    mutable std::mt19937_64 rng_;
};

// One step of the SplitMix64 generator: small, seedable and the same on every platform.
std::uint64_t splitmix64(std::uint64_t& state);
// A deterministic 32-byte "public key" for a node number (not a real X25519 key).
std::string derive_key(std::uint32_t num);
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);
// "!xxxxxxxx"
inline std::string node_name(std::uint32_t num) {
    return radio::node_id(num);
}

}  // namespace meshbot::sim
