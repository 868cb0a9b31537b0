// One rule for which node a name designates: the bot's `keys accept NAME`, the SDK's
// host.node() and the remote plugin's /info all use meshbot/sdk/node_match.hpp.
#include <catch2/catch.hpp>

#include <meshbot/sdk/node_match.hpp>

#include "nodes/node_store.hpp"
#include "support/node_packets.hpp"

using meshbot::nodes::KeyState;
using meshbot::nodes::NodeStore;
namespace pb = meshbot::pb;

namespace {

pb::MeshPacket announce(std::uint32_t from, char key, const std::string& short_name,
                        const std::string& long_name) {
    return meshbot::testing::announce(from, std::string(32, key), short_name, long_name);
}

}  // namespace

TEST_CASE("keys accept refuses a name two nodes share and lists both", "[store][node_match]") {
    NodeStore store;
    store.on_packet(announce(0x2f1e0a01, 'a', "ALC", "Alice's T-Beam"));
    store.on_packet(announce(0x2f1e0a02, 'b', "ALC", "Alice's Heltec"));
    store.on_packet(announce(0x2f1e0a01, 'c', "ALC", "Alice's T-Beam"));  // both keys change
    store.on_packet(announce(0x2f1e0a02, 'd', "ALC", "Alice's Heltec"));
    REQUIRE(store.find(0x2f1e0a01)->key_state() == KeyState::changed);

    const auto refused = store.accept_key("alc");
    CHECK_FALSE(refused.accepted);
    CHECK(refused.text ==
          "2 nodes match 'alc': !2f1e0a01 (ALC, Alice's T-Beam), !2f1e0a02 (ALC, Alice's Heltec); "
          "name one by its !id");
    CHECK(store.find(0x2f1e0a01)->key_state() == KeyState::changed);  // nothing was accepted
    CHECK(store.find(0x2f1e0a02)->key_state() == KeyState::changed);
    CHECK(store.find("ALC") == nullptr);

    // The prefix and the id's last four digits are the same rule as /info's.
    CHECK(store.accept_key("alice's").text.rfind("2 nodes match", 0) == 0);
    CHECK(store.accept_key("0a02").accepted);
    CHECK(store.find(0x2f1e0a02)->key_state() == KeyState::pinned);
    CHECK(store.accept_key("!2f1e0a01").accepted);
}

TEST_CASE("one node id parser: the apps' !id is exactly eight hex digits", "[node_match]") {
    using meshbot::parse_node_number;
    CHECK(parse_node_number("!2f1e0a01") == 0x2f1e0a01u);
    CHECK(parse_node_number("0x2F1E0A01") == 0x2f1e0a01u);
    CHECK(parse_node_number("790497793") == 0x2f1e0a01u);
    CHECK_FALSE(parse_node_number("!2f1e0a0"));
    CHECK_FALSE(parse_node_number("!2f1e0a011"));
    CHECK_FALSE(parse_node_number("!"));
    CHECK_FALSE(parse_node_number("4294967296"));
    CHECK_FALSE(parse_node_number("12ab"));
}
