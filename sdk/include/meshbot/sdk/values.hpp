#pragma once
// Value types the SDK hands to plugin code: copies of what crossed the C boundary, safe to keep.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meshbot/abi.h"
#include "meshbot/sdk/node_id.hpp"

namespace meshbot {

inline constexpr std::uint32_t kBroadcast = MB_BROADCAST;

namespace detail {
inline std::string_view view(mb_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}
inline std::string_view view(mb_bytes b) {
    return b.data ? std::string_view(reinterpret_cast<const char*>(b.data), b.size)
                  : std::string_view();
}
inline mb_str str(std::string_view s) {
    return mb_str{s.data(), s.size()};
}
inline mb_bytes bytes(std::string_view s) {
    return mb_bytes{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
// Whether a struct the host wrote is long enough to hold the field ending at `end` (a field a
// later minor version added; see docs/abi.md).
inline bool has_field(std::uint32_t struct_size, std::size_t end) {
    return struct_size >= end;
}
}  // namespace detail

struct Position {
    double latitude = 0;  // degrees
    double longitude = 0;
    std::int32_t altitude = 0;  // metres
};

struct DeviceMetrics {
    std::uint32_t battery_level = 0;  // percent; above 100 means external power
    float voltage = 0;
    float channel_utilization = 0;
    float air_util_tx = 0;
    std::uint32_t uptime_seconds = 0;
};

// What the bot knows about a node's public key.
enum class KeyState {
    unknown = MB_KEY_UNKNOWN,  // no key heard yet
    pinned = MB_KEY_PINNED,    // the first key seen, or one an operator accepted
    changed = MB_KEY_CHANGED,  // a different key was presented; privileged rights suspended
};

// A node as the bot knows it.
struct NodeInfo {
    std::uint32_t num = 0;
    std::string id;
    std::string long_name;
    std::string short_name;
    std::uint32_t role = 0;
    std::uint32_t hw_model = 0;
    std::string public_key;
    std::uint32_t last_heard = 0;  // epoch seconds, 0 = never
    float snr = 0;
    int hops_away = -1;  // -1 = unknown
    bool is_self = false;
    std::optional<Position> position;
    std::optional<DeviceMetrics> metrics;
    std::int32_t rssi = 0;          // of the last packet heard, 0 = unknown
    std::uint32_t first_heard = 0;  // epoch seconds, 0 = unknown
    KeyState key_state = KeyState::unknown;
    bool radio_has_key = false;  // the connected radio holds its pinned key

    // The short name, or the last four hex digits of the id when the node never said its name.
    std::string display_name() const {
        return short_name.empty() ? default_short_name(num) : short_name;
    }

    static NodeInfo from(const mb_node& n) {
        NodeInfo out;
        out.num = n.num;
        out.id = std::string(detail::view(n.id));
        out.long_name = std::string(detail::view(n.long_name));
        out.short_name = std::string(detail::view(n.short_name));
        out.role = n.role;
        out.hw_model = n.hw_model;
        out.public_key = std::string(detail::view(n.public_key));
        out.last_heard = n.last_heard;
        out.snr = n.snr;
        out.hops_away = n.hops_away;
        out.is_self = n.is_self != 0;
        if (n.has_position) {
            out.position = Position{n.latitude_i / 1e7, n.longitude_i / 1e7, n.altitude};
        }
        if (n.has_device_metrics) {
            out.metrics = DeviceMetrics{n.battery_level, n.voltage, n.channel_utilization,
                                        n.air_util_tx, n.uptime_seconds};
        }
        // Fields of ABI 1.1.
        if (detail::has_field(n.struct_size,
                              offsetof(mb_node, radio_has_key) + sizeof n.radio_has_key)) {
            out.rssi = n.rssi;
            out.first_heard = n.first_heard;
            if (n.key_state == MB_KEY_PINNED || n.key_state == MB_KEY_CHANGED) {
                out.key_state = static_cast<KeyState>(n.key_state);
            }
            out.radio_has_key = n.radio_has_key != 0;
        }
        return out;
    }
};

// A received mesh packet.
struct Packet {
    std::uint32_t from = 0;
    std::uint32_t to = 0;
    std::uint32_t id = 0;
    std::uint32_t channel = 0;
    std::uint32_t portnum = 0;
    std::string payload;
    std::uint32_t request_id = 0;
    bool want_response = false;
    bool pki_encrypted = false;
    bool is_dm = false;
    bool replayed = false;
    float rx_snr = 0;
    std::int32_t rx_rssi = 0;
    int hops_away = -1;
    std::uint32_t rx_time = 0;
    std::string mesh_packet;  // the serialized MeshPacket, for plugins that parse it

    std::string_view text() const { return payload; }

    static Packet from_abi(const mb_packet& p) {
        Packet out;
        out.from = p.from;
        out.to = p.to;
        out.id = p.id;
        out.channel = p.channel;
        out.portnum = p.portnum;
        out.payload = std::string(detail::view(p.payload));
        out.request_id = p.request_id;
        out.want_response = p.want_response != 0;
        out.pki_encrypted = p.pki_encrypted != 0;
        out.is_dm = p.is_dm != 0;
        out.replayed = p.replayed != 0;
        out.rx_snr = p.rx_snr;
        out.rx_rssi = p.rx_rssi;
        out.hops_away = p.hops_away;
        out.rx_time = p.rx_time;
        out.mesh_packet = std::string(detail::view(p.mesh_packet));
        return out;
    }
};

// How a send_data() ended.
struct SendResult {
    enum class Status {
        acked = MB_SEND_ACKED,
        sent = MB_SEND_SENT,
        response = MB_SEND_RESPONSE,
        nak = MB_SEND_NAK,
        timeout = MB_SEND_TIMEOUT,
        expired = MB_SEND_EXPIRED,
        rejected = MB_SEND_REJECTED,
        cancelled = MB_SEND_CANCELLED,
    };
    Status status = Status::rejected;
    std::uint32_t id = 0;
    int routing_error = 0;
    std::uint32_t from = 0;
    std::optional<Packet> response;
    std::string message;

    bool ok() const {
        return status == Status::acked || status == Status::sent || status == Status::response;
    }

    static SendResult from_abi(const mb_send_result& r) {
        SendResult out;
        out.status = static_cast<Status>(r.status);
        out.id = r.id;
        out.routing_error = r.routing_error;
        out.from = r.from;
        if (r.response) out.response = Packet::from_abi(*r.response);
        out.message = std::string(detail::view(r.message));
        return out;
    }
};

// The host's health figures: the radio link, the key sync and the node store.
struct Status {
    bool link_up = false;
    std::uint64_t started_at = 0;       // epoch seconds
    std::uint64_t connected_since = 0;  // epoch seconds, 0 when the link is down
    std::uint64_t last_rx = 0;          // epoch seconds of the last frame, 0 when never
    std::uint32_t sessions = 0;         // handshakes completed; reconnects = sessions - 1
    std::uint32_t radio_queue_free = 0;
    std::uint32_t radio_queue_max = 0;
    std::uint32_t outbox_pending = 0;
    std::uint64_t frames_in = 0;
    std::uint64_t frames_out = 0;
    std::uint64_t key_checks_run = 0;
    std::uint64_t key_checks_skipped = 0;
    std::uint64_t keys_pushed = 0;
    std::uint64_t key_pushes_failed = 0;
    std::uint64_t key_changes = 0;
    std::uint32_t nodes_known = 0;
    std::uint32_t nodes_on_radio = 0;
    std::string data_dir;

    std::uint32_t reconnects() const { return sessions > 0 ? sessions - 1 : 0; }

    static Status from_abi(const mb_status& s) {
        Status out;
        out.link_up = s.link_up != 0;
        out.started_at = s.started_at;
        out.connected_since = s.connected_since;
        out.last_rx = s.last_rx;
        out.sessions = s.sessions;
        out.radio_queue_free = s.radio_queue_free;
        out.radio_queue_max = s.radio_queue_max;
        out.outbox_pending = s.outbox_pending;
        out.frames_in = s.frames_in;
        out.frames_out = s.frames_out;
        out.key_checks_run = s.key_checks_run;
        out.key_checks_skipped = s.key_checks_skipped;
        out.keys_pushed = s.keys_pushed;
        out.key_pushes_failed = s.key_pushes_failed;
        out.key_changes = s.key_changes;
        out.nodes_known = s.nodes_known;
        out.nodes_on_radio = s.nodes_on_radio;
        out.data_dir = std::string(detail::view(s.data_dir));
        return out;
    }

    // The other way, for a host: the bot fills a plugin's mb_status from its own Status, so
    // these fields have one home. `data_dir` points into this Status.
    mb_status to_abi() const {
        mb_status out{};
        out.struct_size = sizeof out;
        out.link_up = link_up ? 1 : 0;
        out.started_at = started_at;
        out.connected_since = connected_since;
        out.last_rx = last_rx;
        out.sessions = sessions;
        out.radio_queue_free = radio_queue_free;
        out.radio_queue_max = radio_queue_max;
        out.outbox_pending = outbox_pending;
        out.frames_in = frames_in;
        out.frames_out = frames_out;
        out.key_checks_run = key_checks_run;
        out.key_checks_skipped = key_checks_skipped;
        out.keys_pushed = keys_pushed;
        out.key_pushes_failed = key_pushes_failed;
        out.key_changes = key_changes;
        out.nodes_known = nodes_known;
        out.nodes_on_radio = nodes_on_radio;
        out.data_dir = mb_str{data_dir.data(), data_dir.size()};
        return out;
    }
};

}  // namespace meshbot
