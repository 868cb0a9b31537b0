#include "radio/outbox.hpp"

#include <algorithm>
#include <utility>

#include "portnums.pb.h"

namespace meshbot::radio {

namespace {

// The firmware measures its gaps at its end of the link; a little extra keeps network jitter
// from ever bringing two of our packets closer than it allows.
constexpr auto kGapMargin = std::chrono::milliseconds(25);

SendResult make_result(SendResult::Status status, std::uint32_t id, int routing_error = 0,
                       std::uint32_t from = 0) {
    SendResult r;
    r.status = status;
    r.id = id;
    r.routing_error = routing_error;
    r.from = from;
    return r;
}

std::uint32_t portnum_of(const pb::MeshPacket& p) {
    return p.has_decoded() ? static_cast<std::uint32_t>(p.decoded().portnum()) : 0;
}

}  // namespace

const char* to_string(SendResult::Status status) {
    using S = SendResult::Status;
    switch (status) {
        case S::acked:
            return "acked";
        case S::sent:
            return "sent";
        case S::nak:
            return "nak";
        case S::timeout:
            return "timeout";
        case S::expired:
            return "expired";
        case S::rejected_full:
            return "rejected_full";
        case S::cancelled:
            return "cancelled";
        case S::refused:
            return "refused";
        case S::reissued:
            return "reissued";
    }
    return "?";
}

Outbox::Outbox(OutboxOptions options, std::uint64_t seed) : options_(options), ids_(seed) {}

std::uint32_t Outbox::enqueue(pb::MeshPacket packet, SendCallback& done, Clock::time_point now) {
    if (queued() >= options_.capacity) return 0;
    const std::uint32_t id = ids_.next();
    packet.set_id(id);
    queue_.push_back(Entry{std::move(packet), std::exchange(done, {}), now, {}, false});
    return id;
}

std::optional<pb::MeshPacket> Outbox::take_next(Clock::time_point now, std::uint32_t hop_limit,
                                                Clock::time_point& wake_at) {
    wake_at = Clock::time_point::max();
    tick(now);
    if (unconfirmed_) {
        wake_at = unconfirmed_->deadline;
        return std::nullopt;
    }
    if (queue_.empty() || radio_free_ == 0u) return std::nullopt;

    // The oldest packet whose port the firmware would accept now. A paced traceroute must not
    // hold up the texts behind it; packets of one port keep their order.
    std::vector<std::uint32_t> passed;  // ports seen waiting: later packets of them wait too
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        const std::uint32_t port = portnum_of(it->packet);
        if (std::find(passed.begin(), passed.end(), port) != passed.end()) continue;
        const auto ready = ready_at(port);
        if (now < ready) {
            wake_at = std::min(wake_at, ready);
            passed.push_back(port);
            continue;
        }
        it = next_turn(it, port);
        Entry next = std::move(*it);
        queue_.erase(it);
        // The firmware only fills in a default hop limit for want_ack packets; set it always.
        if (next.packet.hop_limit() == 0) next.packet.set_hop_limit(hop_limit);
        if (gap_for(port) > Clock::duration::zero()) last_sent_[port] = now;
        next.deadline = now + options_.confirm_timeout;
        unconfirmed_ = std::move(next);
        wake_at = unconfirmed_->deadline;
        return unconfirmed_->packet;
    }
    return std::nullopt;
}

void Outbox::assign_source(std::uint32_t id, std::uint64_t source) {
    for (auto& entry : queue_) {
        if (entry.packet.id() != id) continue;
        entry.source = source;
        // A newcomer queues behind those already waiting for their turn, not ahead of them.
        served_.try_emplace({portnum_of(entry.packet), source}, turns_);
    }
}

std::deque<Outbox::Entry>::iterator Outbox::next_turn(std::deque<Entry>::iterator oldest,
                                                      std::uint32_t port) {
    const auto turn_of = [&](std::uint64_t source) {
        const auto it = served_.find({port, source});
        return it == served_.end() ? std::uint64_t{0} : it->second;
    };
    // The bot's first packet of the port, and the client's whose turn it is among the clients.
    auto bot = queue_.end();
    auto client = queue_.end();
    std::uint64_t client_turn = 0;
    for (auto it = oldest; it != queue_.end(); ++it) {
        if (portnum_of(it->packet) != port) continue;
        if (it->source == 0) {
            if (bot == queue_.end()) bot = it;
        } else if (const auto turn = turn_of(it->source);
                   client == queue_.end() || turn < client_turn) {
            // Strictly earlier only: a source's own packets keep their order.
            client = it;
            client_turn = turn;
        }
    }
    // The bot and the clients (as one) take turns: however many clients there are, or
    // connections that left packets behind, the bot keeps half of the port's budget.
    auto best = bot;
    if (client != queue_.end()) {
        const auto clients_turn = turn_of(kAllClients);
        const auto bot_turn = turn_of(0);
        if (bot == queue_.end() || clients_turn < bot_turn ||
            (clients_turn == bot_turn && client < bot))
            best = client;
    }
    if (best->source != 0 || !served_.empty()) {  // only the bot: nothing to remember
        const auto turn = ++turns_;
        served_[{port, best->source}] = turn;
        if (best->source != 0) served_[{port, kAllClients}] = turn;
        if (served_.size() > 256) forget_idle_sources();
    }
    return best;
}

void Outbox::forget_idle_sources() {
    // Sources come and go (every client connection is one) and a port number is whatever a
    // client says: keep the turns of what is queued.
    std::set<std::pair<std::uint32_t, std::uint64_t>> queued;
    std::set<std::uint32_t> ports;
    for (const auto& e : queue_) {
        queued.emplace(portnum_of(e.packet), e.source);
        ports.insert(portnum_of(e.packet));
    }
    std::erase_if(served_, [&](const auto& item) {
        const auto& [port, source] = item.first;
        if (source == 0 || source == kAllClients) return ports.count(port) == 0;
        return queued.count(item.first) == 0;
    });
}

Clock::duration Outbox::gap_for(std::uint32_t port) const {
    Clock::duration gap = Clock::duration::zero();
    switch (port) {
        case pb::TEXT_MESSAGE_APP:
            gap = options_.text_gap;
            break;
        case pb::POSITION_APP:
        case pb::WAYPOINT_APP:
        case pb::ALERT_APP:
        case pb::TELEMETRY_APP:
            gap = options_.telemetry_gap;
            break;
        case pb::TRACEROUTE_APP:
            gap = options_.traceroute_gap;
            break;
        default:
            break;
    }
    return gap > Clock::duration::zero() ? gap + kGapMargin : gap;
}

Clock::time_point Outbox::ready_at(std::uint32_t port) const {
    const auto it = last_sent_.find(port);
    return it == last_sent_.end() ? Clock::time_point::min() : it->second + gap_for(port);
}

void Outbox::on_queue_status(const pb::QueueStatus& status, Clock::time_point now) {
    radio_free_ = status.free();
    if (!unconfirmed_ || status.mesh_packet_id() != unconfirmed_->packet.id()) return;
    Entry entry = std::move(*unconfirmed_);
    unconfirmed_.reset();
    if (status.res() != 0) {
        complete(entry, make_result(SendResult::Status::nak, entry.packet.id(), status.res(), 0));
        return;
    }
    accept(std::move(entry), now);
}

void Outbox::accept(Entry entry, Clock::time_point now) {
    entry.deadline = now + (entry.packet.want_ack() ? options_.ack_timeout : options_.nak_grace);
    const std::uint32_t id = entry.packet.id();
    deadlines_.emplace(entry.deadline, id);
    awaiting_.insert_or_assign(id, std::move(entry));
}

bool Outbox::on_routing(const pb::MeshPacket& packet, Clock::time_point now) {
    if (!packet.has_decoded() || packet.decoded().portnum() != pb::ROUTING_APP) return false;
    const std::uint32_t request_id = packet.decoded().request_id();
    pb::Routing routing;
    if (request_id == 0 || !routing.ParseFromString(packet.decoded().payload())) return false;

    auto it = awaiting_.find(request_id);
    if (it == awaiting_.end()) {
        // The answer can overtake the queueStatus that confirms the write.
        if (!unconfirmed_ || unconfirmed_->packet.id() != request_id) return false;
        accept(std::move(*unconfirmed_), now);
        unconfirmed_.reset();
        it = awaiting_.find(request_id);
    }
    Entry entry = std::move(it->second);
    deadlines_.erase({entry.deadline, request_id});
    awaiting_.erase(it);

    const int error = routing.has_error_reason() ? routing.error_reason() : 0;
    if (error == pb::Routing::RATE_LIMIT_EXCEEDED && !entry.retried) {
        // The radio dropped it; it remembers the id, so the retry needs a fresh one.
        entry.retried = true;
        entry.packet.set_id(ids_.next());
        if (entry.done) {  // whoever tracks the id (a plugin's request) must follow it
            SendResult moved = make_result(SendResult::Status::reissued, request_id);
            moved.reissued_as = entry.packet.id();
            entry.done(moved);
        }
        queue_.push_front(std::move(entry));
        return true;
    }
    if (error == 0) {
        complete(entry, make_result(SendResult::Status::acked, request_id, 0, packet.from()));
    } else {
        complete(entry, make_result(SendResult::Status::nak, request_id, error, packet.from()));
    }
    return true;
}

void Outbox::on_link_down() {
    radio_free_.reset();
    if (unconfirmed_) {
        queue_.push_front(std::move(*unconfirmed_));
        unconfirmed_.reset();
    }
}

Clock::time_point Outbox::tick(Clock::time_point now) {
    auto earliest = Clock::time_point::max();
    while (!queue_.empty() && now - queue_.front().enqueued >= options_.expiry) {
        Entry entry = std::move(queue_.front());
        queue_.pop_front();
        ++expired_;
        complete(entry, make_result(SendResult::Status::expired, entry.packet.id(), 0, 0));
    }
    if (!queue_.empty()) earliest = queue_.front().enqueued + options_.expiry;

    if (unconfirmed_ && now >= unconfirmed_->deadline) {
        // No queueStatus came (older firmware, or the status queue overflowed): assume queued.
        Entry entry = std::move(*unconfirmed_);
        unconfirmed_.reset();
        accept(std::move(entry), now);
    }
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        const std::uint32_t id = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        auto it = awaiting_.find(id);
        if (it == awaiting_.end()) continue;
        Entry entry = std::move(it->second);
        awaiting_.erase(it);
        const auto status =
            entry.packet.want_ack() ? SendResult::Status::timeout : SendResult::Status::sent;
        complete(entry, make_result(status, entry.packet.id()));
    }
    if (!deadlines_.empty()) earliest = std::min(earliest, deadlines_.begin()->first);
    return earliest;
}

void Outbox::cancel_all() {
    // Callbacks may enqueue again; take everything out first.
    auto queue = std::exchange(queue_, {});
    auto awaiting = std::exchange(awaiting_, {});
    deadlines_.clear();
    auto unconfirmed = std::exchange(unconfirmed_, std::nullopt);
    auto cancel = [this](Entry& e) {
        complete(e, make_result(SendResult::Status::cancelled, e.packet.id(), 0, 0));
    };
    if (unconfirmed) cancel(*unconfirmed);
    for (auto& e : queue)
        cancel(e);
    for (auto& [id, e] : awaiting)
        cancel(e);
}

void Outbox::complete(Entry& entry, SendResult result) {
    if (entry.done) std::exchange(entry.done, {})(result);
}

}  // namespace meshbot::radio
