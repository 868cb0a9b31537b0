#include "node_db.hpp"

#include <algorithm>
#include <limits>

namespace meshbot::sim {

void NodeDb::set_capacity(std::size_t capacity) {
    capacity_ = std::max<std::size_t>({capacity, count(), 2});
}

void NodeDb::put(SimNode node) {
    if (node.num == my_node_) return;
    nodes_[node.num] = std::move(node);
}

SimNode* NodeDb::find(std::uint32_t num) {
    const auto it = nodes_.find(num);
    return it == nodes_.end() ? nullptr : &it->second;
}

const SimNode* NodeDb::find(std::uint32_t num) const {
    const auto it = nodes_.find(num);
    return it == nodes_.end() ? nullptr : &it->second;
}

bool NodeDb::remove(std::uint32_t num) {
    return nodes_.erase(num) != 0;
}

std::optional<std::uint32_t> NodeDb::eviction_victim() const {
    // getOrCreateMeshNode: the oldest entry that is neither favourite nor ignored, but an
    // oldest "boring" one (no public key) wins over it. Strict '<' keeps the first of equals.
    constexpr double kNever = std::numeric_limits<double>::infinity();
    double oldest = kNever;
    double oldest_boring = kNever;
    std::optional<std::uint32_t> victim;
    std::optional<std::uint32_t> boring;
    for (const auto& [num, node] : nodes_) {
        if (node.favorite || node.ignored) continue;
        if (node.last_heard < oldest) {
            oldest = node.last_heard;
            victim = num;
        }
        if (node.public_key.empty() && node.last_heard < oldest_boring) {
            oldest_boring = node.last_heard;
            boring = num;
        }
    }
    return boring ? boring : victim;
}

NodeDb::Created NodeDb::get_or_create(std::uint32_t num) {
    Created out;
    if (num == my_node_) return out;
    if (SimNode* known = find(num)) {
        out.node = known;
        return out;
    }
    if (count() >= capacity_) {
        out.evicted = eviction_victim();
        // fw 2.7 has no fallback when every entry is protected: the new node is not stored.
        if (!out.evicted) return out;
        nodes_.erase(*out.evicted);
    }
    SimNode& node = nodes_[num];
    node.num = num;
    node.has_user = false;
    out.node = &node;
    out.created = true;
    return out;
}

}  // namespace meshbot::sim
