#pragma once
// The daemon's settings, as read from the TOML config file. Plain data: every default here
// is the documented default in config/meshbot.example.toml.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace meshbot::config {

using Seconds = std::chrono::duration<double>;

enum class Transport { tcp, serial };

struct RadioConfig {
    Transport transport = Transport::tcp;
    std::string host = "127.0.0.1";
    std::uint16_t port = 4403;
    std::string device = "/dev/ttyUSB0";
    unsigned baud = 115200;

    Seconds connect_timeout{10};
    Seconds handshake_timeout{30};
    Seconds heartbeat_interval{60};
    // The link is lost when nothing arrives for heartbeat_interval * silence_multiple.
    double silence_multiple = 3.0;
    Seconds backoff_initial{1};
    Seconds backoff_max{60};
    // A link that stayed ready this long resets the backoff to backoff_initial.
    Seconds backoff_reset_after{120};

    // Packets arriving this soon after the handshake completes are treated as replayed backlog.
    Seconds replay_tail{1.5};
    Seconds dedupe_window{600};

    Seconds text_gap{2};  // never below 2 s: the firmware drops faster texts
    unsigned outbox_capacity = 256;
    Seconds outbox_expiry{600};
};

struct LogConfig {
    std::string level = "info";
};

struct AppConfig {
    std::filesystem::path source;  // the file this was read from
    RadioConfig radio;
    LogConfig log;
};

}  // namespace meshbot::config
