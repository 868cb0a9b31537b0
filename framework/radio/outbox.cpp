#include "radio/outbox.hpp"

#include <algorithm>

#include "portnums.pb.h"

namespace meshbot::radio {

namespace {

// The firmware measures the text gap at its end of the link; a little extra keeps network
// jitter from ever bringing two of our texts closer than it allows.
constexpr auto kTextGapMargin = std::chrono::milliseconds(25);

bool is_text(const pb::MeshPacket& p) {
    return p.has_decoded() && p.decoded().portnum() == pb::TEXT_MESSAGE_APP;
}

}  // namespace

Outbox::Outbox(OutboxOptions options, std::uint64_t seed) : options_(options), ids_(seed) {}

std::uint32_t Outbox::enqueue(pb::MeshPacket packet, SendCallback done, Clock::time_point now) {
    const std::uint32_t id = ids_.next();
    packet.set_id(id);
    if (queued() >= options_.capacity) {
        if (done) done({SendResult::Status::rejected_full, id, 0, 0});
        return 0;
    }
    queue_.push_back(Entry{std::move(packet), std::move(done), now, {}, false});
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

    Entry& next = queue_.front();
    const auto gap = options_.text_gap > Clock::duration::zero()
                         ? options_.text_gap + kTextGapMargin
                         : Clock::duration::zero();
    if (is_text(next.packet) && last_text_ && now < *last_text_ + gap) {
        wake_at = *last_text_ + gap;
        return std::nullopt;
    }
    // The firmware only fills in a default hop limit for want_ack packets; set it always.
    if (next.packet.hop_limit() == 0) next.packet.set_hop_limit(hop_limit);
    if (is_text(next.packet)) last_text_ = now;
    next.deadline = now + options_.confirm_timeout;
    unconfirmed_ = std::move(next);
    queue_.pop_front();
    wake_at = unconfirmed_->deadline;
    return unconfirmed_->packet;
}

void Outbox::on_queue_status(const pb::QueueStatus& status, Clock::time_point now) {
    radio_free_ = status.free();
    if (!unconfirmed_ || status.mesh_packet_id() != unconfirmed_->packet.id()) return;
    Entry entry = std::move(*unconfirmed_);
    unconfirmed_.reset();
    if (status.res() != 0) {
        complete(entry, {SendResult::Status::nak, entry.packet.id(), status.res(), 0});
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
        queue_.push_front(std::move(entry));
        return true;
    }
    if (error == 0) {
        complete(entry, {SendResult::Status::acked, request_id, 0, packet.from()});
    } else {
        complete(entry, {SendResult::Status::nak, request_id, error, packet.from()});
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
        complete(entry, {SendResult::Status::expired, entry.packet.id(), 0, 0});
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
        complete(entry, {status, entry.packet.id(), 0, 0});
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
        complete(e, {SendResult::Status::cancelled, e.packet.id(), 0, 0});
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
