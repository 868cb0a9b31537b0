#pragma once
// Internal to SimServer's .cpp files: the client session type and small shared helpers.

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "radio/frame_codec.hpp"
#include "sim_server.hpp"

namespace meshbot::sim {

using asio::ip::tcp;
using boost::system::error_code;
inline constexpr auto kAwait = asio::use_awaitable;

inline std::uint32_t epoch_now() {
    return static_cast<std::uint32_t>(std::time(nullptr));
}

inline double mono_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

inline std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

inline void warn(const std::string& message) {
    std::fprintf(stderr, "meshbot-sim: %s\n", message.c_str());
}

inline std::vector<std::uint8_t> frame_of(const pb::FromRadio& message) {
    return radio::encode_frame(message.SerializeAsString());
}

// A stream header announcing `announced` bytes (possibly more than the firmware allows).
inline std::vector<std::uint8_t> frame_header(std::size_t announced) {
    return {radio::kFrameStart1, radio::kFrameStart2, static_cast<std::uint8_t>(announced >> 8),
            static_cast<std::uint8_t>(announced & 0xFF)};
}

// One client session: a TCP connection, or on serial the span between the slave being opened
// and closed. Shared by the coroutines serving it; io_context thread only.
struct SimServer::Conn : std::enable_shared_from_this<Conn> {
    Conn(asio::io_context& io, std::uint64_t conn_id) : id(conn_id), wake(io), idle(io) {}

    std::uint64_t id;
    bool open = true;
    bool asked_config = false;  // PhoneAPI leaves STATE_SEND_NOTHING at the first want_config_id
    bool configured = false;    // a handshake has completed, live traffic may flow
    PhoneState phone;
    std::unique_ptr<radio::FrameDecoder> decoder;
    std::optional<tcp::socket> socket;             // TCP only
    std::deque<std::vector<std::uint8_t>> outbox;  // TCP only; serial uses pty_outbox_
    asio::steady_timer wake;                       // wakes the writer
    asio::steady_timer idle;
    Clock::time_point last_rx = Clock::now();
};

}  // namespace meshbot::sim
