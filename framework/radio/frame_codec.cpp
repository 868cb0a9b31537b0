#include "radio/frame_codec.hpp"

#include <algorithm>

namespace meshbot::radio {

namespace {
// A device log line longer than this is emitted in pieces rather than buffered forever.
constexpr std::size_t kMaxTextLine = 1024;
}  // namespace

bool encode_frame(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
    if (payload.size() > kMaxFramePayload) return false;
    out.reserve(out.size() + kFrameHeaderSize + payload.size());
    out.push_back(kFrameStart1);
    out.push_back(kFrameStart2);
    out.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(payload.size() & 0xFF));
    out.insert(out.end(), payload.begin(), payload.end());
    return true;
}

std::vector<std::uint8_t> encode_frame(std::string_view payload) {
    std::vector<std::uint8_t> out;
    const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
    encode_frame(std::span(data, payload.size()), out);
    return out;
}

FrameDecoder::FrameDecoder(FrameSink on_frame, TextSink on_text)
    : on_frame_(std::move(on_frame)), on_text_(std::move(on_text)) {
    payload_.reserve(kMaxFramePayload);
}

void FrameDecoder::reset() {
    state_ = State::start1;
    expected_ = 0;
    payload_.clear();
    text_.clear();
}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        const std::uint8_t b = bytes[i];
        switch (state_) {
            case State::start1:
                if (b == kFrameStart1) {
                    state_ = State::start2;
                } else {
                    skip(b);
                }
                ++i;
                break;
            case State::start2:
                if (b == kFrameStart2) {
                    state_ = State::len_hi;
                    ++i;
                } else {
                    // The 0x94 we held was not a header after all; re-examine this byte as a
                    // possible START1 instead of discarding it.
                    skip(kFrameStart1);
                    state_ = State::start1;
                }
                break;
            case State::len_hi:
                expected_ = static_cast<std::size_t>(b) << 8;
                state_ = State::len_lo;
                ++i;
                break;
            case State::len_lo:
                expected_ |= b;
                ++i;
                if (expected_ > kMaxFramePayload) {
                    ++stats_.oversize;
                    state_ = State::start1;
                } else {
                    flush_text();
                    payload_.clear();
                    state_ = State::payload;
                    if (expected_ == 0) {
                        ++stats_.frames;
                        state_ = State::start1;
                        on_frame_(std::span<const std::uint8_t>{});
                    }
                }
                break;
            case State::payload: {
                const std::size_t take = std::min(expected_ - payload_.size(), bytes.size() - i);
                payload_.insert(payload_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(i),
                                bytes.begin() + static_cast<std::ptrdiff_t>(i + take));
                i += take;
                if (payload_.size() == expected_) {
                    ++stats_.frames;
                    state_ = State::start1;
                    on_frame_(payload_);
                }
                break;
            }
        }
    }
}

void FrameDecoder::skip(std::uint8_t byte) {
    ++stats_.skipped_bytes;
    if (!on_text_) return;
    if (byte == '\n') {
        flush_text();
    } else if (byte != '\r') {
        text_.push_back(static_cast<char>(byte));
        if (text_.size() >= kMaxTextLine) flush_text();
    }
}

void FrameDecoder::flush_text() {
    if (text_.empty()) return;
    on_text_(text_);
    text_.clear();
}

}  // namespace meshbot::radio
