#pragma once
// Stands in for systemd's notification socket (sd_notify(3)) in integration tests: an AF_UNIX
// datagram socket the bot is pointed at with NOTIFY_SOCKET.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/temp_dir.hpp"

namespace meshbot::testing {

// One datagram as systemd would read it, with when it arrived.
struct Notification {
    std::string text;  // e.g. "READY=1\nSTATUS=radio 127.0.0.1:4403: ready, 4 nodes"
    std::chrono::steady_clock::time_point at;
    // The value of `KEY=` in the message, if it has that line.
    std::optional<std::string> value(std::string_view key) const;
};

// Owns the socket (bound in a temp dir of its own) and every message received so far. Test
// thread only: messages are read while a wait_* call polls.
class NotifySocket {
public:
    NotifySocket();
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // "NOTIFY_SOCKET=<path>", for the bot's environment.
    std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }

    // The first message from index `from` on (counting every message received so far) with a
    // line `key=...` whose value starts with `value`, reading until `timeout`.
    std::optional<Notification> wait_for(std::size_t from, std::string_view key,
                                         std::string_view value, std::chrono::milliseconds timeout);
    // Reads until `quiet` has passed without a message holding `key=...`, counting from now or
    // from the last such message; true when that happened before `timeout`.
    bool wait_for_silence(std::string_view key, std::chrono::milliseconds quiet,
                          std::chrono::milliseconds timeout);

    std::size_t count() const { return messages_.size(); }
    const std::vector<Notification>& messages() const { return messages_; }
    std::string dump() const;  // every message, for failure output

private:
    // Waits up to `timeout` for one datagram; false when none came.
    bool read_one(std::chrono::milliseconds timeout);

    TempDir dir_;
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<Notification> messages_;
};

}  // namespace meshbot::testing
