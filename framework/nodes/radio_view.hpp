#pragma once
// What the connected radio's NodeDB holds, as far as the bot can tell: rebuilt from every
// handshake, kept current from live packets and from our own add_contact pushes.

#include <cstdint>
#include <unordered_map>

#include "mesh.pb.h"
#include "nodes/node_record.hpp"
#include "radio/radio_info.hpp"

namespace meshbot::nodes {

// Owns the key the radio holds for each node, as far as the bot can tell, and a generation
// bumped on every change. io_context thread only.
class RadioView {
public:
    void rebuild(const radio::RadioInfo& radio);
    // A NODEINFO teaches the radio a key only if it held none (first key wins,
    // docs/radio-protocol.md §5.1); a PKI-decrypted packet shows the key the radio holds for its
    // sender.
    void on_packet(const pb::MeshPacket& packet);
    void on_pushed(std::uint32_t num, const PublicKey& key);  // the radio ACKed our add_contact
    void forget(std::uint32_t num);  // the radio said it has no key (PKI_SEND_FAIL_PUBLIC_KEY)

    bool holds(std::uint32_t num, const PublicKey& key) const {
        const auto it = keys_.find(num);
        return it != keys_.end() && it->second == key;
    }
    bool has_key(std::uint32_t num) const { return keys_.count(num) != 0; }
    std::size_t nodes() const { return nodes_; }
    std::size_t keys() const { return keys_.size(); }
    // Bumped whenever what the radio holds changes.
    std::uint64_t generation() const { return generation_; }

private:
    void set(std::uint32_t num, const PublicKey& key);

    std::unordered_map<std::uint32_t, PublicKey> keys_;
    std::size_t nodes_ = 0;  // entries in the radio's NodeDB, with or without a key
    std::uint64_t generation_ = 0;
};

}  // namespace meshbot::nodes
