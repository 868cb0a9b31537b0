// A full outbox in the real bot: the texts it refuses are logged as one warning naming the
// status and one summary with the count, not one warning per text.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using meshbot::testing::build_dir;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;

TEST_CASE("a full outbox: refused texts are one warning naming the status and one summary",
          "[commands][outbox_full]") {
    SimProcess sim({.nodes = 12});
    std::string config =
        config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]");
    config.insert(config.find("[radio]\n") + 8, "outbox_capacity = 2\n");
    RunningBot bot(config);
    // 60 commands from 12 senders (5 each, within the rate limit): 60 replies for 2 places.
    for (int node = 1; node <= 12; ++node) {
        char from[16];
        std::snprintf(from, sizeof from, "!%08x", 0x10000000 + node);
        for (int i = 1; i <= 5; ++i)
            sim.command(std::string("text from=") + from + " channel=0 /echo " + std::to_string(i));
    }
    REQUIRE(bot.process->wait_for_line("more texts not delivered", 20s));
    const auto lines = bot.process->lines();
    const auto warnings = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.find("not delivered") != std::string::npos;
    });
    CHECK(warnings <= 3);
    CHECK_THAT(bot.process->output(), Catch::Contains("rejected_full"));
    CHECK_THAT(bot.process->output(), !Catch::Contains("status 5"));
}
