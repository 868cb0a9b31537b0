#pragma once
// The Meshtastic stream framing: 0x94 0xC3, a big-endian 16-bit length, then one protobuf.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::radio {

inline constexpr std::uint8_t kFrameStart1 = 0x94;
inline constexpr std::uint8_t kFrameStart2 = 0xC3;
inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::size_t kMaxFramePayload = 512;

// Prepends the 4-byte header; payloads over kMaxFramePayload are refused (returns false).
bool encode_frame(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode_frame(std::string_view payload);

// Counters a FrameDecoder keeps, for logs and the monitor.
struct FrameDecoderStats {
    std::uint64_t frames = 0;
    std::uint64_t oversize = 0;       // headers announcing more than kMaxFramePayload
    std::uint64_t skipped_bytes = 0;  // bytes outside any frame
};

// Splits a byte stream into frame payloads, whatever the read boundaries. Bytes outside
// frames are handed to the text sink (on serial they are the device's log lines). Unlike the
// firmware's parser, a 0x94 seen where 0xC3 was expected starts a new header, so `94 94 C3`
// loses nothing. Single-threaded: owned by one link, called from the io_context thread.
class FrameDecoder {
public:
    using FrameSink = std::function<void(std::span<const std::uint8_t> payload)>;
    using TextSink = std::function<void(std::string_view line)>;

    explicit FrameDecoder(FrameSink on_frame, TextSink on_text = {});

    void feed(std::span<const std::uint8_t> bytes);
    // Forgets a partial frame, e.g. when the link reconnects.
    void reset();

    const FrameDecoderStats& stats() const { return stats_; }

private:
    enum class State { start1, start2, len_hi, len_lo, payload };

    void skip(std::uint8_t byte);
    void flush_text();

    FrameSink on_frame_;
    TextSink on_text_;
    State state_ = State::start1;
    std::size_t expected_ = 0;
    std::vector<std::uint8_t> payload_;
    std::string text_;
    FrameDecoderStats stats_;
};

}  // namespace meshbot::radio
