#pragma once
// The runner's end of the channel to the host (descriptor 3): blocking, since the runner has
// nothing else to wait for. Messages that arrive while a synchronous call waits for its answer
// (new callbacks, releases) are kept, in order, for the main loop.

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plugin_channel.pb.h"
#include "plugin_channel/channel_frames.hpp"

namespace meshbot::runner {

// Owns the channel descriptor. send() may be called from any thread (post_work's workers
// report through it); call() and next() from the plugin's loop thread only.
class HostChannel {
public:
    explicit HostChannel(int fd) : fd_(fd) {}

    // False when the host is gone.
    bool send(const channel::RunnerMessage& message);
    // Sends `call` with a fresh request number and waits for its answer; a node_each answer
    // comes in parts, all returned. Empty when the host is gone or broke the protocol (the
    // runner then exits: without its host a plugin has nothing to do).
    std::vector<channel::Answer> call(channel::Call& call);
    // The next message for the main loop; nullopt when the host is gone.
    std::optional<channel::HostMessage> next();
    const std::string& error() const { return error_; }

private:
    std::optional<channel::HostMessage> read();

    int fd_;
    std::mutex send_mutex_;
    channel::FrameReader reader_;
    std::deque<channel::HostMessage> kept_;
    std::uint64_t next_request_ = 1;
    std::string error_;
};

}  // namespace meshbot::runner
