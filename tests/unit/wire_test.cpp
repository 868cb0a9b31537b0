// The SDK's protobuf wire reader/writer (meshbot/sdk/wire.hpp), checked byte for byte against
// libprotobuf's own encoding of the same schema (the generated classes of proto/).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mesh.pb.h"
#include "meshbot/sdk/wire.hpp"
#include "telemetry.pb.h"

namespace wire = meshbot::wire;
namespace pb = meshbot::pb;

namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (const int v : values)
        out.push_back(static_cast<char>(v));
    return out;
}

std::vector<wire::Field> fields_of(std::string_view message, bool* ok = nullptr) {
    std::vector<wire::Field> out;
    const bool read =
        wire::for_each_field(message, [&](const wire::Field& f) { out.push_back(f); });
    if (ok) *ok = read;
    return out;
}

}  // namespace

TEST_CASE("wire: varints encode as protobuf does and read back, up to 64 bits", "[wire]") {
    std::string out;
    wire::put_varint(out, 300);
    CHECK(out == bytes({0xAC, 0x02}));

    for (const std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, 0xFFFFFFFFull,
                                  0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull}) {
        std::string buf;
        wire::put_varint(buf, v);
        std::size_t pos = 0;
        std::uint64_t back = 0;
        REQUIRE(wire::read_varint(buf, pos, back));
        CHECK(back == v);
        CHECK(pos == buf.size());
    }
    std::string max;
    wire::put_varint(max, ~0ull);
    CHECK(max.size() == 10);
}

TEST_CASE("wire: zigzag maps signed to unsigned like sint32/sint64", "[wire]") {
    CHECK(wire::zigzag(0) == 0);
    CHECK(wire::zigzag(-1) == 1);
    CHECK(wire::zigzag(1) == 2);
    CHECK(wire::zigzag(-2) == 3);
    CHECK(wire::zigzag(std::numeric_limits<std::int32_t>::max()) == 0xFFFFFFFEu);
    CHECK(wire::zigzag(std::numeric_limits<std::int32_t>::min()) == 0xFFFFFFFFu);
    const std::int64_t values[] = {0,
                                   -1,
                                   1,
                                   -64,
                                   63,
                                   std::numeric_limits<std::int64_t>::min(),
                                   std::numeric_limits<std::int64_t>::max()};
    for (const std::int64_t v : values)
        CHECK(wire::unzigzag(wire::zigzag(v)) == v);
}

TEST_CASE("wire: the writer produces libprotobuf's bytes for every scalar type", "[wire]") {
    SECTION("a negative int32 takes ten bytes, sint32 one") {
        pb::Position p;
        p.set_altitude(-5);
        CHECK(wire::Writer().int32(3, -5).data() == p.SerializeAsString());
        CHECK(wire::Writer().int32(3, -5).size() == 11);
        CHECK(wire::Writer().sint32(9, -5).data() == bytes({9 << 3, 9}));
    }
    SECTION("fixed32, sfixed32 and float are little-endian") {
        pb::Position p;
        p.set_latitude_i(-123456789);
        p.set_time(0x01020304);
        CHECK(wire::Writer().sfixed32(1, -123456789).fixed32(4, 0x01020304).data() ==
              p.SerializeAsString());
        pb::DeviceMetrics m;
        m.set_voltage(4.05f);
        CHECK(wire::Writer().float32(2, 4.05f).data() == m.SerializeAsString());
    }
    SECTION("strings, bools, nested messages") {
        pb::User u;
        u.set_long_name("Café 📡");
        u.set_is_licensed(true);
        CHECK(wire::Writer().string(2, "Café 📡").boolean(6, true).data() == u.SerializeAsString());

        pb::Telemetry t;
        t.mutable_device_metrics()->set_battery_level(80);
        wire::Writer inner;
        inner.uint32(1, 80);
        CHECK(wire::Writer().message(2, inner).data() == t.SerializeAsString());
    }
    SECTION("64-bit types") {
        const auto w =
            wire::Writer().fixed64(1, 0x0102030405060708ull).sint64(2, -3).float64(3, 0.5);
        const auto fields = fields_of(w.data());
        REQUIRE(fields.size() == 3);
        CHECK(fields[0].type == wire::WireType::fixed64);
        CHECK(fields[0].as_fixed64() == 0x0102030405060708ull);
        CHECK(fields[1].as_sint64() == -3);
        CHECK(fields[2].as_double() == 0.5);
    }
}

TEST_CASE("wire: the telemetry request is Telemetry{device_metrics{}} and answers decode",
          "[wire]") {
    pb::Telemetry request;
    request.mutable_device_metrics();
    CHECK(wire::telemetry_request_device_metrics() == request.SerializeAsString());
    CHECK(wire::telemetry_request_device_metrics() == bytes({0x12, 0x00}));

    pb::Telemetry answer;
    answer.set_time(1700000000);
    auto* m = answer.mutable_device_metrics();
    m->set_battery_level(101);
    m->set_voltage(4.2f);
    m->set_channel_utilization(12.5f);
    m->set_air_util_tx(1.25f);
    m->set_uptime_seconds(93784);
    const auto t = wire::decode_telemetry(answer.SerializeAsString());
    REQUIRE(t);
    CHECK(t->time == 1700000000);
    CHECK(t->variant == wire::Telemetry::kDeviceMetrics);
    REQUIRE(t->device_metrics);
    CHECK(t->device_metrics->battery_level == 101u);
    CHECK(t->device_metrics->voltage == 4.2f);
    CHECK(t->device_metrics->channel_utilization == 12.5f);
    CHECK(t->device_metrics->air_util_tx == 1.25f);
    CHECK(t->device_metrics->uptime_seconds == 93784u);

    // Round trip through our own encoder gives libprotobuf's bytes too.
    CHECK(wire::encode_telemetry(*t) == answer.SerializeAsString());

    SECTION("absent optional fields stay absent, zero ones are present") {
        pb::Telemetry partial;
        partial.mutable_device_metrics()->set_battery_level(0);
        const auto p = wire::decode_telemetry(partial.SerializeAsString());
        REQUIRE(p);
        REQUIRE(p->device_metrics);
        CHECK(p->device_metrics->battery_level == 0u);
        CHECK_FALSE(p->device_metrics->voltage);
        CHECK_FALSE(p->device_metrics->uptime_seconds);
    }
    SECTION("another variant is named but not decoded") {
        pb::Telemetry local;
        local.mutable_local_stats()->set_uptime(5);
        const auto l = wire::decode_telemetry(local.SerializeAsString());
        REQUIRE(l);
        CHECK(l->variant == 6);
        CHECK_FALSE(l->device_metrics);
    }
    SECTION("an empty payload is an empty Telemetry") {
        const auto e = wire::decode_telemetry("");
        REQUIRE(e);
        CHECK(e->variant == 0);
    }
}

TEST_CASE("wire: positions decode with their optional fields, negative values included", "[wire]") {
    pb::Position p;
    p.set_latitude_i(-338688000);
    p.set_longitude_i(1512093000);
    p.set_altitude(-12);
    p.set_time(1700000001);
    p.set_sats_in_view(7);
    p.set_precision_bits(32);
    const auto pos = wire::decode_position(p.SerializeAsString());
    REQUIRE(pos);
    REQUIRE(pos->has_location());
    CHECK(pos->latitude() == Approx(-33.8688));
    CHECK(pos->longitude() == Approx(151.2093));
    CHECK(pos->altitude == -12);
    CHECK(pos->time == 1700000001u);
    CHECK(pos->sats_in_view == 7u);
    CHECK(pos->precision_bits == 32u);
    CHECK(wire::encode_position(*pos) == p.SerializeAsString());

    // Field 9 is altitude_hae (sint32) in the official schema; proto/ does not model it.
    const auto hae = wire::decode_position(wire::Writer().sint32(9, -40).data());
    REQUIRE(hae);
    CHECK(hae->altitude_hae == -40);
    CHECK_FALSE(hae->has_location());

    // The empty Position a client sends to ask for one.
    CHECK(wire::encode_position({}).empty());
    const auto none = wire::decode_position("");
    REQUIRE(none);
    CHECK_FALSE(none->has_location());
}

TEST_CASE("wire: route discoveries decode packed (libprotobuf) and unpacked, with unknown markers",
          "[wire]") {
    pb::RouteDiscovery rd;
    rd.add_route(0x10000004);
    rd.add_route(0xFFFFFFFF);
    rd.add_snr_towards(24);
    rd.add_snr_towards(-128);
    rd.add_snr_towards(-15);
    rd.add_route_back(0x10000004);
    rd.add_snr_back(21);
    rd.add_snr_back(22);
    const auto r = wire::decode_route_discovery(rd.SerializeAsString());
    REQUIRE(r);
    CHECK(r->route == std::vector<std::uint32_t>{0x10000004, wire::RouteDiscovery::kUnknownHop});
    CHECK(r->snr_towards == std::vector<std::int32_t>{24, -128, -15});
    CHECK(r->route_back == std::vector<std::uint32_t>{0x10000004});
    CHECK(r->snr_back == std::vector<std::int32_t>{21, 22});
    CHECK(wire::encode_route_discovery(*r) == rd.SerializeAsString());

    CHECK(wire::snr_db(24) == 6.0f);
    CHECK(wire::snr_db(21) == 5.25f);
    CHECK(wire::snr_db(-15) == -3.75f);
    CHECK_FALSE(wire::snr_db(wire::RouteDiscovery::kUnknownSnr));

    // An encoder may write repeated scalars one by one; readers must accept both.
    wire::Writer unpacked;
    unpacked.fixed32(1, 7).fixed32(1, 8).int32(2, -4).int32(2, 12).int32(2, 0);
    const auto u = wire::decode_route_discovery(unpacked.data());
    REQUIRE(u);
    CHECK(u->route == std::vector<std::uint32_t>{7, 8});
    CHECK(u->snr_towards == std::vector<std::int32_t>{-4, 12, 0});

    // A field with another wire type is skipped like an unknown field, not an error.
    const auto skipped = wire::decode_route_discovery(wire::Writer().uint32(1, 9).data());
    REQUIRE(skipped);
    CHECK(skipped->route.empty());

    const auto empty = wire::decode_route_discovery("");
    REQUIRE(empty);
    CHECK(empty->route.empty());
    CHECK(wire::encode_route_discovery({}).empty());
}

TEST_CASE("wire: routing answers give their error reason, ACK included", "[wire]") {
    pb::Routing nak;
    nak.set_error_reason(pb::Routing::NO_RESPONSE);
    CHECK(wire::decode_routing_error(nak.SerializeAsString()) == 8);
    CHECK(wire::encode_routing_error(8) == nak.SerializeAsString());

    pb::Routing ack;
    ack.set_error_reason(pb::Routing::NONE);  // a oneof member: present even when 0
    CHECK(wire::decode_routing_error(ack.SerializeAsString()) == 0);

    pb::Routing reply;
    reply.mutable_route_reply()->add_route(1);
    CHECK_FALSE(wire::decode_routing_error(reply.SerializeAsString()));
    CHECK_FALSE(wire::decode_routing_error(""));

    CHECK(std::string(wire::routing_error_name(39)) == "PKI_SEND_FAIL_PUBLIC_KEY");
    CHECK(std::string(wire::routing_error_name(8)) == "NO_RESPONSE");
    CHECK(std::string(wire::routing_error_name(1234)) == "UNKNOWN");
}

TEST_CASE("wire: readers skip unknown fields, let the last value win and merge repeated messages",
          "[wire]") {
    wire::Writer inner1;
    inner1.uint32(1, 50);
    wire::Writer inner2;
    inner2.float32(2, 3.9f);
    wire::Writer msg;
    msg.uint32(99, 1)
        .bytes(100, "unknown")
        .fixed64(101, 5)
        .fixed32(1, 1)
        .fixed32(1, 2)
        .message(2, inner1)
        .message(2, inner2);
    const auto t = wire::decode_telemetry(msg.data());
    REQUIRE(t);
    CHECK(t->time == 2);
    REQUIRE(t->device_metrics);
    CHECK(t->device_metrics->battery_level == 50u);
    CHECK(t->device_metrics->voltage == 3.9f);

    // The same bytes through libprotobuf agree.
    pb::Telemetry ref;
    REQUIRE(ref.ParseFromString(msg.data()));
    CHECK(ref.time() == 2);
    CHECK(ref.device_metrics().battery_level() == 50);

    // A later oneof member replaces the device metrics.
    msg.bytes(3, "");
    const auto replaced = wire::decode_telemetry(msg.data());
    REQUIRE(replaced);
    CHECK(replaced->variant == 3);
    CHECK_FALSE(replaced->device_metrics);

    // A field with an unexpected wire type is ignored, as an unknown field would be.
    const auto odd = wire::decode_position(wire::Writer().uint32(1, 5).data());
    REQUIRE(odd);
    CHECK_FALSE(odd->latitude_i);
}

TEST_CASE("wire: malformed input is refused, never read past the end", "[wire]") {
    const std::vector<std::string> bad = {
        bytes({0x08}),              // varint field without its value
        bytes({0x08, 0x80}),        // truncated varint
        bytes({0x12, 0x05, 0x01}),  // length past the end
        bytes({0x0D, 0x01, 0x02}),  // truncated fixed32
        bytes({0x09, 0x01}),        // truncated fixed64
        bytes({0x0B}),              // start group
        bytes({0x0C}),              // end group
        bytes({0x0E, 0x00}),        // wire type 6
        bytes({0x00, 0x01}),        // field number 0
        bytes({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}),  // > 64 bits
        bytes({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
    };
    for (const auto& b : bad) {
        INFO("bytes " << b.size());
        bool ok = true;
        fields_of(b, &ok);
        CHECK_FALSE(ok);
        CHECK_FALSE(wire::decode_telemetry(b));
        CHECK_FALSE(wire::decode_position(b));
        CHECK_FALSE(wire::decode_route_discovery(b));
    }
    // A malformed nested message spoils the whole answer.
    CHECK_FALSE(wire::decode_telemetry(bytes({0x12, 0x02, 0x08, 0x80})));
    // A packed fixed32 run whose length is not a multiple of 4.
    CHECK_FALSE(wire::decode_route_discovery(bytes({0x0A, 0x03, 1, 2, 3})));
    // A packed varint run ending inside a varint.
    CHECK_FALSE(wire::decode_route_discovery(bytes({0x12, 0x02, 0x01, 0x80})));

    SECTION("the reader stops at the damage and says so") {
        const std::string damaged = bytes({0x08, 0x01, 0x12, 0x09});
        wire::Reader reader(damaged);
        wire::Field f;
        REQUIRE(reader.next(f));
        CHECK(f.number == 1);
        CHECK(f.as_uint32() == 1);
        CHECK_FALSE(reader.next(f));
        CHECK_FALSE(reader.ok());
        CHECK_FALSE(reader.next(f));
    }
}

TEST_CASE("wire: random bytes never crash the decoders, and libprotobuf agrees on what is valid",
          "[wire]") {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> len(0, 40);
    std::uniform_int_distribution<int> byte(0, 255);
    int agreed = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string b;
        for (int n = len(rng); n > 0; --n)
            b.push_back(static_cast<char>(byte(rng)));
        const auto ours = wire::decode_route_discovery(b);
        pb::RouteDiscovery ref;
        const bool theirs = ref.ParseFromString(b);
        // libprotobuf also accepts groups, which this reader refuses (Meshtastic has none); in
        // the other direction, whatever we accept it accepts, with the same content.
        if (ours) {
            REQUIRE(theirs);
            CHECK(ours->route ==
                  std::vector<std::uint32_t>(ref.route().begin(), ref.route().end()));
            CHECK(ours->snr_towards ==
                  std::vector<std::int32_t>(ref.snr_towards().begin(), ref.snr_towards().end()));
            CHECK(ours->route_back ==
                  std::vector<std::uint32_t>(ref.route_back().begin(), ref.route_back().end()));
            CHECK(ours->snr_back ==
                  std::vector<std::int32_t>(ref.snr_back().begin(), ref.snr_back().end()));
            ++agreed;
        }
        (void)wire::decode_telemetry(b);
        (void)wire::decode_position(b);
        (void)wire::decode_routing_error(b);
    }
    CHECK(agreed > 0);
}
