#pragma once
// A scripted radio on 127.0.0.1 for failures the simulator does not model: after a proper
// handshake it stalls or sends only frames that are no FromRadio.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

namespace meshbot::testing {

// Owns a listening socket on an ephemeral port and one serving thread. Like the firmware it
// sends nothing before want_config_id, answers it with my_info, own node_info, metadata (with
// the given firmware version) and config_complete_id, and lets the newest connection win.
// Then, depending on `after`: `mute` never answers even want_config_id; `stall` reads and drops
// everything and never writes again (a radio that hung with its TCP stack still up); `garbage`
// sends a well-framed undecodable payload every 20 ms. The accessors are safe from any thread.
class FakeRadio {
public:
    enum class After { mute, stall, garbage };

    FakeRadio(std::string firmware_version, After after);
    ~FakeRadio();
    FakeRadio(const FakeRadio&) = delete;
    FakeRadio& operator=(const FakeRadio&) = delete;

    std::uint16_t port() const { return port_; }
    std::size_t connections() const { return connections_; }
    std::size_t handshakes() const { return handshakes_; }
    std::size_t garbage_frames() const { return garbage_frames_; }

private:
    void serve();

    std::string firmware_version_;
    After after_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> handshakes_{0};
    std::atomic<std::size_t> garbage_frames_{0};
    std::thread thread_;
};

}  // namespace meshbot::testing
