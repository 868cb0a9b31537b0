#pragma once
// Makes sure the radio holds a node's key exactly when the bot needs it
// (docs/radio-protocol.md §5.5): a DM that the radio would PKI-encrypt goes out behind an
// add_contact when the radio lacks the pinned key, at most once per node per session; a
// PKI_SEND_FAIL_PUBLIC_KEY NAK gets one push and one retry; after each (re)connect only a short
// list of important nodes is restored, and the periodic check does nothing at all while neither
// side changed.
//
//   store (pinned keys) --diff--> RadioView (what the radio holds)
//          |                          ^
//          +-- send(DM) --> [add_contact] + DM --> RadioLink --> ACK --+

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "config/app_config.hpp"
#include "mesh.pb.h"
#include "nodes/node_store.hpp"
#include "nodes/radio_view.hpp"
#include "radio/outbox.hpp"

namespace meshbot::nodes {

struct KeySyncCounters {
    std::uint64_t checks_run = 0;      // periodic checks that compared store and radio
    std::uint64_t checks_skipped = 0;  // periodic checks with nothing changed
    std::uint64_t keys_pushed = 0;     // add_contacts the radio acknowledged
    std::uint64_t pushes_failed = 0;   // add_contacts refused or unanswered
};

// The difference between the store's pinned keys and what the radio holds.
struct KeyDiff {
    std::size_t pinned = 0;     // nodes with a pinned key in the store
    std::size_t missing = 0;    // of those, the radio holds no key
    std::size_t different = 0;  // of those, the radio holds another key
};

// Owns the RadioView and the sync policy. io_context thread only.
class KeySync {
public:
    using Sender = std::function<std::uint32_t(pb::MeshPacket, radio::SendCallback)>;
    // A packet id from the link's sequence, for a packet refused before it reaches the link.
    using IdSource = std::function<std::uint32_t()>;

    KeySync(boost::asio::any_io_executor executor, const config::AppConfig& config,
            NodeStore& store, Sender send, IdSource reserve_id = {});

    // After the store learned the same handshake (our node number comes from the store).
    void on_ready(const radio::RadioInfo& radio);
    void on_down();
    void on_packet(const pb::MeshPacket& packet) { view_.on_packet(packet); }

    // Sends `packet` like RadioLink::send, first pushing the destination's key when the radio
    // needs it and lacks it. A DM nobody has a key for is refused under an id of its own, so
    // that its completion (refused, with the reason in words) reaches whoever tracks that id.
    // `done` runs exactly once, and never before this call has returned.
    std::uint32_t send(pb::MeshPacket packet, radio::SendCallback done);

    // The operator trusted a node's new key: the radio gets it now, not at the next DM, so that
    // the node's own encrypted messages can be read again.
    void on_key_accepted(std::uint32_t num);

    // The periodic check (also run by the timer): O(1) when neither generation moved.
    void check();
    KeyDiff diff() const;

    const KeySyncCounters& counters() const { return counters_; }
    const RadioView& view() const { return view_; }

private:
    bool needs_key(const pb::MeshPacket& packet) const;
    // Queues an add_contact for `node` unless its key went out already this session.
    void push(const NodeRecord& node, const char* why);
    void restore_important();
    void arm_timer();

    const config::AppConfig& config_;
    NodeStore& store_;
    Sender send_;
    IdSource reserve_id_;
    RadioView view_;
    boost::asio::steady_timer timer_;
    bool ready_ = false;
    std::unordered_map<std::uint32_t, PublicKey> pushed_;  // this session
    std::uint64_t checked_store_generation_ = 0;
    std::uint64_t checked_view_generation_ = 0;
    bool checked_once_ = false;
    KeySyncCounters counters_;
};

}  // namespace meshbot::nodes
