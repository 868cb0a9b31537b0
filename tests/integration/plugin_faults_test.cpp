// Faults age: a plugin is stopped for max_faults faults within fault_window, not for faults
// spread over a longer time.
#include <catch2/catch.hpp>

#include <thread>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;

TEST_CASE("faults older than fault_window no longer count towards max_faults",
          "[plugins][faults]") {
    SimProcess sim;
    RunningBot bot(config_for(sim,
                              "dirs = [" + quoted(build_dir() / "tests/bad_plugins") +
                                  "]\nenabled = [\"throws_callback\"]\nmax_faults = 2\n"
                                  "fault_window = 1\n",
                              "rate_limit = 100\n"));
    auto& log = *bot.process;
    const auto boom = [&] {
        const auto mark = log.line_count();
        sim.command("text from=!10000002 to=!0badc0de /boom");
        REQUIRE(
            log.wait_for_line_after(mark, "plugin throws_callback: command handler: boom", 10s));
    };
    boom();
    // The window is about time passing, so the test lets it pass: 1 s and a margin.
    std::this_thread::sleep_for(1300ms);
    const auto second = log.line_count();
    boom();  // the first fault has aged out: one fault in the window, under max_faults = 2
    sim.command("text from=!10000002 to=!0badc0de /ok");
    REQUIRE(sim.wait_for([&](const Record&) { return !texts_to(sim, 0x10000002).empty(); }, 10s));
    CHECK(texts_to(sim, 0x10000002).at(0).get<std::string>("text", "") == "ok");
    CHECK_FALSE(log.wait_for_line_after(second, "throws_callback: faulted", 0ms));

    boom();  // two within the window: faulted
    REQUIRE(log.wait_for_line_after(second, "plugin throws_callback: faulted (2 faults within 1 s",
                                    10s));
    check_bot_traffic(sim);
}
