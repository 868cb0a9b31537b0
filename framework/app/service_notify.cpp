#include "app/service_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
#include <cstring>

namespace meshbot::app {

LinkSnapshot snapshot(const radio::RadioLink& link) {
    LinkSnapshot s;
    s.endpoint = link.endpoint();
    s.state = link.state();
    s.attempt = link.stats().connect_attempts;
    s.nodes = link.radio_nodes();
    s.reason = link.last_error();
    return s;
}

std::string link_status(const LinkSnapshot& link) {
    using radio::LinkState;
    const std::string head = "radio " + link.endpoint + ": ";
    switch (link.state) {
        case LinkState::idle:
            return head + "not connected yet";
        case LinkState::connecting:
            return head + "connecting (attempt " + std::to_string(link.attempt) + ")";
        case LinkState::handshaking:
            return head + "connected, handshaking";
        case LinkState::ready:
            return head + "ready, " + std::to_string(link.nodes) + " nodes";
        case LinkState::backoff:
            return head + "down: " + (link.reason.empty() ? "no reason known" : link.reason);
        case LinkState::stopped:
            return head + "stopped";
    }
    return head + radio::to_string(link.state);
}

ServiceNotify::ServiceNotify(boost::asio::any_io_executor executor) : timer_(executor) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket != nullptr && *socket != '\0';
    if (!active_) return;
    std::uint64_t usec = 0;
    // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, names this process.
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        // Half the timeout, as sd_watchdog_enabled(3) advises: one late tick is no failure.
        ping_every_ = std::chrono::microseconds(usec / 2);
        spdlog::info("systemd: watchdog pings every {} ms from the event loop",
                     ping_every_.count() / 1000);
        ping();
    }
}

void ServiceNotify::follow(radio::RadioLink& link) {
    link_ = &link;
    link.set_state_listener([this] { status(current_status()); });
}

std::string ServiceNotify::current_status() const {
    return link_ ? link_status(snapshot(*link_)) : std::string("starting");
}

void ServiceNotify::ready() {
    last_status_ = current_status();
    send("READY=1\nSTATUS=" + last_status_);
}

void ServiceNotify::reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000u +
                      static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading the config");
}

void ServiceNotify::status(std::string_view text) {
    if (text == last_status_) return;
    last_status_ = text;
    send("STATUS=" + last_status_);
}

void ServiceNotify::stopping() const {
    send("STOPPING=1\nSTATUS=stopping");
}

void ServiceNotify::send(const std::string& message) const {
    if (!active_) return;
    // sd_notify opens a socket per call and reads no state of ours: safe from any thread.
    const int r = sd_notify(0, message.c_str());
    if (r < 0) spdlog::debug("systemd: sd_notify failed: {}", std::strerror(-r));
}

void ServiceNotify::ping() {
    send("WATCHDOG=1");
    timer_.expires_after(ping_every_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) ping();
    });
}

}  // namespace meshbot::app
