#pragma once
// meshbot::wire: a small protobuf wire-format writer and reader for plugins, plus typed helpers
// for the Meshtastic payloads a plugin most often sends with send_data() or receives as an answer
// (Telemetry, Position, RouteDiscovery, Routing).
//
// Why it exists: payloads cross the plugin boundary as bytes, and a plugin must not link
// libprotobuf or the host's generated classes. The host already registers the Meshtastic .proto
// files in libprotobuf's process-wide descriptor pool; a plugin registering them a second time
// aborts the whole process. This header needs nothing but the standard library.
//
//   #include <meshbot/sdk/wire.hpp>
//
//   host.send_data({.to = node, .portnum = meshbot::wire::port::telemetry,
//                   .payload = meshbot::wire::telemetry_request_device_metrics(),
//                   .want_response = true},
//                  [](const meshbot::SendResult& r) {
//                      if (!r.response) return;
//                      auto t = meshbot::wire::decode_telemetry(r.response->payload);
//                      if (t && t->device_metrics && t->device_metrics->battery_level) ...
//                  });
//
// The writer and reader themselves are in wire_format.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshbot/sdk/wire_format.hpp"

namespace meshbot::wire {

// ---------------------------------------------------------------------------------------------
// Typed helpers for Meshtastic payloads. These are wire views: every optional field of the
// schema is a std::optional here (unlike meshbot::DeviceMetrics / meshbot::Position in the
// node store's NodeInfo, which are the host's digested copies).

// DeviceMetrics (telemetry.proto): every field is optional in the schema.
struct DeviceMetrics {
    std::optional<std::uint32_t> battery_level;  // percent; above 100 means external power
    std::optional<float> voltage;
    std::optional<float> channel_utilization;  // percent
    std::optional<float> air_util_tx;          // percent
    std::optional<std::uint32_t> uptime_seconds;
};

// Telemetry (telemetry.proto): time plus a oneof; `variant` names the member present by its
// field number (2 device_metrics, 3 environment, 4 air quality, 5 power, 6 local_stats, 7
// health, 8 host, 9 traffic management), 0 when none. Only device_metrics is decoded; the
// others are recognised by `variant` alone.
struct Telemetry {
    static constexpr std::uint32_t kDeviceMetrics = 2;

    std::uint32_t time = 0;  // epoch seconds
    std::uint32_t variant = 0;
    std::optional<DeviceMetrics> device_metrics;
};

inline std::string encode_device_metrics(const DeviceMetrics& m) {
    Writer w;
    if (m.battery_level) w.uint32(1, *m.battery_level);
    if (m.voltage) w.float32(2, *m.voltage);
    if (m.channel_utilization) w.float32(3, *m.channel_utilization);
    if (m.air_util_tx) w.float32(4, *m.air_util_tx);
    if (m.uptime_seconds) w.uint32(5, *m.uptime_seconds);
    return w.take();
}

inline std::string encode_telemetry(const Telemetry& t) {
    Writer w;
    if (t.time) w.fixed32(1, t.time);
    if (t.device_metrics)
        w.bytes(Telemetry::kDeviceMetrics, encode_device_metrics(*t.device_metrics));
    return w.take();
}

// The request a remote node's DeviceTelemetryModule answers with its device metrics: the empty
// variant asked for selects the reply (firmware: DeviceTelemetryModule::allocReply). Send it
// with want_response to the node; the radio PKI-encrypts it, so both sides need keys.
inline std::string telemetry_request_device_metrics() {
    return encode_telemetry(Telemetry{.device_metrics = DeviceMetrics{}});
}

// Decodes a DeviceMetrics message into `m`, keeping fields the message does not set.
inline bool merge_device_metrics(std::string_view in, DeviceMetrics& m) {
    return for_each_field(in, [&](const Field& f) {
        if (f.type == WireType::varint) {
            if (f.number == 1) m.battery_level = f.as_uint32();
            if (f.number == 5) m.uptime_seconds = f.as_uint32();
        } else if (f.type == WireType::fixed32) {
            if (f.number == 2) m.voltage = f.as_float();
            if (f.number == 3) m.channel_utilization = f.as_float();
            if (f.number == 4) m.air_util_tx = f.as_float();
        }
    });
}

inline std::optional<Telemetry> decode_telemetry(std::string_view in) {
    Telemetry t;
    bool ok = true;
    const bool read = for_each_field(in, [&](const Field& f) {
        if (f.number == 1 && f.type == WireType::fixed32) {
            t.time = f.as_fixed32();
            return;
        }
        if (f.number < 2 || f.number > 9 || f.type != WireType::length) return;
        // A oneof: a later member replaces an earlier one; the same member merges.
        if (f.number != t.variant) t.device_metrics.reset();
        t.variant = f.number;
        if (f.number == Telemetry::kDeviceMetrics) {
            if (!t.device_metrics) t.device_metrics.emplace();
            ok = merge_device_metrics(f.data, *t.device_metrics) && ok;
        }
    });
    if (!read || !ok) return std::nullopt;
    return t;
}

// Position (mesh.proto), the fields a plugin usually needs. latitude_i / longitude_i are
// degrees * 1e7; a node that shares no position sends neither (or precision_bits 0).
struct Position {
    std::optional<std::int32_t> latitude_i;
    std::optional<std::int32_t> longitude_i;
    std::optional<std::int32_t> altitude;  // metres above mean sea level
    std::uint32_t time = 0;                // epoch seconds of the fix
    std::optional<std::int32_t> altitude_hae;
    std::uint32_t sats_in_view = 0;
    std::uint32_t precision_bits = 0;  // 0 none, 32 full precision, less: deliberately blurred

    bool has_location() const { return latitude_i.has_value() && longitude_i.has_value(); }
    double latitude() const { return latitude_i.value_or(0) / 1e7; }
    double longitude() const { return longitude_i.value_or(0) / 1e7; }
};

inline std::string encode_position(const Position& p) {
    Writer w;
    if (p.latitude_i) w.sfixed32(1, *p.latitude_i);
    if (p.longitude_i) w.sfixed32(2, *p.longitude_i);
    if (p.altitude) w.int32(3, *p.altitude);
    if (p.time) w.fixed32(4, p.time);
    if (p.altitude_hae) w.sint32(9, *p.altitude_hae);
    if (p.sats_in_view) w.uint32(19, p.sats_in_view);
    if (p.precision_bits) w.uint32(23, p.precision_bits);
    return w.take();
}

inline std::optional<Position> decode_position(std::string_view in) {
    Position p;
    const bool read = for_each_field(in, [&](const Field& f) {
        if (f.type == WireType::fixed32) {
            if (f.number == 1) p.latitude_i = f.as_sfixed32();
            if (f.number == 2) p.longitude_i = f.as_sfixed32();
            if (f.number == 4) p.time = f.as_fixed32();
        } else if (f.type == WireType::varint) {
            if (f.number == 3) p.altitude = f.as_int32();
            if (f.number == 9) p.altitude_hae = f.as_sint32();
            if (f.number == 19) p.sats_in_view = f.as_uint32();
            if (f.number == 23) p.precision_bits = f.as_uint32();
        }
    });
    if (!read) return std::nullopt;
    return p;
}

// RouteDiscovery (mesh.proto), the TRACEROUTE_APP payload. `route` lists the nodes between the
// two ends (not the ends themselves); snr_towards has one entry per hop, so normally
// route.size() + 1, each the SNR the receiving node heard the hop at, in dB * 4 (kUnknownSnr
// when unknown). The *_back lists describe the way back. A relay that did not identify itself
// appears as kUnknownHop.
struct RouteDiscovery {
    static constexpr std::uint32_t kUnknownHop = 0xFFFFFFFFu;
    static constexpr std::int32_t kUnknownSnr = -128;  // INT8_MIN

    std::vector<std::uint32_t> route;
    std::vector<std::int32_t> snr_towards;
    std::vector<std::uint32_t> route_back;
    std::vector<std::int32_t> snr_back;
};

// A RouteDiscovery SNR entry in dB, or nullopt for kUnknownSnr.
inline std::optional<float> snr_db(std::int32_t quarter_db) {
    if (quarter_db == RouteDiscovery::kUnknownSnr) return std::nullopt;
    return static_cast<float>(quarter_db) / 4.0f;
}

inline std::string encode_route_discovery(const RouteDiscovery& r) {
    Writer w;
    w.packed_fixed32(1, r.route);
    w.packed_int32(2, r.snr_towards);
    w.packed_fixed32(3, r.route_back);
    w.packed_int32(4, r.snr_back);
    return w.take();
}

inline std::optional<RouteDiscovery> decode_route_discovery(std::string_view in) {
    RouteDiscovery r;
    bool ok = true;
    // A field with another wire type is skipped, as protobuf skips it into unknown fields.
    const auto fixed_into = [&](const Field& f, std::vector<std::uint32_t>& out) {
        if (f.type != WireType::fixed32 && f.type != WireType::length) return;
        ok = for_each_fixed32(f, [&](std::uint32_t v) { out.push_back(v); }) && ok;
    };
    const auto int32_into = [&](const Field& f, std::vector<std::int32_t>& out) {
        if (f.type != WireType::varint && f.type != WireType::length) return;
        const auto push = [&](std::uint64_t v) {
            out.push_back(static_cast<std::int32_t>(static_cast<std::uint32_t>(v)));
        };
        ok = for_each_varint(f, push) && ok;
    };
    const bool read = for_each_field(in, [&](const Field& f) {
        if (f.number == 1) fixed_into(f, r.route);
        if (f.number == 2) int32_into(f, r.snr_towards);
        if (f.number == 3) fixed_into(f, r.route_back);
        if (f.number == 4) int32_into(f, r.snr_back);
    });
    if (!read || !ok) return std::nullopt;
    return r;
}

// Routing.Error values (mesh.proto), as carried by SendResult::routing_error and ROUTING_APP
// packets.
namespace routing {
inline constexpr int none = 0;  // an ACK
inline constexpr int no_route = 1;
inline constexpr int got_nak = 2;
inline constexpr int timeout = 3;
inline constexpr int no_interface = 4;
inline constexpr int max_retransmit = 5;
inline constexpr int no_channel = 6;
inline constexpr int too_large = 7;
inline constexpr int no_response = 8;  // the node runs nothing that answers this request
inline constexpr int duty_cycle_limit = 9;
inline constexpr int bad_request = 32;
inline constexpr int not_authorized = 33;
inline constexpr int pki_failed = 34;
inline constexpr int pki_unknown_pubkey = 35;  // the destination lacks our public key
inline constexpr int admin_bad_session_key = 36;
inline constexpr int admin_public_key_unauthorized = 37;
inline constexpr int rate_limit_exceeded = 38;
inline constexpr int pki_send_fail_public_key = 39;  // our radio lacks the destination's key
}  // namespace routing

// The enum name of a Routing.Error value ("NO_RESPONSE"), or "UNKNOWN".
inline const char* routing_error_name(int error) {
    struct Name {
        int value;
        const char* name;
    };
    static constexpr Name names[] = {
        {routing::none, "NONE"},
        {routing::no_route, "NO_ROUTE"},
        {routing::got_nak, "GOT_NAK"},
        {routing::timeout, "TIMEOUT"},
        {routing::no_interface, "NO_INTERFACE"},
        {routing::max_retransmit, "MAX_RETRANSMIT"},
        {routing::no_channel, "NO_CHANNEL"},
        {routing::too_large, "TOO_LARGE"},
        {routing::no_response, "NO_RESPONSE"},
        {routing::duty_cycle_limit, "DUTY_CYCLE_LIMIT"},
        {routing::bad_request, "BAD_REQUEST"},
        {routing::not_authorized, "NOT_AUTHORIZED"},
        {routing::pki_failed, "PKI_FAILED"},
        {routing::pki_unknown_pubkey, "PKI_UNKNOWN_PUBKEY"},
        {routing::admin_bad_session_key, "ADMIN_BAD_SESSION_KEY"},
        {routing::admin_public_key_unauthorized, "ADMIN_PUBLIC_KEY_UNAUTHORIZED"},
        {routing::rate_limit_exceeded, "RATE_LIMIT_EXCEEDED"},
        {routing::pki_send_fail_public_key, "PKI_SEND_FAIL_PUBLIC_KEY"},
    };
    for (const Name& n : names) {
        if (n.value == error) return n.name;
    }
    return "UNKNOWN";
}

// A ROUTING_APP payload that carries an error_reason (0 = ACK), as that value; nullopt for a
// route_request/route_reply or malformed bytes.
inline std::optional<int> decode_routing_error(std::string_view in) {
    std::optional<int> error;
    const bool read = for_each_field(in, [&](const Field& f) {
        if (f.number == 3 && f.type == WireType::varint) {
            error = f.as_int32();
        } else if ((f.number == 1 || f.number == 2) && f.type == WireType::length) {
            error.reset();  // another oneof member replaced it
        }
    });
    if (!read) return std::nullopt;
    return error;
}

inline std::string encode_routing_error(int error) {
    return Writer().enumeration(3, error).take();
}

}  // namespace meshbot::wire
