// meshbot as a systemd Type=notify service, against the simulator: the test plays systemd's
// notification socket (NOTIFY_SOCKET) and checks READY=1, STATUS= with the link's state,
// watchdog pings that stop when the event loop stops, and STOPPING=1.
#include <catch2/catch.hpp>

#include <csignal>
#include <string>

#include "support/bot_process.hpp"
#include "support/notify_socket.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;

namespace {

constexpr auto kWatchdogUsec = 400'000;  // WATCHDOG_USEC: the bot pings every 200 ms
constexpr auto kPingInterval = 200ms;

// blocks_loop in the bot's process: its /hang holds the event loop for good, while the
// process's other threads (signals, the stuck-callback watch) run on.
std::string in_bot_blocks_loop() {
    return "isolation = \"none\"\ncallback_timeout = 1\ncallback_budget = 5\ndirs = [" +
           quoted(build_dir() / "tests/bad_plugins") + "]\nenabled = [\"blocks_loop\"]\n";
}

std::string endpoint(const SimProcess& sim) {
    return "radio 127.0.0.1:" + std::to_string(sim.port()) + ": ";
}

}  // namespace

TEST_CASE(
    "READY=1 and the link's STATUS=, watchdog pings only while the event loop runs, "
    "STOPPING=1 at SIGTERM",
    "[daemon][service]") {
    NotifySocket systemd;
    SimProcess sim;
    RunningBot bot(config_for(sim, in_bot_blocks_loop()),
                   {systemd.env(), "WATCHDOG_USEC=" + std::to_string(kWatchdogUsec)});
    auto& log = *bot.process;
    INFO(log.output());

    const auto ready = systemd.wait_for(0, "READY", "1", 10s);
    INFO(systemd.dump());
    REQUIRE(ready);
    CHECK(systemd.wait_for(0, "STATUS", endpoint(sim) + "connecting (attempt 1)", 5s));
    const auto up = systemd.wait_for(0, "STATUS", endpoint(sim) + "ready, ", 10s);
    REQUIRE(up);
    CHECK(*up->value("STATUS") == endpoint(sim) + "ready, 4 nodes");  // the sim's 3 and itself

    // Pings keep coming while the loop runs: five in a row, each within a few intervals.
    std::size_t from = systemd.count();
    for (int i = 0; i < 5; ++i) {
        const auto ping = systemd.wait_for(from, "WATCHDOG", "1", 5 * kPingInterval);
        REQUIRE(ping);
        from = systemd.count();
    }

    // A plugin callback that never returns holds the loop: the pings stop, the process lives.
    sim.command("text from=!10000002 to=!0badc0de /hang");
    REQUIRE(log.wait_for_line("[blocks_loop] hanging now", 10s));
    CHECK(systemd.wait_for_silence("WATCHDOG", 3 * kPingInterval, 10s));
    // The watch on another thread of the process still runs and names the plugin.
    CHECK(log.wait_for_line("plugin blocks_loop: its command handler (for ", 10s));
    CHECK(log.running());

    // SIGTERM: STOPPING=1 comes from the signal thread, though the loop is stuck.
    const auto before = systemd.count();
    log.send_signal(SIGTERM);
    CHECK(systemd.wait_for(before, "STOPPING", "1", 5s));
    CHECK_FALSE(systemd.wait_for(before, "WATCHDOG", "1", 2 * kPingInterval));
    log.send_signal(SIGTERM);  // the second one ends it at once
    const auto code = log.wait_exit(5s);
    REQUIRE(code.has_value());
    CHECK(*code == 128 + SIGTERM);
}

TEST_CASE(
    "STATUS= follows the link down and back; no pings for another WATCHDOG_PID; "
    "STOPPING=1 and exit 0 at SIGTERM",
    "[daemon][service]") {
    NotifySocket systemd;
    SimProcess sim;
    // systemd meant the watchdog for another process (pid 1): this one must not ping.
    RunningBot bot(
        config_for(sim, ""),
        {systemd.env(), "WATCHDOG_USEC=" + std::to_string(kWatchdogUsec), "WATCHDOG_PID=1"});
    auto& log = *bot.process;
    INFO(log.output());
    REQUIRE(systemd.wait_for(0, "READY", "1", 10s));
    INFO(systemd.dump());
    REQUIRE(systemd.wait_for(0, "STATUS", endpoint(sim) + "ready, ", 10s));

    // The simulator reboots: the link goes down, comes back, and STATUS= says so.
    const auto before = systemd.count();
    sim.command("reboot 2");
    CHECK(systemd.wait_for(before, "STATUS", endpoint(sim) + "down: ", 10s));
    CHECK(systemd.wait_for(before, "STATUS", endpoint(sim) + "ready, ", 20s));

    log.send_signal(SIGTERM);
    CHECK(systemd.wait_for(0, "STOPPING", "1", 5s));
    const auto code = log.wait_exit(10s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK_FALSE(systemd.wait_for(0, "WATCHDOG", "", 0ms));
}
