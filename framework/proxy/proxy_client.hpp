#pragma once
// One API client of the virtual node: its socket, the stream framing both ways, and the frames
// it has yet to read. What its messages mean is the virtual node's business (virtual_node.hpp).

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "mesh.pb.h"
#include "radio/frame_codec.hpp"

namespace meshbot::proxy {

using Clock = std::chrono::steady_clock;

// What a client did, for the log, `meshbot status`, the status page and /metrics.
struct ClientCounters {
    std::uint64_t frames_in = 0;         // frames it sent that decoded as ToRadio
    std::uint64_t frames_out = 0;        // frames written to it
    std::uint64_t packets_to_radio = 0;  // its packets handed to the bot's outbox
    std::uint64_t packets_refused = 0;   // refused by policy or because its queue was full
    std::uint64_t undecodable = 0;       // frames that were no ToRadio
};

// A client's packet waiting for its turn in the bot's outbox.
struct WaitingPacket {
    pb::MeshPacket packet;
    std::uint32_t client_id = 0;  // the id the client gave it
    bool refresh_after = false;   // an allowed radio-changing admin message
    Clock::time_point queued_at{};
};

// Shared by the virtual node's map and the connection's coroutines; io_context thread only.
class ProxyClient : public std::enable_shared_from_this<ProxyClient> {
public:
    using MessageSink = std::function<void(ProxyClient&, const pb::ToRadio&)>;
    using CloseSink = std::function<void(ProxyClient&, const std::string& why)>;

    ProxyClient(boost::asio::ip::tcp::socket socket, std::uint64_t number, std::string address,
                std::size_t buffer_limit, MessageSink on_message, CloseSink on_close);

    void start();
    // Idempotent; the close sink runs once, from here.
    void close(const std::string& why);
    // Drops the sinks: the virtual node is going away, and the coroutines must not call into it.
    void detach();

    // Queues one serialized FromRadio. A `live` frame that would take the unread bytes past
    // the limit closes the client instead: a client that stops reading never holds up the
    // radio link or the others. Handshake frames are bounded by the radio's state and exempt.
    void send(const std::string& payload, bool live = true);
    void send(const pb::FromRadio& message, bool live = true) {
        send(message.SerializeAsString(), live);
    }

    // A new want_config_id restarts the handshake: what is left of the previous one goes,
    // so that a client asking again and again holds at most one in memory.
    void drop_unsent_handshake();

    std::uint64_t number() const { return number_; }
    const std::string& address() const { return address_; }
    bool closed() const { return closed_; }
    std::uint64_t since() const { return since_; }  // epoch seconds
    Clock::time_point last_heard() const { return last_heard_; }
    std::size_t unread_bytes() const { return queued_bytes_; }
    ClientCounters counters;

    // The virtual node's per-client state.
    bool configured = false;  // the handshake is queued: live traffic flows to it
    std::optional<std::uint32_t> waiting_nonce;  // a want_config_id not served yet
    bool handshake_posted = false;               // serve_handshake() is queued on the loop
    std::deque<WaitingPacket> waiting;
    std::map<std::uint32_t, std::uint32_t> in_flight;  // portnum -> bot id, one per port
    std::deque<std::uint32_t> recent_ids;              // the firmware ignores a repeated id
    // Its latest packets' ids and the bot ids they went out under, for the reply_id of a
    // reply or reaction it sends to one of them.
    std::deque<std::pair<std::uint32_t, std::uint32_t>> sent_ids;
    bool mqtt_warned = false;

private:
    boost::asio::awaitable<void> read_loop(std::shared_ptr<ProxyClient> self);
    boost::asio::awaitable<void> write_loop(std::shared_ptr<ProxyClient> self);
    void on_frame(std::span<const std::uint8_t> payload);

    boost::asio::ip::tcp::socket socket_;
    std::uint64_t number_;
    std::string address_;
    std::size_t buffer_limit_;
    MessageSink on_message_;
    CloseSink on_close_;
    radio::FrameDecoder decoder_;
    struct Frame {
        std::string bytes;  // framed
        bool live = true;
    };
    std::deque<Frame> out_;
    std::size_t queued_bytes_ = 0;
    std::size_t live_bytes_ = 0;  // of queued_bytes_, those of live frames
    boost::asio::steady_timer wake_writer_;
    bool closed_ = false;
    std::uint64_t since_ = 0;
    Clock::time_point last_heard_;
};

}  // namespace meshbot::proxy
