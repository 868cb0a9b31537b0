#pragma once
// Every node the bot has ever heard, persisted under the data directory, and the public keys
// it pinned for them: the first key seen is trusted; a different one later suspends the node's
// privileged rights until an operator accepts it. Key changes are journaled and fsynced before
// they take effect (store_files.hpp); everything else is saved by a snapshot on a debounce.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mesh.pb.h"
#include "nodes/node_record.hpp"
#include "nodes/store_files.hpp"
#include "radio/radio_info.hpp"

namespace meshbot::nodes {

// What load() found, for the log.
struct LoadReport {
    std::size_t nodes = 0;
    std::size_t keys = 0;
    std::size_t journal_records = 0;
    std::vector<std::string> errors;  // damaged files, moved aside
    std::vector<std::string> warnings;
};

// A key event, reported after it is durable.
struct KeyEvent {
    enum class Kind {
        pinned,    // the first key for a node
        changed,   // a known node presented a different key (security event)
        accepted,  // an operator accepted the presented key
        restored,  // the node went back to its pinned key
    };
    Kind kind;
    std::uint32_t num;
};

// Whether the store is being saved, for the log, `meshbot status` and the retry timer.
struct StoreHealth {
    std::string key_problem;               // why key changes are refused; empty when they are saved
    std::uint64_t keys_failing_since = 0;  // epoch seconds
    std::size_t keys_waiting = 0;          // refused key changes, retried until the disk takes them
    std::string snapshot_problem;          // why the last snapshot failed; empty when it was saved
    std::uint64_t snapshot_failing_since = 0;
    bool keys_saved() const { return key_problem.empty() && keys_waiting == 0; }
    bool healthy() const { return keys_saved() && snapshot_problem.empty(); }
};

// An operator's "accept the key <node> presents", answered.
struct KeyAcceptance {
    bool accepted = false;
    std::uint32_t num = 0;  // the node found, 0 when none
    std::string text;       // one line: what happened, e.g. "!0badc0de: accepted key <base64>"
};

// Owns the node records, the key pinning and the store files. io_context thread only.
class NodeStore {
public:
    using NodeListener = std::function<void(const NodeRecord&)>;
    using KeyListener = std::function<void(const NodeRecord&, const KeyEvent&)>;

    // An empty directory keeps the store in memory only (tests, benchmarks).
    explicit NodeStore(std::filesystem::path dir = {});

    // Reads the snapshot and journal; damaged files are moved aside (read_only: left alone).
    // Throws StoreError for a store written by a newer format.
    LoadReport load(bool read_only = false);
    // Writes the snapshot when anything changed since the last one (debounce, shutdown).
    // Returns false (and logs) when the write failed. Also logs the keys pinned since the last
    // summary: one info line for many new nodes.
    bool save();
    bool dirty() const { return dirty_; }
    // Tries again what the disk refused: key changes (before any other change, too) and the
    // snapshot. The daemon calls it on a timer while health() is not healthy.
    void retry();
    const StoreHealth& health() const { return health_; }

    // Learning. Key changes are fsynced before these return and before the listeners run.
    void on_handshake(const radio::RadioInfo& radio);
    void on_packet(const pb::MeshPacket& packet);

    // The operator trusts the key `num` now presents. False when there is nothing to accept.
    bool accept_key(std::uint32_t num);
    // The same for a node named by id, number or name, with the answer worded for the
    // operator (the daemon's control socket and the offline CLI say the same).
    KeyAcceptance accept_key(std::string_view query);

    // Privileged commands: the node's key is pinned, unchanged, and equals the packet's key.
    bool trusts(std::uint32_t num, std::string_view packet_key) const;

    std::uint32_t self_num() const { return self_; }
    const NodeRecord* find(std::uint32_t num) const;
    // The nodes `query` designates, by the one rule the SDK and plugins use too
    // (meshbot/sdk/node_match.hpp): id or number, short name, long name, its beginning, the id's
    // last four hex digits. find(query): the one match, nullptr for none or several.
    std::vector<const NodeRecord*> match(std::string_view query) const;
    const NodeRecord* find(std::string_view query) const;
    void for_each(const std::function<void(const NodeRecord&)>& fn) const;
    std::size_t size() const { return nodes_.size(); }

    // Bumped by every key change; with the digest, what the periodic key check compares.
    std::uint64_t key_generation() const { return key_generation_; }
    std::uint64_t key_digest() const { return key_digest_; }
    std::uint64_t key_changes() const { return key_changes_; }  // `changed` events since start

    void set_listeners(NodeListener on_updated, KeyListener on_key) {
        on_updated_ = std::move(on_updated);
        on_key_ = std::move(on_key);
    }

private:
    enum class KeySource { radio_db, mesh };
    struct Sighting {  // a key a node presented, kept to learn it again if the disk refused it
        std::uint32_t num;
        PublicKey key;
        KeySource source;
        std::uint32_t at;
    };
    struct PendingKey {  // a key change not yet durable, and how to undo it
        KeyEvent event;
        NodeRecord before;
        std::optional<Sighting> seen;  // empty for an operator's accept (answered at once)
    };

    NodeRecord& upsert(std::uint32_t num, std::uint32_t now);
    void learn_user(NodeRecord& node, const pb::User& user, KeySource source, std::uint32_t now);
    void observe_key(NodeRecord& node, const PublicKey& key, KeySource source, std::uint32_t now);
    void stage(NodeRecord& node, KeyEvent::Kind kind, NodeRecord before,
               std::optional<Sighting> seen = std::nullopt);
    // Journals the staged key changes; on failure undoes them (and keeps their sightings for a
    // retry). Then logs and notifies.
    void commit();
    // Sees the refused keys again, in their order, so the next commit journals them first.
    void replay_refused();
    void keys_refused(const std::string& why, std::size_t count);
    void snapshot_failed(const std::string& why);
    void report_pins();
    void apply(const pb::StoredNode& stored);
    pb::StoreSnapshot snapshot() const;

    StoreFiles files_;
    bool persistent_;
    std::unordered_map<std::uint32_t, NodeRecord> nodes_;
    std::uint32_t self_ = 0;
    std::uint64_t key_generation_ = 0;
    std::uint64_t key_digest_ = 0;
    std::uint64_t journal_seq_ = 0;
    std::uint64_t key_changes_ = 0;
    bool dirty_ = false;
    std::vector<PendingKey> pending_;
    std::vector<Sighting> refused_;  // key sightings the disk refused, oldest first
    std::size_t replayed_ = 0;       // of them, seen again in the current commit
    StoreHealth health_;
    std::uint64_t key_error_logged_at_ = 0;       // epoch seconds of the last error line, to
    std::uint64_t snapshot_error_logged_at_ = 0;  // repeat a failure only now and then
    std::string snapshot_error_logged_;
    std::size_t unreported_pins_ = 0;  // first keys pinned since the last summary line
    NodeListener on_updated_;
    KeyListener on_key_;
};

}  // namespace meshbot::nodes
