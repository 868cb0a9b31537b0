#include "app/signal_watch.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>

namespace meshbot::app {

SignalWatch::SignalWatch(std::function<void(int)> on_first, std::function<std::string()> stuck,
                         std::function<void()> on_hangup)
    : signals_(io_, SIGINT, SIGTERM),
      hangup_(io_),
      timer_(io_),
      on_first_(std::move(on_first)),
      stuck_(std::move(stuck)),
      on_hangup_(std::move(on_hangup)) {
    wait_signal();
    if (on_hangup_) {
        hangup_.add(SIGHUP);
        wait_hangup();
    }
    if (stuck_) tick();  // without in-bot plugins there is nothing to watch, nor to wake for
    thread_ = std::thread([this] { io_.run(); });
}

SignalWatch::~SignalWatch() {
    io_.stop();
    thread_.join();
}

void SignalWatch::wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (++signals_seen_ > 1) {
            spdlog::warn("second signal ({}): exiting now", signo);
            std::_Exit(128 + signo);
        }
        spdlog::info("signal {}: stopping (send it again to exit at once)", signo);
        on_first_(signo);
        wait_signal();
    });
}

void SignalWatch::wait_hangup() {
    hangup_.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;
        // Not counted with SIGINT/SIGTERM: a reload is no request to stop.
        spdlog::info("signal {} (SIGHUP): reloading the config", SIGHUP);
        on_hangup_();
        wait_hangup();
    });
}

void SignalWatch::tick() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        const std::string holder = stuck_ ? stuck_() : std::string();
        if (!holder.empty() && !reported_) {
            spdlog::error(
                "{} has not returned: the bot's event loop is stuck in it (isolation = \"none\"); "
                "nothing else runs until it returns; a second SIGTERM ends the bot",
                holder);
        }
        reported_ = !holder.empty();
        tick();
    });
}

}  // namespace meshbot::app
