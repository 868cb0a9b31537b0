// A plugin in the bot's process (isolation = "none") around shutdown: post_work in flight at
// SIGTERM, and a callback that never returns (the watchdog names it; a second SIGTERM ends it).
#include <catch2/catch.hpp>

#include <csignal>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;

namespace {

std::string in_bot_blocks_loop() {
    return "isolation = \"none\"\ncallback_timeout = 1\ncallback_budget = 5\ndirs = [" +
           quoted(build_dir() / "tests/bad_plugins") + "]\nenabled = [\"blocks_loop\"]\n";
}

}  // namespace

TEST_CASE("SIGTERM while an in-bot plugin's post_work runs: the bot waits for it and exits 0",
          "[plugins][lifecycle]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, in_bot_blocks_loop()));
    auto& log = *bot.process;
    sim.command("text from=!10000002 to=!0badc0de /work");
    if (!log.wait_for_line("[blocks_loop] work posted", 10s)) FAIL(log.output());
    log.send_signal(SIGTERM);
    // The job ends after 2 s; its completion must find the plugin unloading, not call into it.
    const auto code = log.wait_exit(15s);
    INFO(log.output());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(log.wait_for_line("meshbot stopped", 0ms));
}

TEST_CASE("a callback that never returns is named, and a second SIGTERM ends the bot",
          "[plugins][lifecycle]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, in_bot_blocks_loop()));
    auto& log = *bot.process;
    sim.command("text from=!10000002 to=!0badc0de /hang");
    if (!log.wait_for_line("[blocks_loop] hanging now", 10s)) FAIL(log.output());
    INFO(log.output());
    REQUIRE(log.wait_for_line("plugin blocks_loop: its command handler (for ", 10s));
    CHECK(log.wait_for_line("has not returned: the bot's event loop is stuck in it", 0ms));

    log.send_signal(SIGTERM);
    REQUIRE(log.wait_for_line("signal 15: stopping", 5s));  // seen, though the loop is stuck
    CHECK_FALSE(log.wait_exit(500ms).has_value());          // the orderly stop cannot run
    log.send_signal(SIGTERM);
    const auto code = log.wait_exit(5s);
    REQUIRE(code.has_value());
    CHECK(*code == 128 + SIGTERM);
}
