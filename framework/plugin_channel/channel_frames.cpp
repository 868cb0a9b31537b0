#include "plugin_channel/channel_frames.hpp"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace meshbot::channel {

std::string frame(const google::protobuf::MessageLite& message) {
    const std::size_t size = message.ByteSizeLong();
    std::string out(4 + size, '\0');
    for (int i = 0; i < 4; ++i)
        out[i] = static_cast<char>((size >> (8 * i)) & 0xFF);
    message.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data() + 4));
    return out;
}

std::optional<std::string_view> FrameReader::next(std::string& error) {
    // Drop what the previous call handed out (its view was valid until now); move the rest to
    // the front only once half the buffer is spent, so many small messages cost linear time.
    start_ += std::exchange(consumed_, 0);
    if (start_ > 0 && start_ * 2 >= buffer_.size()) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    const std::size_t available = buffer_.size() - start_;
    if (available < 4) return std::nullopt;
    std::size_t size = 0;
    for (int i = 0; i < 4; ++i)
        size |= static_cast<std::size_t>(static_cast<std::uint8_t>(buffer_[start_ + i])) << (8 * i);
    if (size > kMaxMessage) {
        error = "a message of " + std::to_string(size) + " bytes (the limit is " +
                std::to_string(kMaxMessage) + ")";
        return std::nullopt;
    }
    if (available < 4 + size) return std::nullopt;
    consumed_ = 4 + size;
    return std::string_view(buffer_).substr(start_ + 4, size);
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<std::string_view> read_message(int fd, FrameReader& reader, std::string& error) {
    char buffer[64 * 1024];
    for (;;) {
        if (auto message = reader.next(error)) return message;
        if (!error.empty()) return std::nullopt;
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n == 0 ? "the channel was closed" : "the channel failed";
            return std::nullopt;
        }
        reader.feed(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace meshbot::channel
