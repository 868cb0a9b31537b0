#pragma once
// meshbot::wire, the format: a small protobuf wire-format writer and reader that needs nothing
// but the standard library. <meshbot/sdk/wire.hpp> adds typed helpers for Meshtastic payloads
// on top; include that one.
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

}  // namespace meshbot::wire
