#pragma once
// RequestLane: one kind of remote request (traceroute, telemetry or position) paced the way the
// firmware demands, with a short queue in front, so that no request is ever dropped by the
// radio's per-connection throttle (it discards the second one silently). Header-only so unit
// tests can drive it with a fake clock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace remote {

// A request as the user made it: whom to ask, and whom to answer.
struct RemoteRequest {
    std::uint32_t target = 0;
    std::string target_name;  // as the answer will call it
    std::uint32_t asker = 0;
    std::uint64_t event = 0;  // the command event, to answer in the same place
};

// Owns one lane's in-flight request and queue; the plugin's event-loop thread only. A request
// goes out only when none is in flight and `gap` has passed since the last one went out;
// otherwise up to `capacity` wait, first come first served.
class RequestLane {
public:
    using Clock = std::chrono::steady_clock;

    enum class Verdict {
        send_now,   // call start() and send it
        queued,     // waiting; `position` (1-based) and `eta` say where and how long
        full,       // refused; `eta` says when a place frees up
        duplicate,  // the same asker already has this request in flight or queued
    };
    struct Admission {
        Verdict verdict = Verdict::send_now;
        std::size_t position = 0;
        // Time until it goes out (queued) or a place frees (full). nullopt: it depends on when
        // the request in flight is answered.
        std::optional<Clock::duration> eta;
    };

    RequestLane(Clock::duration gap, std::size_t capacity) : gap_(gap), capacity_(capacity) {}

    Admission admit(const RemoteRequest& r, Clock::time_point now) {
        const auto same = [&](const RemoteRequest& o) {
            return o.target == r.target && o.asker == r.asker;
        };
        if (in_flight_ && same(in_flight_->request)) return {Verdict::duplicate, 0, {}};
        for (const auto& q : queue_) {
            if (same(q)) return {Verdict::duplicate, 0, {}};
        }
        if (queue_.empty() && !busy(now)) return {Verdict::send_now, 0, {}};
        if (queue_.size() >= capacity_) return {Verdict::full, 0, eta(0, now)};
        queue_.push_back(r);
        return {Verdict::queued, queue_.size(), eta(queue_.size() - 1, now)};
    }

    // `r` went out now under `token` (the plugin's handle for it).
    void start(std::uint64_t token, RemoteRequest r, Clock::time_point now) {
        previous_sent_ = last_sent_;
        last_sent_ = now;
        in_flight_ = InFlight{token, 0, std::move(r), now};
    }
    // The radio's packet id of the request in flight, for answers matched by request_id.
    void set_packet_id(std::uint64_t token, std::uint32_t id) {
        if (in_flight_ && in_flight_->token == token) in_flight_->packet_id = id;
    }

    // Ends the request in flight if `token` is it, returning it (nullopt: it had already ended,
    // e.g. a late timeout after a routing error). `reached_radio` false (refused by the host)
    // gives the lane its previous send time back: the radio never saw it.
    std::optional<RemoteRequest> finish(std::uint64_t token, bool reached_radio) {
        if (!in_flight_ || in_flight_->token != token) return std::nullopt;
        RemoteRequest r = std::move(in_flight_->request);
        in_flight_.reset();
        if (!reached_radio) last_sent_ = previous_sent_;
        return r;
    }

    // The next queued request if it may go out now (the caller then start()s it).
    std::optional<RemoteRequest> take_ready(Clock::time_point now) {
        if (queue_.empty() || busy(now)) return std::nullopt;
        RemoteRequest r = std::move(queue_.front());
        queue_.pop_front();
        return r;
    }

    // When to look at the queue again: nullopt when it is empty or waits for an answer.
    std::optional<Clock::time_point> wake_at() const {
        if (queue_.empty() || in_flight_ || !last_sent_) return std::nullopt;
        return *last_sent_ + gap_;
    }

    bool busy(Clock::time_point now) const {
        return in_flight_.has_value() || (last_sent_ && now < *last_sent_ + gap_);
    }
    std::optional<std::uint64_t> in_flight_token() const {
        return in_flight_ ? std::optional(in_flight_->token) : std::nullopt;
    }
    std::uint32_t in_flight_packet_id() const { return in_flight_ ? in_flight_->packet_id : 0; }
    std::optional<Clock::time_point> in_flight_since() const {
        return in_flight_ ? std::optional(in_flight_->sent_at) : std::nullopt;
    }
    std::size_t queued() const { return queue_.size(); }
    Clock::duration gap() const { return gap_; }

private:
    struct InFlight {
        std::uint64_t token;
        std::uint32_t packet_id;
        RemoteRequest request;
        Clock::time_point sent_at;
    };

    // How long until queue slot `index` goes out: the gap after the last send, one more gap per
    // request ahead of it. Unknowable while the request in flight outlasts the gap.
    std::optional<Clock::duration> eta(std::size_t index, Clock::time_point now) const {
        auto first = Clock::duration::zero();
        if (last_sent_ && now < *last_sent_ + gap_) first = *last_sent_ + gap_ - now;
        if (in_flight_ && first == Clock::duration::zero()) return std::nullopt;
        return first + gap_ * static_cast<long>(index);
    }

    Clock::duration gap_;
    std::size_t capacity_;
    std::deque<RemoteRequest> queue_;
    std::optional<InFlight> in_flight_;
    std::optional<Clock::time_point> last_sent_;
    std::optional<Clock::time_point> previous_sent_;
};

}  // namespace remote
