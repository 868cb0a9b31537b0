#pragma once
// The simulated radio's NodeDB: what the radio knows about other nodes (NodeInfoLite), its
// MAX_NUM_NODES capacity and the eviction of NodeDB::getOrCreateMeshNode (firmware 2.7).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "mesh.pb.h"

namespace meshbot::sim {

// One NodeDB entry as the radio keeps it (NodeInfoLite).
struct SimNode {
    std::uint32_t num = 0;
    bool has_user = true;  // false: heard only through packets, no NodeInfo yet
    std::string long_name;
    std::string short_name;
    std::string public_key;  // 32 raw bytes; empty = the radio holds no key for this node
    float snr = 0;
    std::uint32_t hops = 0;
    // Wall-clock epoch seconds, fractional so that the eviction order of packets heard within
    // one second stays exact; 0 = never heard.
    double last_heard = 0;
    bool favorite = false;
    bool ignored = false;
    std::optional<double> lat;
    std::optional<double> lon;
    std::optional<pb::DeviceMetrics> metrics;  // the last device metrics heard from it
};

// Owns the NodeDB entries (never the own node) and applies the capacity and eviction rules.
// io_context thread only.
class NodeDb {
public:
    // The outcome of getOrCreateMeshNode for a node number.
    struct Created {
        SimNode* node = nullptr;  // null: full, and every entry is protected (no fallback in 2.7)
        bool created = false;
        std::optional<std::uint32_t> evicted;
    };

    explicit NodeDb(std::uint32_t my_node) : my_node_(my_node) {}

    // MAX_NUM_NODES, counting the own node. A DB pre-populated beyond it (tests with 10,000
    // nodes) raises it to size + 1 so the start-up population is kept, and is then full.
    void set_capacity(std::size_t capacity);
    std::size_t capacity() const { return capacity_; }
    // Entries including the own node, as MyNodeInfo.nodedb_count reports them.
    std::size_t count() const { return nodes_.size() + 1; }

    // Inserts or replaces an entry without eviction (start-up population). Ignores the own node.
    void put(SimNode node);
    // The entry for `num`, created when missing; a full DB first evicts the oldest-heard entry
    // that is not favourite or ignored, preferring entries without a key.
    Created get_or_create(std::uint32_t num);
    SimNode* find(std::uint32_t num);
    const SimNode* find(std::uint32_t num) const;
    bool remove(std::uint32_t num);
    const std::map<std::uint32_t, SimNode>& nodes() const { return nodes_; }

private:
    std::optional<std::uint32_t> eviction_victim() const;

    std::uint32_t my_node_;
    std::size_t capacity_ = 100;
    // Ordered by node number: the handshake order, and the tie-break between equal last_heard.
    std::map<std::uint32_t, SimNode> nodes_;
};

}  // namespace meshbot::sim
