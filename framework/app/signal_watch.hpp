#pragma once
// SIGINT/SIGTERM, SIGHUP, and a watch for a plugin callback that holds the event loop, on a thread
// of their own: a stuck loop can neither swallow a signal nor hide whose code holds it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>
#include <thread>

namespace meshbot::app {

// Owns its io_context and thread; built and destroyed on the main thread, its callbacks run on
// its own thread.
class SignalWatch {
public:
    // `on_first`: the first signal (post the orderly stop to the loop from there). A second one
    // ends the process at once, whatever the loop is doing. `stuck`: asked every second; a
    // non-empty answer (who holds the loop) is logged once per episode. Empty: no watch.
    // `on_hangup`: each SIGHUP (post the config reload to the loop from there); empty: SIGHUP
    // keeps its default action.
    SignalWatch(std::function<void(int)> on_first, std::function<std::string()> stuck,
                std::function<void()> on_hangup = {});
    ~SignalWatch();
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;

private:
    void wait_signal();
    void wait_hangup();
    void tick();

    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::signal_set hangup_;
    boost::asio::steady_timer timer_;
    std::function<void(int)> on_first_;
    std::function<std::string()> stuck_;
    std::function<void()> on_hangup_;
    int signals_seen_ = 0;
    bool reported_ = false;  // the current stuck episode was logged
    std::thread thread_;
};

}  // namespace meshbot::app
