// Commands around a reconnect, against the simulator: texts the radio held while the bot was
// away are answered when young and skipped (with one log line) when old, and live commands
// right after the handshake run like any other.
#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>
#include <set>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using meshbot::testing::build_dir;
using meshbot::testing::check_bot_traffic;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::texts_to;

TEST_CASE("commands around a reconnect: young backlog and live commands answered, old skipped",
          "[commands][backlog]") {
    SimProcess sim;
    RunningBot bot(
        config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]",
                   "answer_backlog = 60\n"));
    const std::size_t before_drop = bot.process->line_count();
    // The bot waits at least 0.75 s before it reconnects; the simulator keeps what arrives
    // meanwhile and delivers it after the next handshake, as the firmware does.
    sim.command("drop");
    sim.command("text from=!10000002 channel=0 /echo away one");
    sim.command("text from=!10000003 to=!0badc0de /echo away two");
    const auto ten_minutes_ago = static_cast<std::uint32_t>(std::time(nullptr) - 600);
    sim.command("text from=!10000001 channel=0 rx_time=" + std::to_string(ten_minutes_ago) +
                " /echo stale");
    REQUIRE(bot.process->wait_for_line_after(before_drop, "ready: node", 10s));
    // At once after the handshake: a live command.
    sim.command("text from=!10000002 channel=0 /echo live");

    REQUIRE(sim.wait_for_count("rx", "packet", 3, 20s));
    sim.wait_for_count("rx", "packet", 4, 3s);  // nothing more may come
    std::multiset<std::string> answers;
    for (const auto& r : texts_to(sim, 0xFFFFFFFF))
        answers.insert(r.get<std::string>("text"));
    CHECK(answers == std::multiset<std::string>{"N002: away one", "N003: away two", "N002: live"});

    // The stale command is skipped, and the log says so once, with a count.
    REQUIRE(bot.process->wait_for_line("older than 1 min", 5s));
    const auto lines = bot.process->lines();
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
              return l.find("older than 1 min") != std::string::npos;
          }) == 1);
    CHECK_THAT(bot.process->output(), Catch::Contains("skipped 1 command"));
    check_bot_traffic(sim);
}
