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
// Writing: `Writer` appends fields in the order you call it (write them by field number, as
// protobuf does, if byte-for-byte equality with libprotobuf matters). Proto3 leaves fields with
// default values out; the writer writes whatever it is asked to, so skip defaults yourself.
//
// Reading: `Reader` / `for_each_field` walk the fields of one message. Like protobuf, readers
// skip unknown fields, let the last value of a singular field win, merge repeated occurrences of
// an embedded message, and accept repeated scalars both packed and unpacked. Malformed input
// (truncated, overlong varints, lengths past the end, groups, invalid wire types or field
// numbers) makes Reader::next() return false with ok() false, and the typed decoders return
// std::nullopt; a known field arriving with another wire type is skipped, as protobuf keeps it
// as an unknown field. Nothing here throws, short of std::bad_alloc for the results.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::wire {

// ---------------------------------------------------------------------------------------------
// Port numbers (proto/portnums.proto) a plugin is likely to use with send_data / on_packet.
namespace port {
inline constexpr std::uint32_t text = 1;           // TEXT_MESSAGE_APP: UTF-8 bytes
inline constexpr std::uint32_t position = 3;       // POSITION_APP: Position
inline constexpr std::uint32_t nodeinfo = 4;       // NODEINFO_APP: User
inline constexpr std::uint32_t routing = 5;        // ROUTING_APP: Routing
inline constexpr std::uint32_t admin = 6;          // ADMIN_APP: AdminMessage
inline constexpr std::uint32_t telemetry = 67;     // TELEMETRY_APP: Telemetry
inline constexpr std::uint32_t traceroute = 70;    // TRACEROUTE_APP: RouteDiscovery
inline constexpr std::uint32_t neighborinfo = 71;  // NEIGHBORINFO_APP: NeighborInfo
inline constexpr std::uint32_t private_app = 256;  // PRIVATE_APP: anything of your own
}  // namespace port

// ---------------------------------------------------------------------------------------------
// Primitives

enum class WireType : std::uint8_t {
    varint = 0,   // int32, int64, uint32, uint64, sint32, sint64, bool, enum
    fixed64 = 1,  // fixed64, sfixed64, double
    length = 2,   // string, bytes, embedded messages, packed repeated scalars
    start_group = 3,
    end_group = 4,  // groups are deprecated; the reader treats them as malformed
    fixed32 = 5,    // fixed32, sfixed32, float
};

inline constexpr std::uint32_t kMaxFieldNumber = (1u << 29) - 1;

// sint32/sint64 map small negative numbers to small unsigned ones: 0, -1, 1, -2 -> 0, 1, 2, 3.
constexpr std::uint64_t zigzag(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) {
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

inline void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7F) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

inline void put_tag(std::string& out, std::uint32_t field, WireType type) {
    put_varint(out, (std::uint64_t{field} << 3) | static_cast<std::uint64_t>(type));
}

// Little-endian, whatever the host's byte order.
inline void put_fixed32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline void put_fixed64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

inline std::uint32_t float_bits(float f) {
    static_assert(sizeof(float) == 4, "wire: float must be IEEE-754 binary32");
    std::uint32_t u = 0;
    std::memcpy(&u, &f, sizeof u);
    return u;
}
inline float bits_float(std::uint32_t u) {
    float f = 0;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
inline std::uint64_t double_bits(double d) {
    static_assert(sizeof(double) == 8, "wire: double must be IEEE-754 binary64");
    std::uint64_t u = 0;
    std::memcpy(&u, &d, sizeof u);
    return u;
}
inline double bits_double(std::uint64_t u) {
    double d = 0;
    std::memcpy(&d, &u, sizeof d);
    return d;
}

// ---------------------------------------------------------------------------------------------
// Writer: builds one message. Each method appends one field (tag + value) and returns *this.

class Writer {
public:
    Writer& uint32(std::uint32_t field, std::uint32_t v) { return varint_field(field, v); }
    Writer& uint64(std::uint32_t field, std::uint64_t v) { return varint_field(field, v); }
    Writer& enumeration(std::uint32_t field, std::int32_t v) { return int32(field, v); }
    // Negative int32/int64 values take ten bytes: protobuf sign-extends them to 64 bits.
    Writer& int32(std::uint32_t field, std::int32_t v) {
        return varint_field(field, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
    }
    Writer& int64(std::uint32_t field, std::int64_t v) {
        return varint_field(field, static_cast<std::uint64_t>(v));
    }
    Writer& sint32(std::uint32_t field, std::int32_t v) { return varint_field(field, zigzag(v)); }
    Writer& sint64(std::uint32_t field, std::int64_t v) { return varint_field(field, zigzag(v)); }
    Writer& boolean(std::uint32_t field, bool v) { return varint_field(field, v ? 1 : 0); }

    Writer& fixed32(std::uint32_t field, std::uint32_t v) {
        put_tag(out_, field, WireType::fixed32);
        put_fixed32(out_, v);
        return *this;
    }
    Writer& sfixed32(std::uint32_t field, std::int32_t v) {
        return fixed32(field, static_cast<std::uint32_t>(v));
    }
    Writer& float32(std::uint32_t field, float v) { return fixed32(field, float_bits(v)); }
    Writer& fixed64(std::uint32_t field, std::uint64_t v) {
        put_tag(out_, field, WireType::fixed64);
        put_fixed64(out_, v);
        return *this;
    }
    Writer& sfixed64(std::uint32_t field, std::int64_t v) {
        return fixed64(field, static_cast<std::uint64_t>(v));
    }
    Writer& float64(std::uint32_t field, double v) { return fixed64(field, double_bits(v)); }

    // string, bytes, or an already-encoded embedded message.
    Writer& bytes(std::uint32_t field, std::string_view v) {
        put_tag(out_, field, WireType::length);
        put_varint(out_, v.size());
        out_.append(v.data(), v.size());
        return *this;
    }
    Writer& string(std::uint32_t field, std::string_view v) { return bytes(field, v); }
    Writer& message(std::uint32_t field, const Writer& sub) { return bytes(field, sub.out_); }

    // Packed repeated scalars (proto3's default encoding for repeated numeric fields).
    Writer& packed_int32(std::uint32_t field, const std::vector<std::int32_t>& values) {
        std::string body;
        for (const std::int32_t v : values)
            put_varint(body, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
        return values.empty() ? *this : bytes(field, body);
    }
    Writer& packed_uint32(std::uint32_t field, const std::vector<std::uint32_t>& values) {
        std::string body;
        for (const std::uint32_t v : values)
            put_varint(body, v);
        return values.empty() ? *this : bytes(field, body);
    }
    Writer& packed_fixed32(std::uint32_t field, const std::vector<std::uint32_t>& values) {
        std::string body;
        for (const std::uint32_t v : values)
            put_fixed32(body, v);
        return values.empty() ? *this : bytes(field, body);
    }

    const std::string& data() const { return out_; }
    std::string take() { return std::move(out_); }
    std::size_t size() const { return out_.size(); }
    bool empty() const { return out_.empty(); }

private:
    Writer& varint_field(std::uint32_t field, std::uint64_t v) {
        put_tag(out_, field, WireType::varint);
        put_varint(out_, v);
        return *this;
    }

    std::string out_;
};

// ---------------------------------------------------------------------------------------------
// Reader

// One field as read from the wire. `value` holds varint, fixed32 and fixed64 payloads; `data`
// holds length-delimited ones (a view into the buffer being read). The as_* accessors give the
// value as each protobuf type of that wire type would.
struct Field {
    std::uint32_t number = 0;
    WireType type = WireType::varint;
    std::uint64_t value = 0;
    std::string_view data;

    std::uint32_t as_uint32() const { return static_cast<std::uint32_t>(value); }
    std::uint64_t as_uint64() const { return value; }
    // int32 keeps the low 32 bits of the sign-extended 64-bit varint.
    std::int32_t as_int32() const { return static_cast<std::int32_t>(as_uint32()); }
    std::int64_t as_int64() const { return static_cast<std::int64_t>(value); }
    std::int32_t as_sint32() const {
        return static_cast<std::int32_t>(unzigzag(value & 0xFFFFFFFFu));
    }
    std::int64_t as_sint64() const { return unzigzag(value); }
    bool as_bool() const { return value != 0; }
    std::uint32_t as_fixed32() const { return as_uint32(); }
    std::int32_t as_sfixed32() const { return as_int32(); }
    float as_float() const { return bits_float(as_uint32()); }
    std::uint64_t as_fixed64() const { return value; }
    std::int64_t as_sfixed64() const { return as_int64(); }
    double as_double() const { return bits_double(value); }
    std::string_view as_bytes() const { return data; }
    std::string as_string() const { return std::string(data); }
};

// Reads a varint at `pos`, advancing it; false on truncation or a varint over 64 bits.
inline bool read_varint(std::string_view in, std::size_t& pos, std::uint64_t& out) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= in.size()) return false;
        const auto byte = static_cast<std::uint8_t>(in[pos++]);
        // The tenth byte may only carry the 64th bit.
        if (shift == 63 && byte > 1) return false;
        v |= std::uint64_t{byte & 0x7Fu} << shift;
        if ((byte & 0x80) == 0) {
            out = v;
            return true;
        }
    }
    return false;
}

inline bool read_fixed(std::string_view in, std::size_t& pos, int width, std::uint64_t& out) {
    if (in.size() - pos < static_cast<std::size_t>(width)) return false;
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i)
        v |= std::uint64_t{static_cast<std::uint8_t>(in[pos + static_cast<std::size_t>(i)])}
             << (8 * i);
    pos += static_cast<std::size_t>(width);
    out = v;
    return true;
}

// Walks the fields of one message, in wire order. The buffer must outlive the reader and the
// Fields it yields.
class Reader {
public:
    explicit Reader(std::string_view data) : in_(data) {}
    // The reader keeps a view: a temporary buffer would be gone before the first next().
    explicit Reader(std::string&&) = delete;

    // The next field into `field`. False at the end (ok() true) or on malformed input (ok()
    // false; reading stops there).
    bool next(Field& field) {
        if (!ok_ || pos_ >= in_.size()) return false;
        std::uint64_t tag = 0;
        if (!read_varint(in_, pos_, tag) || tag > 0xFFFFFFFFu) return fail();
        const auto number = static_cast<std::uint32_t>(tag >> 3);
        const auto type = static_cast<std::uint8_t>(tag & 7);
        if (number == 0 || number > kMaxFieldNumber) return fail();
        field = Field{};
        field.number = number;
        switch (type) {
            case 0:
                field.type = WireType::varint;
                if (!read_varint(in_, pos_, field.value)) return fail();
                return true;
            case 1:
                field.type = WireType::fixed64;
                if (!read_fixed(in_, pos_, 8, field.value)) return fail();
                return true;
            case 2: {
                field.type = WireType::length;
                std::uint64_t size = 0;
                if (!read_varint(in_, pos_, size) || size > in_.size() - pos_) return fail();
                field.data = in_.substr(pos_, static_cast<std::size_t>(size));
                pos_ += static_cast<std::size_t>(size);
                return true;
            }
            case 5:
                field.type = WireType::fixed32;
                if (!read_fixed(in_, pos_, 4, field.value)) return fail();
                return true;
            default:
                return fail();  // groups (3, 4) and the unused types 6, 7
        }
    }

    bool ok() const { return ok_; }
    bool at_end() const { return pos_ >= in_.size(); }

private:
    bool fail() {
        ok_ = false;
        return false;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Calls fn(const Field&) for every field of `message`; false if the message is malformed (fn
// has then seen the fields before the damage).
template <typename Fn>
bool for_each_field(std::string_view message, Fn&& fn) {
    Reader reader(message);
    Field field;
    while (reader.next(field))
        fn(static_cast<const Field&>(field));
    return reader.ok();
}

// A repeated varint-typed field (int32, uint32, sint32, bool, enum ...), one occurrence of
// which is `field`: calls fn(std::uint64_t raw) for each value, packed or not. False when the
// wire type does not fit or a packed run is malformed.
template <typename Fn>
bool for_each_varint(const Field& field, Fn&& fn) {
    if (field.type == WireType::varint) {
        fn(field.value);
        return true;
    }
    if (field.type != WireType::length) return false;
    std::size_t pos = 0;
    while (pos < field.data.size()) {
        std::uint64_t v = 0;
        if (!read_varint(field.data, pos, v)) return false;
        fn(v);
    }
    return true;
}

// The same for fixed32-typed repeated fields (fixed32, sfixed32, float): fn(std::uint32_t raw).
template <typename Fn>
bool for_each_fixed32(const Field& field, Fn&& fn) {
    if (field.type == WireType::fixed32) {
        fn(static_cast<std::uint32_t>(field.value));
        return true;
    }
    if (field.type != WireType::length || field.data.size() % 4 != 0) return false;
    for (std::size_t pos = 0; pos < field.data.size();) {
        std::uint64_t v = 0;
        read_fixed(field.data, pos, 4, v);
        fn(static_cast<std::uint32_t>(v));
    }
    return true;
}

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
