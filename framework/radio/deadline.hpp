#pragma once
// A deadline for one awaited operation. Boost 1.74 has no awaitable operators to race an
// operation against a timer, so a timer runs an action that makes the operation end (close or
// cancel its socket), and the awaiting code asks afterwards whether that is why it ended.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

namespace meshbot::radio {

// Owns its timer; the executor's thread only. The action may run after the awaiting coroutine
// has moved on (never after cancel() or re-arming), so it must only touch what it keeps alive.
class Deadline {
public:
    explicit Deadline(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}
    ~Deadline() { cancel(); }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    // Runs `on_expiry` once `after` has passed, unless cancel() or arm() comes first.
    void arm(std::chrono::steady_clock::duration after, std::function<void()> on_expiry) {
        cancel();
        state_->expired = false;
        timer_.expires_after(after);
        timer_.async_wait([state = state_, generation = state_->generation,
                           action = std::move(on_expiry)](const boost::system::error_code& ec) {
            // A timer that had already fired when it was re-armed or cancelled still calls
            // back without an error: the generation tells.
            if (ec || generation != state->generation) return;
            state->expired = true;
            if (action) action();
        });
    }
    void cancel() {
        ++state_->generation;
        timer_.cancel();
    }
    // The action ran: the operation ended because the deadline passed.
    bool expired() const { return state_->expired; }

private:
    struct State {
        unsigned generation = 0;
        bool expired = false;
    };
    boost::asio::steady_timer timer_;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace meshbot::radio
