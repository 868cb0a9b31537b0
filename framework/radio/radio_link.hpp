#pragma once
// The one connection to a radio, kept alive for as long as the daemon runs.
//
//        +------------+ connected +-------------+ config_complete_id == nonce +-------+
//   +--> | connecting | --------> | handshaking | --------------------------> | ready |
//   |    +------------+           +-------------+ <-- rebooted / my_info ---- +-------+
//   |      | failed, timeout        | EOF, write error, deadline              | EOF, write
//   |      v                        v                                         v error, silence
//   |    +-----------------------------------------------------------------------------+
//   +----| backoff: 1 s doubling to 60 s, jittered; reset after a stable period        |
//        +-----------------------------------------------------------------------------+
//
// Silence: no decodable frame for heartbeat_interval * silence_multiple, on every firmware.
// Radios answer heartbeats since 2.7.4; older ones get a local metadata request instead, and
// TCP keep-alive notices a radio that vanished altogether.

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/app_config.hpp"
#include "mesh.pb.h"
#include "radio/backoff.hpp"
#include "radio/byte_stream.hpp"
#include "radio/endpoint_registry.hpp"
#include "radio/frame_codec.hpp"
#include "radio/outbox.hpp"
#include "radio/session.hpp"
#include "radio/warning_throttle.hpp"

namespace meshbot::radio {

enum class LinkState { idle, connecting, handshaking, ready, backoff, stopped };
const char* to_string(LinkState state);

struct LinkStats {
    std::uint64_t connect_attempts = 0;
    std::uint64_t connections = 0;  // connects that succeeded
    std::uint64_t handshakes = 0;   // handshakes that completed
    std::uint64_t frames_in = 0;
    std::uint64_t frames_out = 0;
    std::uint64_t bytes_in = 0;        // as read from the stream, framing and garbage included
    std::uint64_t bytes_out = 0;       // frames written
    std::uint64_t outbox_refused = 0;  // sends refused because the outbox was full
    std::uint64_t undecodable = 0;     // frames that were not a FromRadio
    std::uint64_t duplicates = 0;
    Clock::time_point ready_since{};
    Clock::time_point last_rx{};     // any bytes
    Clock::time_point last_frame{};  // the last FromRadio that decoded: what proves a live radio
    std::uint32_t radio_queue_free = 0;  // per the radio's last queueStatus
    std::uint32_t radio_queue_max = 0;
};

// One coroutine actor per radio endpoint; all of it runs on the io_context thread, and every
// public member must be called from that thread. Construction claims the endpoint in the
// process-wide registry (throws EndpointInUse for a second link to the same radio).
class RadioLink {
public:
    struct Handlers {
        std::function<void(const RadioInfo&)> on_ready;
        std::function<void(const std::string& reason)> on_down;  // only after on_ready
        std::function<void(const pb::MeshPacket&, bool replayed)> on_packet;
        // refresh_config() completed: radio() holds what the radio says now.
        std::function<void(const RadioInfo&)> on_refreshed;
    };

    RadioLink(asio::any_io_executor executor, config::RadioConfig config, Handlers handlers);
    ~RadioLink();
    RadioLink(const RadioLink&) = delete;
    RadioLink& operator=(const RadioLink&) = delete;

    void start();
    // Sends ToRadio.disconnect if connected, flushes, closes; `done` runs when the actor ended.
    void stop(std::function<void()> done);

    // Queues a packet for the radio (kept across reconnects); returns its id, 0 if refused.
    // `done` runs exactly once, never before this call has returned (a refusal is posted).
    std::uint32_t send(pb::MeshPacket packet, SendCallback done = {});

    // An id from the outbox's sequence for a packet refused before it reached the link.
    std::uint32_t reserve_id() { return outbox_.reserve_id(); }
    // Whose the packet just sent under `id` is (Outbox::assign_source): a virtual-node client's
    // packets take turns with the bot's and the other clients'.
    void assign_source(std::uint32_t id, std::uint64_t source) {
        outbox_.assign_source(id, source);
    }

    LinkState state() const { return state_; }
    const RadioInfo& radio() const { return session_.radio(); }
    const LinkStats& stats() const { return stats_; }
    // Nodes in the radio's NodeDB, the radio itself included; 0 before the first handshake.
    std::size_t radio_nodes() const {
        return stats_.handshakes ? session_.radio().nodes.size() + 1 : 0;
    }
    // Connections after the first: each one followed a lost link.
    std::uint64_t reconnects() const { return stats_.connections ? stats_.connections - 1 : 0; }
    std::size_t outbox_pending() const { return outbox_.queued(); }
    // Packets that waited longer than outbox_expiry for a link, since start.
    std::uint64_t outbox_expired() const { return outbox_.expired(); }
    const std::string& endpoint() const { return description_; }
    // Why the last connection failed or ended ("" before the first).
    const std::string& last_error() const { return last_error_; }
    // Called after every state change (on this thread, from inside the link: it must only read
    // the link). One listener: the daemon's systemd STATUS= line.
    void set_state_listener(std::function<void()> listener) {
        state_listener_ = std::move(listener);
    }
    // Called with every decoded FromRadio and what it meant, after the link dealt with it and,
    // except for packets, after its handlers did (on this thread). One listener: the virtual
    // node, which relays them.
    using MessageListener = std::function<void(const pb::FromRadio&, const SessionEvent&)>;
    void set_message_listener(MessageListener listener) { message_listener_ = std::move(listener); }
    // Asks a ready radio for its config again without leaving ready: after a client of the
    // virtual node changed it. Ignored while not ready; asked while one runs, it follows that
    // one; given up after handshake_timeout.
    void refresh_config();
    bool refreshing() const { return session_.refreshing(); }

private:
    asio::awaitable<void> run();
    asio::awaitable<void> run_connection();
    asio::awaitable<void> run_loops();
    asio::awaitable<void> read_loop();
    asio::awaitable<void> write_loop();
    asio::awaitable<void> watchdog_loop();
    asio::awaitable<void> housekeeping_loop();
    void wake_housekeeping();  // a send made the outbox non-empty

    void on_frame(std::span<const std::uint8_t> payload);
    void on_unframed_text(std::string_view text);
    void start_handshake(const std::string& why);
    void queue_to_radio(const pb::ToRadio& message);
    void lose(std::string reason);
    void set_state(LinkState state, const std::string& detail);
    void wake_writer();
    // Firmware before 2.7.4 does not answer heartbeats: a local admin request it does answer
    // stands in, so that a quiet mesh is not mistaken for a hung radio.
    void probe_radio();

    asio::any_io_executor executor_;
    config::RadioConfig config_;
    Handlers handlers_;
    EndpointClaim claim_;
    std::string description_;

    Session session_;
    Outbox outbox_;
    Backoff backoff_;
    FrameDecoder decoder_;
    LinkStats stats_;
    LinkState state_ = LinkState::idle;

    // Per connection.
    std::unique_ptr<ByteStream> stream_;
    std::deque<std::vector<std::uint8_t>> write_queue_;
    bool lost_ = false;
    std::string lost_reason_;
    std::string last_error_;  // lost_reason_ or the connect error, kept across the backoff
    std::function<void()> state_listener_;
    MessageListener message_listener_;
    Clock::time_point handshake_deadline_{};
    Clock::time_point refresh_deadline_ = Clock::time_point::max();
    bool refresh_again_ = false;  // asked for while a refresh was running
    Clock::time_point next_heartbeat_{};
    bool radio_answers_heartbeats_ = false;
    WarningThrottle undecodable_warnings_;
    WarningThrottle garbage_warnings_;

    asio::steady_timer writer_timer_;
    asio::steady_timer watchdog_timer_;
    asio::steady_timer backoff_timer_;
    asio::steady_timer housekeeping_timer_;
    bool housekeeping_idle_ = false;  // waiting for a send, not for a deadline
    bool running_ = false;
    bool stopping_ = false;
    std::function<void()> stop_done_;
};

// True for firmware versions ("2.7.26.54e0d8d") that answer a heartbeat with a queueStatus.
bool firmware_answers_heartbeat(const std::string& version);

}  // namespace meshbot::radio
