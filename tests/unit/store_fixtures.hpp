#pragma once
// What the node store tests share: a scratch data directory, keys, NODEINFO packets and a
// radio's handshake node list.

#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "mesh.pb.h"
#include "portnums.pb.h"
#include "radio/radio_info.hpp"
#include "support/node_packets.hpp"

namespace meshbot::test_store {

namespace fs = std::filesystem;
namespace pb = meshbot::pb;

// A data directory of its own, removed afterwards.
struct Scratch {
    fs::path dir =
        fs::temp_directory_path() / ("meshbot-store-" + std::to_string(std::random_device{}()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() { fs::remove_all(dir); }
};

inline std::string key_of(char fill) {
    return std::string(32, fill);
}

inline pb::MeshPacket nodeinfo(std::uint32_t from, const std::string& key,
                               const std::string& name) {
    return meshbot::testing::announce(from, key, name, "Node " + name, 1'700'000'000);
}

inline meshbot::radio::RadioInfo radio_with(std::map<std::uint32_t, std::string> keys) {
    meshbot::radio::RadioInfo radio;
    radio.my_node_num = 0x0badc0de;
    radio.own_user.set_short_name("SIM");
    radio.own_user.set_public_key(key_of('S'));
    for (const auto& [num, key] : keys) {
        pb::NodeInfo info;
        info.set_num(num);
        info.mutable_user()->set_short_name("N" + std::to_string(num % 1000));
        info.mutable_user()->set_public_key(key);
        info.set_last_heard(1'700'000'000);
        radio.nodes[num] = info;
    }
    return radio;
}

}  // namespace meshbot::test_store
