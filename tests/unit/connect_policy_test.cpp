// The broker's decision for a plugin granted the network: the radio's endpoint refused under
// every spelling, this machine's ports only when listed, the rest of the world allowed.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>

#include "plugin_host/connect_policy.hpp"
#include "radio/ip_address.hpp"

using meshbot::plugins::ConnectPolicy;
using meshbot::plugins::decide_connect;

namespace {

constexpr std::uint16_t kRadioPort = 4403;

// A sockaddr for "ADDRESS" (IPv4 or IPv6 literal) and port, as a plugin would pass it.
meshbot::plugins::ConnectVerdict connect_to(const std::string& address, std::uint16_t port,
                                            const ConnectPolicy& policy) {
    sockaddr_in v4{};
    if (::inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        return decide_connect(&v4, sizeof v4, policy);
    }
    sockaddr_in6 v6{};
    REQUIRE(::inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr) == 1);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    return decide_connect(&v6, sizeof v6, policy);
}

ConnectPolicy local_radio() {
    ConnectPolicy policy;
    policy.radio_host = "127.0.0.1";
    policy.radio_port = kRadioPort;
    policy.local_ports = {8080};
    return policy;
}

// This machine's first non-loopback IPv4 address, "" when it has none.
std::string own_address() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {};
    const std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owned(list, &::freeifaddrs);
    for (const ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        char text[INET_ADDRSTRLEN];
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text,
                    sizeof text);
        if (std::string(text).rfind("127.", 0) != 0) return text;
    }
    return {};
}

}  // namespace

TEST_CASE("the radio's endpoint is refused under every spelling of this machine",
          "[sandbox][policy]") {
    const auto policy = local_radio();
    for (const char* spelling :
         {"127.0.0.1", "127.0.0.2", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0"}) {
        INFO(spelling);
        const auto verdict = connect_to(spelling, kRadioPort, policy);
        CHECK_FALSE(verdict.allowed);
        CHECK(verdict.why == "the radio's API endpoint");
    }
    if (const auto own = own_address(); !own.empty()) {
        INFO(own);
        CHECK_FALSE(connect_to(own, kRadioPort, policy).allowed);
        CHECK_FALSE(connect_to("::ffff:" + own, kRadioPort, policy).allowed);
        CHECK(connect_to(own, 8080, policy).allowed);
    }
}

TEST_CASE("this machine's ports are refused unless the operator listed them", "[sandbox][policy]") {
    const auto policy = local_radio();
    CHECK(connect_to("127.0.0.1", 8080, policy).allowed);
    CHECK(connect_to("::1", 8080, policy).allowed);
    const auto unlisted = connect_to("127.0.0.1", 8081, policy);
    CHECK_FALSE(unlisted.allowed);
    CHECK(unlisted.why == "a port on this machine not listed in allow_local_ports");
    CHECK(unlisted.target == "127.0.0.1:8081");
    CHECK_FALSE(connect_to("0.0.0.0", 8081, policy).allowed);
    // Listing the radio's port does not open it.
    auto listed = policy;
    listed.local_ports.insert(kRadioPort);
    CHECK_FALSE(connect_to("127.0.0.1", kRadioPort, listed).allowed);
}

TEST_CASE("a radio on the LAN: its address is refused at every port, the rest of it allowed",
          "[sandbox][policy]") {
    ConnectPolicy policy;
    policy.radio_host = "192.0.2.50";  // TEST-NET-1: never routed, only compared here
    policy.radio_port = kRadioPort;
    CHECK_FALSE(connect_to("192.0.2.50", kRadioPort, policy).allowed);
    CHECK_FALSE(connect_to("::ffff:192.0.2.50", kRadioPort, policy).allowed);
    const auto web = connect_to("192.0.2.50", 80, policy);
    CHECK_FALSE(web.allowed);
    CHECK(web.why == "the radio's own address");
    CHECK(connect_to("192.0.2.51", 80, policy).allowed);
    CHECK(connect_to("2001:db8::1", 443, policy).allowed);
    // This machine at the radio's port is still the radio's port (a simulator, a proxy).
    CHECK_FALSE(connect_to("127.0.0.1", kRadioPort, policy).allowed);
}

TEST_CASE("a radio named by host name: its port is refused everywhere", "[sandbox][policy]") {
    ConnectPolicy policy;
    policy.radio_host = "meshtastic.local";
    policy.radio_port = kRadioPort;
    CHECK_FALSE(connect_to("192.0.2.77", kRadioPort, policy).allowed);
    CHECK(connect_to("192.0.2.77", 443, policy).allowed);
}

TEST_CASE("unix sockets and other families are not brokered", "[sandbox][policy]") {
    sockaddr_un unix_address{};
    unix_address.sun_family = AF_UNIX;
    std::strcpy(unix_address.sun_path, "/run/meshbot/control.sock");
    const auto verdict = decide_connect(&unix_address, sizeof unix_address, local_radio());
    CHECK_FALSE(verdict.allowed);
    CHECK(verdict.why == "unix sockets are the host's and other programs'");
    sa_family_t unspecified = AF_UNSPEC;
    CHECK_FALSE(decide_connect(&unspecified, sizeof unspecified, local_radio()).allowed);
    CHECK_FALSE(decide_connect(nullptr, 0, local_radio()).allowed);
}

TEST_CASE("IP endpoints fold IPv4-mapped IPv6 to one spelling", "[sandbox][policy]") {
    using meshbot::radio::parse_ip;
    const auto mapped = parse_ip("::ffff:10.1.2.3", 7);
    const auto plain = parse_ip("10.1.2.3", 7);
    REQUIRE(mapped);
    REQUIRE(plain);
    CHECK(mapped->same_ip(*plain));
    CHECK(mapped->to_string() == "10.1.2.3:7");
    CHECK(parse_ip("::1", 9)->to_string() == "[::1]:9");
    CHECK_FALSE(parse_ip("localhost"));
    CHECK(meshbot::radio::is_this_machine(*parse_ip("127.9.9.9")));
    CHECK(meshbot::radio::is_this_machine(*parse_ip("::")));
    CHECK_FALSE(meshbot::radio::is_this_machine(*parse_ip("192.0.2.1")));
}
