// The meshbot executable as an operator runs it, against the simulator.
#include <catch2/catch.hpp>

#include <csignal>
#include <regex>

#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::ChildProcess;
using meshbot::testing::Record;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;

namespace {

std::string bot_config(const SimProcess& sim, const std::string& extra_radio = {}) {
    return "[radio]\n"
           "transport = \"tcp\"\n"
           "host = \"127.0.0.1\"\n"
           "port = " +
           std::to_string(sim.port()) +
           "\n"
           "heartbeat_interval = 1\n"
           "backoff_initial = 0.5\n"
           "backoff_max = 8\n" +
           extra_radio + "\n[log]\nlevel = \"debug\"\n[http]\nlisten = \"\"\n";
}

ChildProcess start_bot(const TempDir& dir, const std::string& config) {
    const auto path = dir.write("meshbot.toml", config);
    return ChildProcess({bin_path("meshbot").string(), "--config", path.string()});
}

// The delays, in seconds, the bot announced in "reconnecting in 450 ms (attempt N)" or
// "reconnecting in 1.8 s (attempt N)" lines.
std::vector<double> announced_backoffs(const ChildProcess& bot) {
    static const std::regex pattern(R"(reconnecting in ([0-9.]+) (ms|s) \(attempt ([0-9]+)\))");
    std::vector<double> delays;
    for (const auto& line : bot.lines()) {
        std::smatch m;
        if (std::regex_search(line, m, pattern))
            delays.push_back(std::stod(m[1]) / (m[2] == "ms" ? 1000.0 : 1.0));
    }
    return delays;
}

}  // namespace

TEST_CASE("meshbot connects, completes the handshake and lists the radio's nodes", "[daemon]") {
    SimProcess sim({.nodes = 4});
    TempDir dir;
    auto bot = start_bot(dir, bot_config(sim));
    REQUIRE(bot.wait_for_line("ready: node", 10s));
    REQUIRE(bot.wait_for_line("and 4 others", 5s));
    CHECK(bot.wait_for_line("N004", 5s));
}

TEST_CASE("after a simulated reboot meshbot reconnects with growing backoff", "[daemon]") {
    SimProcess sim;
    TempDir dir;
    auto bot = start_bot(dir, bot_config(sim));
    REQUIRE(bot.wait_for_line("ready: node", 10s));
    const auto before = bot.line_count();
    sim.command("reboot 4");
    REQUIRE(bot.wait_for_line_after(before, "link lost", 5s));
    REQUIRE(sim.wait_for("up", "", 10s));
    REQUIRE(bot.wait_for_line_after(before, "ready: node", 15s));

    const auto delays = announced_backoffs(bot);
    REQUIRE(delays.size() >= 3);
    for (std::size_t i = 1; i < delays.size(); ++i)
        CHECK(delays[i] > delays[i - 1]);
    CHECK(sim.count("tx", "config_complete") == 2);

    int open = 0;
    for (const Record& r : sim.records()) {
        const auto ev = r.get<std::string>("ev", "");
        if (ev == "accept") CHECK(++open == 1);
        if (ev == "close") --open;
    }
}

TEST_CASE("SIGTERM makes meshbot say goodbye to the radio and exit 0", "[daemon]") {
    SimProcess sim;
    TempDir dir;
    auto bot = start_bot(dir, bot_config(sim));
    REQUIRE(bot.wait_for_line("ready: node", 10s));
    bot.send_signal(SIGTERM);
    const auto code = bot.wait_exit(5s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(sim.wait_for("rx", "disconnect", 2s));
    const auto closed = sim.wait_for("close", "", 2s);
    REQUIRE(closed);
    CHECK(closed->get<std::string>("reason") == "disconnect");
}

TEST_CASE("a missing config file is a one-line error and a non-zero exit", "[daemon]") {
    ChildProcess bot({bin_path("meshbot").string(), "--config", "/nonexistent/meshbot.toml"});
    const auto code = bot.wait_exit(5s);
    REQUIRE(code);
    CHECK(*code != 0);
    const auto lines = bot.lines();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::Contains("/nonexistent/meshbot.toml"));
}

TEST_CASE("meshbot --check-config names file:line:column and the key, and warns about unknown keys",
          "[daemon]") {
    TempDir dir;
    const auto bad = dir.write("bad.toml", "[radio]\nhost = \"127.0.0.1\"\nport = \"abc\"\n");
    ChildProcess check({bin_path("meshbot").string(), "--check-config", bad.string()});
    const auto code = check.wait_exit(5s);
    REQUIRE(code);
    CHECK(*code != 0);
    CHECK(check.wait_for_line(bad.string() + ":3:8", 1s));
    CHECK(check.wait_for_line("radio.port", 1s));

    const auto odd = dir.write("odd.toml", "[radio]\nhots = \"127.0.0.1\"\n");
    ChildProcess warn({bin_path("meshbot").string(), "--check-config", odd.string()});
    const auto warn_code = warn.wait_exit(5s);
    REQUIRE(warn_code);
    CHECK(*warn_code == 0);
    CHECK(warn.wait_for_line(odd.string() + ":2:1", 1s));
    CHECK(warn.wait_for_line("hots", 1s));
}
