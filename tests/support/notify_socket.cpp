#include "support/notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace meshbot::testing {

using Clock = std::chrono::steady_clock;

std::optional<std::string> Notification::value(std::string_view key) const {
    const std::string prefix = std::string(key) + "=";
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find('\n', start), text.size());
        const std::string_view line = std::string_view(text).substr(start, end - start);
        if (line.starts_with(prefix)) return std::string(line.substr(prefix.size()));
        start = end + 1;
    }
    return std::nullopt;
}

NotifySocket::NotifySocket() : path_(dir_.path() / "notify.sock") {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = path_.string();
    if (path.size() >= sizeof address.sun_path)
        throw std::runtime_error("notify socket path too long: " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd_);
        throw std::runtime_error("bind " + path + ": " + std::strerror(error));
    }
}

NotifySocket::~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
}

bool NotifySocket::read_one(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, timeout.count())));
    if (ready <= 0) return false;
    char buffer[4096];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return false;
    messages_.push_back({std::string(buffer, static_cast<std::size_t>(n)), Clock::now()});
    return true;
}

std::optional<Notification> NotifySocket::wait_for(std::size_t from, std::string_view key,
                                                   std::string_view value,
                                                   std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (std::size_t i = from;; ++i) {
        while (i >= messages_.size()) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0 || !read_one(left)) return std::nullopt;
        }
        const auto found = messages_[i].value(key);
        if (found && found->starts_with(value)) return messages_[i];
    }
}

bool NotifySocket::wait_for_silence(std::string_view key, std::chrono::milliseconds quiet,
                                    std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    // Messages are stamped when read, so one sent before this call counts as late, never as
    // early: the silence measured is never longer than the real one.
    auto last = Clock::now();
    for (;;) {
        const auto now = Clock::now();
        if (now - last >= quiet) return true;
        if (now >= deadline) return false;
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min(last + quiet, deadline) - now);
        if (read_one(wait + std::chrono::milliseconds(1)) && messages_.back().value(key))
            last = messages_.back().at;
    }
}

std::string NotifySocket::dump() const {
    std::string out;
    for (const auto& m : messages_) {
        std::string text = m.text;
        std::replace(text.begin(), text.end(), '\n', '|');
        out += text + "\n";
    }
    return out;
}

}  // namespace meshbot::testing
