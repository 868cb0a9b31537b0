// Packet ids, reconnect backoff and the endpoint registry.
#include <catch2/catch.hpp>

#include <unordered_set>

#include "radio/backoff.hpp"
#include "radio/endpoint_registry.hpp"
#include "radio/packet_ids.hpp"

using namespace meshbot::radio;

TEST_CASE("packet ids are non-zero, unique and keep a 10-bit counter in the low bits", "[radio]") {
    PacketIdGenerator ids(42);
    std::unordered_set<std::uint32_t> seen;
    std::uint32_t previous = ids.next();
    seen.insert(previous);
    for (int i = 0; i < 300000; ++i) {
        const std::uint32_t id = ids.next();
        REQUIRE(id != 0);
        REQUIRE(seen.insert(id).second);
        CHECK((id & 0x3FF) == ((previous + 1) & 0x3FF));
        previous = id;
    }
}

TEST_CASE("two generators with different seeds start in different places", "[radio]") {
    PacketIdGenerator a(1), b(2);
    CHECK(a.next() != b.next());
}

TEST_CASE("backoff doubles from the initial delay up to the cap, with jitter below the base",
          "[radio]") {
    Backoff backoff(std::chrono::seconds(1), std::chrono::seconds(60), 7);
    double previous = 0;
    double base = 1;
    for (int i = 0; i < 12; ++i) {
        const double d = backoff.next().count();
        CHECK(d <= base);
        CHECK(d >= 0.75 * base);
        if (base < 60) CHECK(d > previous);
        previous = d;
        base = std::min(base * 2, 60.0);
    }
    CHECK(backoff.attempts() == 12);
    backoff.reset();
    CHECK(backoff.next().count() <= 1.0);
}

TEST_CASE("a second claim on the same radio endpoint is refused with a clear error", "[radio]") {
    EndpointClaim first(tcp_endpoint_key("LocalHost", 4403));
    CHECK(endpoint_claimed(tcp_endpoint_key("localhost", 4403)));
    try {
        EndpointClaim second(tcp_endpoint_key("localhost", 4403));
        FAIL("second claim accepted");
    } catch (const EndpointInUse& e) {
        CHECK_THAT(e.what(), Catch::Contains("tcp:localhost:4403"));
        CHECK_THAT(e.what(), Catch::Contains("already"));
    }
    EndpointClaim other_port(tcp_endpoint_key("localhost", 4404));
    EndpointClaim moved = std::move(other_port);
    CHECK(moved.endpoint() == "tcp:localhost:4404");
}

TEST_CASE("a released endpoint can be claimed again", "[radio]") {
    { EndpointClaim claim(serial_endpoint_key("/dev/ttyUSB9")); }
    CHECK_FALSE(endpoint_claimed(serial_endpoint_key("/dev/ttyUSB9")));
    EndpointClaim again(serial_endpoint_key("/dev/ttyUSB9"));
    CHECK(endpoint_claimed(serial_endpoint_key("/dev/ttyUSB9")));
}
