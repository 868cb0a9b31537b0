#pragma once
// What systemd hears from meshbot as a Type=notify service (sd_notify(3)): READY=1 once the
// config, the store and the plugins are up, STATUS= lines with the radio link's state,
// RELOADING=1 around a SIGHUP, STOPPING=1, and WATCHDOG=1 pings that only the event loop sends.
// Without NOTIFY_SOCKET (not started by systemd, tests) every call does nothing.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "radio/radio_link.hpp"

namespace meshbot::app {

// The parts of the link's state a STATUS= line shows.
struct LinkSnapshot {
    std::string endpoint;  // "127.0.0.1:4403", "/dev/ttyUSB0"
    radio::LinkState state = radio::LinkState::idle;
    std::uint64_t attempt = 0;  // connect attempts so far, this one included
    std::size_t nodes = 0;      // on the radio, itself included
    std::string reason;         // why the last connection failed or ended
};
LinkSnapshot snapshot(const radio::RadioLink& link);

// "radio 127.0.0.1:4403: ready, 12 nodes", "radio ...: connecting (attempt 3)",
// "radio ...: down: connect failed: Connection refused".
std::string link_status(const LinkSnapshot& link);

// Owns the watchdog timer. Built and destroyed on the main thread before the loop runs; every
// member runs on the io_context thread, except stopping(), which any thread may call (the
// signal thread says it, since a stuck loop could not).
class ServiceNotify {
public:
    // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID; when systemd wants pings, the first
    // goes out now and the next every half of WATCHDOG_USEC, from a timer on `executor`: a loop
    // that stops making progress stops pinging, and systemd restarts the service.
    explicit ServiceNotify(boost::asio::any_io_executor executor);
    ServiceNotify(const ServiceNotify&) = delete;
    ServiceNotify& operator=(const ServiceNotify&) = delete;

    // Reports the link's state with STATUS= after every change from now on. `link` must outlive
    // this object's use of it (the daemon builds the notifier first and destroys it last).
    void follow(radio::RadioLink& link);

    void ready();      // READY=1 with the current STATUS=
    void reloading();  // RELOADING=1 (with MONOTONIC_USEC, as Type=notify-reload wants)
    void status(std::string_view text);
    void stopping() const;  // STOPPING=1; any thread

    std::chrono::microseconds watchdog_interval() const { return ping_every_; }

private:
    void send(const std::string& message) const;
    void ping();
    std::string current_status() const;

    boost::asio::steady_timer timer_;
    bool active_ = false;  // NOTIFY_SOCKET is set
    std::chrono::microseconds ping_every_{0};
    const radio::RadioLink* link_ = nullptr;
    std::string last_status_;  // the last STATUS= sent, so that a repeat is not sent again
};

}  // namespace meshbot::app
