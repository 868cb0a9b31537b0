#pragma once
// Packets on their way to the radio: ids, pacing, flow control, and delivery outcomes.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "mesh.pb.h"
#include "radio/packet_ids.hpp"
#include "radio/session.hpp"

namespace meshbot::radio {

struct SendResult {
    enum class Status {
        acked,          // routing ACK from the destination (or an implicit ACK for broadcasts)
        sent,           // queued by the radio; no ACK was asked for
        nak,            // routing error; see routing_error
        timeout,        // want_ack packet with no routing answer in time
        expired,        // waited too long for a link
        rejected_full,  // the outbox was full
        cancelled,      // the daemon stopped first
        refused,        // the bot would not send it (see message), e.g. no key for a DM
        reissued,       // not an end: it is being sent again under the id `reissued_as`
    };
    Status status = Status::sent;
    std::uint32_t id = 0;
    int routing_error = 0;   // pb::Routing::Error with nak
    std::uint32_t from = 0;  // who answered, with acked / nak
    std::string message;     // with refused: why, in words for the user
    std::uint32_t reissued_as = 0;
};

// The status's name as the enum spells it ("rejected_full"), for logs.
const char* to_string(SendResult::Status status);

using SendCallback = std::function<void(const SendResult&)>;

struct OutboxOptions {
    std::size_t capacity = 256;
    Clock::duration expiry = std::chrono::minutes(10);
    // The firmware's per-connection limits (docs/radio-protocol.md §6.4): it drops a client packet
    // that comes sooner after the previous one of its kind, so the outbox holds it back instead.
    Clock::duration text_gap = std::chrono::seconds(2);
    Clock::duration telemetry_gap = std::chrono::seconds(10);  // also position, waypoint, alert
    Clock::duration traceroute_gap = std::chrono::seconds(30);
    // How long to wait for the queueStatus that confirms a write before moving on.
    Clock::duration confirm_timeout = std::chrono::seconds(3);
    // How long a want_ack packet waits for its routing answer (the firmware retries 3 times).
    Clock::duration ack_timeout = std::chrono::seconds(90);
    // How long a packet without want_ack is kept to catch a RATE_LIMIT_EXCEEDED NAK.
    Clock::duration nak_grace = std::chrono::seconds(3);
};

// Owned by the link; io_context thread only. One packet at a time is written and confirmed
// by its queueStatus; a packet written but unconfirmed when the link drops is written again
// after the next handshake with the same id, so the mesh (which deduplicates by sender and id)
// sees it once.
class Outbox {
public:
    Outbox(OutboxOptions options, std::uint64_t seed);

    // Queues `packet` (from is left to the radio), takes `done`, assigns and returns the id.
    // When full it returns 0 and leaves `done` with the caller, who completes it with
    // rejected_full once its own caller has returned: a completion never runs inside the call
    // that registered it, so a caller cannot see it twice or before it holds the id.
    std::uint32_t enqueue(pb::MeshPacket packet, SendCallback& done, Clock::time_point now);

    // An id from the same sequence for a packet that will never be queued (refused before).
    std::uint32_t reserve_id() { return ids_.next(); }

    // Says whose the queued packet `id` is (0, the default: the bot's own). Packets of one port
    // go out in turns, each source's in its order: the bot and the clients alternate, and among
    // the clients the one served longest ago goes first. Neither a client with many texts
    // waiting nor many clients can hold up the bot's replies.
    void assign_source(std::uint32_t id, std::uint64_t source);

    // The next packet to write, with hop_limit filled in. Otherwise nullopt, and `wake_at` says
    // when to ask again (time_point::max(): only after an event such as enqueue or queueStatus).
    std::optional<pb::MeshPacket> take_next(Clock::time_point now, std::uint32_t hop_limit,
                                            Clock::time_point& wake_at);

    void on_queue_status(const pb::QueueStatus& status, Clock::time_point now);
    // Returns true when `packet` was the routing answer to one of ours.
    bool on_routing(const pb::MeshPacket& packet, Clock::time_point now);
    void on_link_down();
    // Completes timed-out entries; returns the earliest deadline still pending.
    Clock::time_point tick(Clock::time_point now);
    void cancel_all();

    std::size_t queued() const { return queue_.size() + (unconfirmed_ ? 1 : 0); }
    std::size_t awaiting_answer() const { return awaiting_.size(); }
    std::uint64_t expired() const { return expired_; }  // dropped as stale, since construction

private:
    struct Entry {
        pb::MeshPacket packet;
        SendCallback done;
        Clock::time_point enqueued;
        Clock::time_point deadline;  // written: confirm deadline; awaiting: answer deadline
        bool retried = false;
        std::uint64_t source = 0;
    };

    void complete(Entry& entry, SendResult result);
    Clock::duration gap_for(std::uint32_t portnum) const;
    Clock::time_point ready_at(std::uint32_t portnum) const;
    void accept(Entry entry, Clock::time_point now);
    // Of the queued packets of `port`, from `oldest` on, the one whose source's turn it is.
    std::deque<Entry>::iterator next_turn(std::deque<Entry>::iterator oldest, std::uint32_t port);
    void forget_idle_sources();

    OutboxOptions options_;
    PacketIdGenerator ids_;
    std::deque<Entry> queue_;
    std::uint64_t expired_ = 0;
    std::optional<Entry> unconfirmed_;
    std::unordered_map<std::uint32_t, Entry> awaiting_;
    // awaiting_ ordered by deadline, so tick() touches only what is due.
    std::set<std::pair<Clock::time_point, std::uint32_t>> deadlines_;
    std::optional<std::uint32_t> radio_free_;               // unknown until the first queueStatus
    std::map<std::uint32_t, Clock::time_point> last_sent_;  // by portnum, for the paced ones
    // (port, source) -> the turn it was last served in; turns count up from 1. kAllClients
    // stands for every source but the bot.
    static constexpr std::uint64_t kAllClients = ~std::uint64_t{0};
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint64_t> served_;
    std::uint64_t turns_ = 0;
};

}  // namespace meshbot::radio
