#pragma once
// A minimal blocking radio-API client for tests that play the phone/bot side themselves.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mesh.pb.h"
#include "radio/frame_codec.hpp"

namespace meshbot::testing {

namespace pb = meshbot::pb;

// True if something accepts a TCP connection on 127.0.0.1:port right now.
bool tcp_port_accepts(std::uint16_t port);

// Owns one TCP connection to 127.0.0.1 (or an opened pty slave) and a FrameDecoder over it.
// Blocking, with deadlines; one test thread only. Not movable (the decoder points back).
class RawRadioClient {
    struct FdTag {
        explicit FdTag() = default;
    };

public:
    // Connects to 127.0.0.1:port; throws std::runtime_error if refused.
    explicit RawRadioClient(std::uint16_t port);
    // Opens a pty slave (e.g. SimProcess::serial_path()) in raw mode.
    static std::unique_ptr<RawRadioClient> open_serial(const std::string& path);
    // For open_serial (FdTag keeps it private while make_unique can still reach it).
    RawRadioClient(FdTag tag, int fd, bool is_socket);
    ~RawRadioClient();
    RawRadioClient(const RawRadioClient&) = delete;
    RawRadioClient& operator=(const RawRadioClient&) = delete;

    void send(const pb::ToRadio& message);
    void send_raw(std::span<const std::uint8_t> bytes);
    void send_want_config(std::uint32_t nonce);
    void send_heartbeat(std::uint32_t nonce = 0);
    // A packet with decoded {portnum, payload}; returns the packet as sent.
    pb::MeshPacket send_packet(std::uint32_t id, std::uint32_t to, pb::PortNum portnum,
                               std::string_view payload, bool want_ack = false);
    pb::MeshPacket send_text(std::uint32_t id, std::uint32_t to, std::string_view text,
                             bool want_ack = false);

    // The next decodable FromRadio; undecodable frames are counted and skipped.
    std::optional<pb::FromRadio> receive(std::chrono::milliseconds timeout);
    // The next FromRadio satisfying pred; the ones before it are dropped.
    std::optional<pb::FromRadio> receive_until(std::function<bool(const pb::FromRadio&)> pred,
                                               std::chrono::milliseconds timeout);
    // Sends want_config_id and returns every frame up to and including config_complete_id ==
    // nonce; empty if it did not complete in time.
    std::vector<pb::FromRadio> handshake(std::uint32_t nonce, std::chrono::milliseconds timeout);
    // True once the other side closed the connection (EOF or reset) within timeout. Frames
    // arriving meanwhile stay available to receive().
    bool closed(std::chrono::milliseconds timeout);
    void close();

    const radio::FrameDecoderStats& decoder_stats() const { return decoder_.stats(); }
    std::size_t undecodable_frames() const { return undecodable_; }
    // Non-frame text lines seen (the device log on serial).
    const std::vector<std::string>& text_lines() const { return text_lines_; }

private:
    // Reads once, waiting at most until deadline; false on timeout or EOF.
    bool read_some(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    bool is_socket_ = true;
    bool eof_ = false;
    radio::FrameDecoder decoder_;
    std::deque<std::vector<std::uint8_t>> frames_;
    std::vector<std::string> text_lines_;
    std::size_t undecodable_ = 0;
};

}  // namespace meshbot::testing
