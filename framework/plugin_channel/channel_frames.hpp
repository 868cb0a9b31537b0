#pragma once
// Framing of the host <-> runner channel: each message is a 4-byte little-endian length and
// then its protobuf bytes (proto/plugin_channel.proto). Shared by the host and the runner.

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshbot::channel {

// The largest message either side accepts; a longer length is a protocol error. Big enough for
// a whole kv store value (1 MiB) with room to spare.
inline constexpr std::size_t kMaxMessage = 4u << 20;
// The largest text or log line a runner forwards; longer ones are cut (logs) or refused.
inline constexpr std::size_t kMaxText = 64u << 10;

// The length prefix and the message's bytes, ready to write.
std::string frame(const google::protobuf::MessageLite& message);

// Reassembles messages from a byte stream; owned by one reader. Any thread, one at a time.
class FrameReader {
public:
    // Appends received bytes.
    void feed(const char* data, std::size_t size) { buffer_.append(data, size); }
    // The next whole message's bytes, or nullopt when more bytes are needed. Sets `error` (and
    // returns nullopt) when the stream announces a message over kMaxMessage.
    std::optional<std::string_view> next(std::string& error);

private:
    std::string buffer_;
    std::size_t start_ = 0;     // where the unread bytes begin
    std::size_t consumed_ = 0;  // the message handed out last, dropped on the next call
};

// Blocking helpers for the runner's channel descriptor. False on EOF or error.
bool write_all(int fd, std::string_view bytes);
// Reads until `reader` holds a whole message; returns its bytes (valid until the next call).
std::optional<std::string_view> read_message(int fd, FrameReader& reader, std::string& error);

}  // namespace meshbot::channel
