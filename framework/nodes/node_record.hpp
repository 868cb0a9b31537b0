#pragma once
// One node as the bot's store keeps it: compact (the store holds up to ~100,000 of them), with
// the key pinning state that decides privileged-command rights.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::nodes {

// An X25519 public key (docs/radio-protocol.md §5.1).
using PublicKey = std::array<std::uint8_t, 32>;

std::optional<PublicKey> to_key(std::string_view bytes);  // nullopt unless exactly 32 bytes
std::string_view key_bytes(const PublicKey& key);
// Base64, as the Meshtastic apps display keys.
std::string key_base64(const PublicKey& key);

enum class KeyState {
    unknown,  // no key heard yet
    pinned,   // the first key seen, or one an operator accepted
    changed,  // the node presented a different key; privileged rights suspended
};
const char* to_string(KeyState state);

// A key a node used before its current one.
struct PastKey {
    PublicKey key{};
    std::uint32_t first_seen = 0;
    std::uint32_t last_seen = 0;
};

struct NodePosition {
    std::int32_t latitude_i = 0;  // degrees * 1e7
    std::int32_t longitude_i = 0;
    std::int32_t altitude = 0;
    std::uint32_t time = 0;
};

struct NodeMetrics {
    std::uint32_t battery_level = 0;
    float voltage = 0;
    float channel_utilization = 0;
    float air_util_tx = 0;
    std::uint32_t uptime_seconds = 0;
};

// Everything the store knows about one node (plain data; NodeStore owns the records).
struct NodeRecord {
    std::uint32_t num = 0;
    std::string long_name;
    std::string short_name;
    std::uint32_t role = 0;
    std::uint32_t hw_model = 0;
    std::optional<PublicKey> pinned_key;     // trusted
    std::optional<PublicKey> presented_key;  // a different key presented since; not trusted
    std::vector<PastKey> key_history;        // keys it used before, oldest first (the last 32)
    std::uint32_t pinned_at = 0;
    std::uint32_t first_heard = 0;  // epoch seconds
    std::uint32_t last_heard = 0;
    float snr = 0;
    std::int32_t rssi = 0;
    std::int32_t hops_away = -1;
    std::optional<NodePosition> position;
    std::optional<NodeMetrics> metrics;

    KeyState key_state() const {
        if (!pinned_key) return KeyState::unknown;
        return presented_key ? KeyState::changed : KeyState::pinned;
    }
    // The key the node uses now as far as we know: the presented one when it changed.
    const PublicKey* current_key() const {
        if (presented_key) return &*presented_key;
        return pinned_key ? &*pinned_key : nullptr;
    }
};

}  // namespace meshbot::nodes
