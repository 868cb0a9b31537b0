#include "nodes/node_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "meshbot/sdk/node_match.hpp"
#include "nodes/node_codec.hpp"
#include "portnums.pb.h"
#include "radio/node_id.hpp"
#include "telemetry.pb.h"

namespace meshbot::nodes {

namespace {

std::uint32_t now_epoch() {
    return static_cast<std::uint32_t>(std::time(nullptr));
}

// FNV-1a over the node number and the key bytes, finished with splitmix64 so that the sum of
// many of them (the store digest) changes with every bit of every key.
std::uint64_t key_hash(std::uint32_t num, const PublicKey& key, std::uint64_t salt) {
    std::uint64_t h = 0xcbf29ce484222325ull ^ salt;
    const auto feed = [&h](std::uint8_t byte) {
        h ^= byte;
        h *= 0x100000001b3ull;
    };
    for (int i = 0; i < 4; ++i)
        feed(static_cast<std::uint8_t>(num >> (8 * i)));
    for (const auto byte : key)
        feed(byte);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

std::uint64_t key_contribution(const NodeRecord& node) {
    std::uint64_t sum = 0;
    if (node.pinned_key) sum += key_hash(node.num, *node.pinned_key, 1);
    if (node.presented_key) sum += key_hash(node.num, *node.presented_key, 2);
    return sum;
}

// A node rotating keys (or an attacker cycling them) must not grow its record without bound.
constexpr std::size_t kMaxPastKeys = 32;

void remember(NodeRecord& node, PastKey past) {
    if (node.key_history.size() >= kMaxPastKeys) node.key_history.erase(node.key_history.begin());
    node.key_history.push_back(past);
}

std::string label(const NodeRecord& node) {
    return radio::node_id(node.num) + (node.short_name.empty() ? "" : " (" + node.short_name + ")");
}

// A failure that goes on is logged as an error when it starts or changes, then this often; the
// lines between go to debug. Loud, without a line per packet on a busy mesh.
constexpr std::uint32_t kRepeatErrorAfter = 600;  // seconds

}  // namespace

NodeStore::NodeStore(std::filesystem::path dir) : files_(dir), persistent_(!dir.empty()) {}

LoadReport NodeStore::load(bool read_only) {
    LoadReport report;
    if (!persistent_) return report;
    auto loaded = files_.load(read_only);
    report.errors = std::move(loaded.errors);
    report.warnings = std::move(loaded.warnings);
    for (const auto& stored : loaded.snapshot.nodes())
        apply(stored);
    self_ = loaded.snapshot.self_num();
    key_generation_ = loaded.snapshot.key_generation();
    journal_seq_ = loaded.snapshot.journal_seq();
    for (const auto& record : loaded.journal) {
        apply(record.node());
        journal_seq_ = std::max(journal_seq_, record.seq());
        key_generation_ = std::max(key_generation_, record.key_generation());
    }
    key_digest_ = 0;
    for (const auto& [num, node] : nodes_) {
        key_digest_ += key_contribution(node);
        if (node.pinned_key) ++report.keys;
    }
    if (loaded.journal.empty() && loaded.snapshot.nodes_size() > 0 &&
        key_digest_ != loaded.snapshot.key_digest()) {
        report.warnings.push_back(
            "the key digest of " + files_.snapshot_path().string() +
            " does not match its keys (edited by hand?); the keys as stored are used");
    }
    report.nodes = nodes_.size();
    report.journal_records = loaded.journal.size();
    // Fold the journal into a fresh snapshot at the next save.
    dirty_ = !loaded.journal.empty() || !report.errors.empty();
    return report;
}

void NodeStore::apply(const pb::StoredNode& stored) {
    if (stored.num() == 0 || stored.num() == radio::kBroadcast) return;
    nodes_[stored.num()] = from_stored(stored);
}

pb::StoreSnapshot NodeStore::snapshot() const {
    pb::StoreSnapshot out;
    out.set_format(kStoreFormat);
    out.set_journal_seq(journal_seq_);
    out.set_key_generation(key_generation_);
    out.set_key_digest(key_digest_);
    out.set_self_num(self_);
    out.mutable_nodes()->Reserve(static_cast<int>(nodes_.size()));
    for (const auto& [num, node] : nodes_)
        *out.add_nodes() = to_stored(node);
    return out;
}

bool NodeStore::save() {
    report_pins();
    if (!persistent_ || !dirty_) return true;
    std::string journal_problem;
    try {
        journal_problem = files_.write_snapshot(snapshot());
    } catch (const StoreError& e) {
        snapshot_failed(e.what());
        return false;
    }
    dirty_ = false;
    if (!health_.snapshot_problem.empty()) {
        spdlog::warn("node store saved again to {}", files_.snapshot_path().string());
        health_.snapshot_problem.clear();
        health_.snapshot_failing_since = 0;
        snapshot_error_logged_.clear();
    }
    if (!journal_problem.empty()) {
        spdlog::warn(
            "node store saved to {}, but a new key journal could not be started ({}); the old "
            "journal stays in use (its records, which the snapshot holds too, are skipped at load)",
            files_.snapshot_path().string(), journal_problem);
    }
    return true;
}

void NodeStore::snapshot_failed(const std::string& why) {
    const auto now = now_epoch();
    if (health_.snapshot_problem.empty()) health_.snapshot_failing_since = now;
    health_.snapshot_problem = why;
    const bool keys_safe = health_.keys_saved();
    const std::string text = fmt::format(
        "node store snapshot {} not saved: {}; {}", files_.snapshot_path().string(), why,
        keys_safe ? "key changes are safe in the journal, the other node data is saved at the "
                    "next try"
                  : "key changes are not being saved either");
    const std::string kind = keys_safe ? "keys safe" : "keys refused";
    if (kind != snapshot_error_logged_ || now - snapshot_error_logged_at_ >= kRepeatErrorAfter) {
        spdlog::error("{}", text);
        snapshot_error_logged_ = kind;
        snapshot_error_logged_at_ = now;
    } else {
        spdlog::debug("{}", text);
    }
}

void NodeStore::keys_refused(const std::string& why, std::size_t count) {
    const auto now = now_epoch();
    const bool started = health_.key_problem.empty();
    if (started) health_.keys_failing_since = now;
    health_.key_problem = why;
    health_.keys_waiting = refused_.size();
    std::string nodes;
    for (std::size_t i = 0; i < pending_.size() && i < 5; ++i)
        nodes += (i > 0 ? ", " : "") + label(nodes_.at(pending_[i].event.num));
    if (pending_.size() > 5) nodes += fmt::format(" and {} more", pending_.size() - 5);
    const std::string text = fmt::format(
        "KEYS ARE NOT BEING SAVED: {} key change(s) of {} refused: {}; they do not count until "
        "saved, and are tried again with the next change",
        count, nodes, why);
    if (started || now - key_error_logged_at_ >= kRepeatErrorAfter) {
        spdlog::error("{}", text);
        key_error_logged_at_ = now;
    } else {
        spdlog::debug("{}", text);
    }
}

void NodeStore::retry() {
    if (!persistent_) return;
    if (!refused_.empty()) {
        replay_refused();
        commit();
    }
    if (!health_.snapshot_problem.empty()) save();
}

void NodeStore::replay_refused() {
    const auto refused = std::exchange(refused_, {});
    for (const auto& seen : refused) {
        auto it = nodes_.find(seen.num);
        if (it == nodes_.end()) continue;
        const auto before = pending_.size();
        observe_key(it->second, seen.key, seen.source, seen.at);
        replayed_ += pending_.size() - before;
    }
}

void NodeStore::report_pins() {
    if (unreported_pins_ == 0) return;
    spdlog::info("pinned the first key of {} node(s){}", unreported_pins_,
                 persistent_ ? " (saved)" : "");
    unreported_pins_ = 0;
}

NodeRecord& NodeStore::upsert(std::uint32_t num, std::uint32_t now) {
    auto [it, inserted] = nodes_.try_emplace(num);
    if (inserted) {
        it->second.num = num;
        it->second.first_heard = now;
        dirty_ = true;
    }
    return it->second;
}

void NodeStore::stage(NodeRecord& node, KeyEvent::Kind kind, NodeRecord before,
                      std::optional<Sighting> seen) {
    key_digest_ -= key_contribution(before);
    key_digest_ += key_contribution(node);
    ++key_generation_;
    dirty_ = true;
    pending_.push_back(PendingKey{KeyEvent{kind, node.num}, std::move(before), seen});
}

void NodeStore::observe_key(NodeRecord& node, const PublicKey& key, KeySource source,
                            std::uint32_t now) {
    const Sighting seen{node.num, key, source, now};
    if (!node.pinned_key) {
        NodeRecord before = node;
        node.pinned_key = key;
        node.pinned_at = now;
        stage(node, KeyEvent::Kind::pinned, std::move(before), seen);
        return;
    }
    if (key == *node.pinned_key) {
        // The radio keeps the first key it learned, so its list shows the pinned key whatever
        // the node uses now: only the node itself, on the mesh, can say it went back.
        if (!node.presented_key || source == KeySource::radio_db) return;
        NodeRecord before = node;
        remember(node, PastKey{*node.presented_key, 0, now});
        node.presented_key.reset();
        stage(node, KeyEvent::Kind::restored, std::move(before), seen);
        return;
    }
    if (node.presented_key && key == *node.presented_key) return;
    // A radio keeps the first key it learned (docs/radio-protocol.md §5.1), so its NodeDB may still
    // list a key this node used before the operator accepted its new one: old news, not a change.
    const bool past = std::any_of(node.key_history.begin(), node.key_history.end(),
                                  [&key](const PastKey& p) { return p.key == key; });
    if (source == KeySource::radio_db && past) return;
    NodeRecord before = node;
    if (node.presented_key) remember(node, PastKey{*node.presented_key, 0, now});
    node.presented_key = key;
    stage(node, KeyEvent::Kind::changed, std::move(before), seen);
}

void NodeStore::learn_user(NodeRecord& node, const pb::User& user, KeySource source,
                           std::uint32_t now) {
    if (node.long_name != user.long_name() || node.short_name != user.short_name() ||
        node.role != static_cast<std::uint32_t>(user.role()) || node.hw_model != user.hw_model()) {
        node.long_name = user.long_name();
        node.short_name = user.short_name();
        node.role = static_cast<std::uint32_t>(user.role());
        node.hw_model = user.hw_model();
        dirty_ = true;
    }
    // Never learn an empty or malformed key: it would read as "the key was removed".
    if (auto key = to_key(user.public_key())) observe_key(node, *key, source, now);
}

void NodeStore::commit() {
    if (pending_.empty()) return;
    const std::size_t replayed = std::exchange(replayed_, 0);
    if (persistent_) {
        std::vector<pb::JournalRecord> records;
        records.reserve(pending_.size());
        for (const auto& p : pending_) {
            pb::JournalRecord record;
            record.set_seq(++journal_seq_);
            *record.mutable_node() = to_stored(nodes_.at(p.event.num));
            record.set_key_generation(key_generation_);
            records.push_back(std::move(record));
        }
        try {
            files_.append(records);
        } catch (const StoreError& e) {
            // Not durable, so it must not count: undo. What the nodes presented is seen again
            // before the next change (and on the daemon's retry timer) until the disk takes it.
            for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
                NodeRecord& node = nodes_.at(it->event.num);
                key_digest_ -= key_contribution(node);
                key_digest_ += key_contribution(it->before);
                node = it->before;
            }
            for (const auto& p : pending_) {
                if (p.seen) refused_.push_back(*p.seen);
            }
            journal_seq_ -= records.size();
            keys_refused(e.what(), pending_.size());
            pending_.clear();
            return;
        }
        if (!health_.key_problem.empty()) {
            spdlog::warn("key changes are saved again in {}{}", files_.journal_path().string(),
                         replayed > 0 ? fmt::format(" ({} refused before, saved now)", replayed)
                                      : std::string());
            health_.key_problem.clear();
            health_.keys_failing_since = 0;
            health_.keys_waiting = 0;
        }
    }
    auto done = std::move(pending_);
    pending_.clear();
    std::size_t pins = 0;
    for (const auto& p : done) {
        const NodeRecord& node = nodes_.at(p.event.num);
        switch (p.event.kind) {
            case KeyEvent::Kind::pinned:
                ++pins;
                spdlog::debug("key pinned for {}: {} (saved)", label(node),
                              key_base64(*node.pinned_key));
                break;
            case KeyEvent::Kind::changed:
                ++key_changes_;
                spdlog::warn(
                    "key CHANGED for {}: pinned {}, now presents {} (saved); its privileged "
                    "commands are refused until an operator accepts it (meshbot keys accept {})",
                    label(node), key_base64(*node.pinned_key), key_base64(*node.presented_key),
                    radio::node_id(node.num));
                break;
            case KeyEvent::Kind::accepted:
                spdlog::warn("key for {} accepted by the operator: pinned {} (saved)", label(node),
                             key_base64(*node.pinned_key));
                break;
            case KeyEvent::Kind::restored:
                spdlog::info("{} presents its pinned key {} again (saved)", label(node),
                             key_base64(*node.pinned_key));
                break;
        }
        if (on_key_) on_key_(node, p.event);
    }
    unreported_pins_ += pins;  // one summary line (report_pins), not one per node
}

void NodeStore::on_handshake(const radio::RadioInfo& radio) {
    replay_refused();
    const auto now = now_epoch();
    self_ = radio.my_node_num;
    learn_user(upsert(radio.my_node_num, now), radio.own_user, KeySource::radio_db, now);
    for (const auto& [num, info] : radio.nodes) {
        if (num == 0 || num == radio::kBroadcast) continue;
        NodeRecord& node = upsert(num, now);
        if (info.has_user()) learn_user(node, info.user(), KeySource::radio_db, now);
        // The radio's record is at least as current as ours, except for what it never had.
        if (info.last_heard() > node.last_heard) {
            node.last_heard = info.last_heard();
            node.snr = info.snr();
            if (info.has_hops_away()) node.hops_away = static_cast<std::int32_t>(info.hops_away());
        }
        if (info.has_position() && info.position().has_latitude_i()) {
            const auto& p = info.position();
            node.position = NodePosition{p.latitude_i(), p.longitude_i(), p.altitude(), p.time()};
        }
        if (info.has_device_metrics()) {
            const auto& m = info.device_metrics();
            node.metrics = NodeMetrics{m.battery_level(), m.voltage(), m.channel_utilization(),
                                       m.air_util_tx(), m.uptime_seconds()};
        }
    }
    dirty_ = true;
    commit();
    report_pins();
}

void NodeStore::on_packet(const pb::MeshPacket& packet) {
    if (packet.from() == 0 || packet.from() == radio::kBroadcast) return;
    replay_refused();
    const auto now = now_epoch();
    NodeRecord& node = upsert(packet.from(), now);
    if (packet.from() != self_) {
        node.last_heard = packet.rx_time() ? packet.rx_time() : now;
        if (packet.rx_snr() != 0) node.snr = packet.rx_snr();
        if (packet.rx_rssi() != 0) node.rssi = packet.rx_rssi();
        if (packet.hop_start() != 0 && packet.hop_start() >= packet.hop_limit()) {
            node.hops_away = static_cast<std::int32_t>(packet.hop_start() - packet.hop_limit());
        }
        dirty_ = true;
    }
    if (packet.has_decoded()) {
        const auto& data = packet.decoded();
        switch (data.portnum()) {
            case pb::NODEINFO_APP: {
                pb::User user;
                if (user.ParseFromString(data.payload()))
                    learn_user(node, user, KeySource::mesh, now);
                break;
            }
            case pb::POSITION_APP: {
                pb::Position p;
                if (p.ParseFromString(data.payload()) && p.has_latitude_i()) {
                    node.position =
                        NodePosition{p.latitude_i(), p.longitude_i(), p.altitude(), p.time()};
                    dirty_ = true;
                }
                break;
            }
            case pb::TELEMETRY_APP: {
                pb::Telemetry t;
                if (t.ParseFromString(data.payload()) && t.has_device_metrics()) {
                    const auto& m = t.device_metrics();
                    NodeMetrics metrics = node.metrics.value_or(NodeMetrics{});
                    if (m.has_battery_level()) metrics.battery_level = m.battery_level();
                    if (m.has_voltage()) metrics.voltage = m.voltage();
                    if (m.has_channel_utilization())
                        metrics.channel_utilization = m.channel_utilization();
                    if (m.has_air_util_tx()) metrics.air_util_tx = m.air_util_tx();
                    if (m.has_uptime_seconds()) metrics.uptime_seconds = m.uptime_seconds();
                    node.metrics = metrics;
                    dirty_ = true;
                }
                break;
            }
            default:
                break;
        }
    }
    commit();
    if (on_updated_) on_updated_(nodes_.at(packet.from()));
}

bool NodeStore::accept_key(std::uint32_t num) {
    auto it = nodes_.find(num);
    if (it == nodes_.end() || !it->second.presented_key) return false;
    replay_refused();
    NodeRecord& node = it->second;
    NodeRecord before = node;
    const auto now = now_epoch();
    remember(node, PastKey{*node.pinned_key, node.pinned_at, now});
    node.pinned_key = node.presented_key;
    node.presented_key.reset();
    node.pinned_at = now;
    stage(node, KeyEvent::Kind::accepted, std::move(before));
    commit();
    return nodes_.at(num).key_state() == KeyState::pinned;  // false when it could not be saved
}

KeyAcceptance NodeStore::accept_key(std::string_view query) {
    const auto matches = match(query);
    if (matches.empty()) return {false, 0, "no node matches '" + std::string(query) + "'"};
    if (matches.size() > 1) {
        // Accepting a key is trusting a node: never a guess between two.
        std::string text =
            std::to_string(matches.size()) + " nodes match '" + std::string(query) + "':";
        for (const NodeRecord* n : matches)
            text += " " + radio::node_id(n->num) + " (" + n->short_name + ", " + n->long_name +
                    ")" + (n == matches.back() ? "" : ",");
        return {false, 0, text + "; name one by its !id"};
    }
    const NodeRecord* node = matches.front();
    const std::uint32_t num = node->num;
    const std::string id = radio::node_id(num);
    if (node->key_state() != KeyState::changed) {
        return {false, num,
                id + ": no changed key to accept (key " + to_string(node->key_state()) + ")"};
    }
    if (!accept_key(num)) return {false, num, id + ": the accepted key could not be saved"};
    return {true, num, id + ": accepted key " + key_base64(*find(num)->pinned_key)};
}

bool NodeStore::trusts(std::uint32_t num, std::string_view packet_key) const {
    const NodeRecord* node = find(num);
    return node != nullptr && node->key_state() == KeyState::pinned &&
           packet_key == key_bytes(*node->pinned_key);
}

const NodeRecord* NodeStore::find(std::uint32_t num) const {
    auto it = nodes_.find(num);
    return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<const NodeRecord*> NodeStore::match(std::string_view query) const {
    std::vector<const NodeRecord*> all;
    all.reserve(nodes_.size());
    for (const auto& [num, node] : nodes_)
        all.push_back(&node);
    return match_nodes(query, all, [](const NodeRecord* n) {
        return NodeNames{n->num, n->short_name, n->long_name};
    });
}

const NodeRecord* NodeStore::find(std::string_view query) const {
    const auto matches = match(query);
    return matches.size() == 1 ? matches.front() : nullptr;
}

void NodeStore::for_each(const std::function<void(const NodeRecord&)>& fn) const {
    for (const auto& [num, node] : nodes_)
        fn(node);
}

}  // namespace meshbot::nodes
