#pragma once
// The API session with one radio connection: handshake, replay marking, duplicate filtering.

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "mesh.pb.h"
#include "radio/radio_info.hpp"

namespace meshbot::radio {

using Clock = std::chrono::steady_clock;

struct SessionOptions {
    Clock::duration dedupe_window = std::chrono::minutes(10);
    std::size_t dedupe_capacity = 4096;
};

// What one FromRadio meant for the session.
struct SessionEvent {
    enum class Kind {
        none,               // consumed (handshake data, log record, ...)
        ready,              // config_complete_id matched our nonce
        restart_handshake,  // rebooted, or my_info outside a handshake: ask for the config again
        packet,             // a mesh packet to deliver
        duplicate,          // a (from, id) we already delivered
        queue_status,
        notification,    // clientNotification: a human-readable warning from the radio
        stale_complete,  // config_complete_id for a nonce we did not ask for
        refreshed,       // a refresh (begin_refresh) completed: radio() is current again
    };
    Kind kind = Kind::none;
    // With packet: from the radio's backlog, i.e. received by the radio before this connection
    // began (its rx_time says so), or delivered during the handshake.
    bool replayed = false;
    std::string reason;  // with restart_handshake / notification
};

// Pure state machine fed by the link, one instance per link; io_context thread only.
class Session {
public:
    explicit Session(SessionOptions options = {});

    // A new handshake on a fresh (or restarted) connection; `nonce` is the want_config_id sent,
    // `epoch_now` the wall clock (seconds since 1970) that packets' rx_time is compared with.
    void begin_handshake(std::uint32_t nonce, Clock::time_point now, std::uint32_t epoch_now);
    SessionEvent on_from_radio(const pb::FromRadio& message, Clock::time_point now);
    // Asks for the config again while staying ready (after a client changed the radio): live
    // packets stay live, and radio() is replaced when config_complete_id == `nonce` arrives.
    void begin_refresh(std::uint32_t nonce);
    bool refreshing() const { return refreshing_; }
    // Gives up a refresh the radio did not complete: radio() stays as it was, and its late
    // answer, should it come, passes without restarting the handshake.
    void cancel_refresh();

    bool ready() const { return phase_ == Phase::ready; }
    bool handshaking() const { return phase_ == Phase::handshaking; }
    std::uint32_t nonce() const { return nonce_; }
    // Valid once ready(); kept (stale) after the link is lost until the next handshake completes.
    const RadioInfo& radio() const { return radio_; }
    Clock::time_point ready_at() const { return ready_at_; }

private:
    enum class Phase { idle, handshaking, ready };

    SessionEvent on_packet(const pb::MeshPacket& packet, Clock::time_point now);
    bool collecting() const { return phase_ == Phase::handshaking || refreshing_; }
    bool seen_before(const pb::MeshPacket& packet, Clock::time_point now);

    SessionOptions options_;
    Phase phase_ = Phase::idle;
    std::uint32_t nonce_ = 0;
    bool refreshing_ = false;
    std::uint32_t refresh_nonce_ = 0;
    std::uint32_t abandoned_refresh_ = 0;  // a refresh given up: its answer may still come
    RadioInfo pending_;                    // filled during the handshake, published at completion
    RadioInfo radio_;
    Clock::time_point ready_at_{};
    std::uint32_t began_epoch_ = 0;  // when this connection's handshake began

    // (from, id) -> when first seen; the deque keeps arrival order for expiry.
    std::unordered_map<std::uint64_t, Clock::time_point> seen_;
    std::deque<std::uint64_t> seen_order_;
};

// A random want_config_id that is neither 0 nor one of the firmware's special nonces.
std::uint32_t random_config_nonce();

inline constexpr std::uint32_t kNonceOnlyConfig = 69420;
inline constexpr std::uint32_t kNonceOnlyNodes = 69421;

}  // namespace meshbot::radio
