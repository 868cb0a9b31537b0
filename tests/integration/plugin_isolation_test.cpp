// Plugins in their own runner processes, attacked by the hostile plugins in tests/hostile_plugins
// against the simulator: crashes, hangs, memory exhaustion, forged frames and a patched function
// table cost the plugin's runner only. Where it is safe to show, the attack is first shown to
// work with isolation = "none", so that each test can fail.
#include <signal.h>
#include <catch2/catch.hpp>

#include <cerrno>
#include <regex>
#include <set>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::build_dir;
using meshbot::testing::check_bot_traffic;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::echo_answers;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::texts_to;

namespace {

constexpr std::uint32_t kNode2 = 0x10000002;
// These tests send many commands from one node: no per-sender rate limit.
const std::string kCommands = "rate_limit = 1000\n";

std::string hostile(const std::string& enabled, const std::string& settings = {}) {
    return "dirs = [" + quoted(build_dir() / "plugins") + ", " +
           quoted(build_dir() / "tests/hostile_plugins") + "]\nenabled = [\"echo\", " + enabled +
           "]\n" + settings;
}

void dm(SimProcess& sim, const std::string& text) {
    sim.command("text from=!10000002 to=!0badc0de " + text);
}

// Waits for the bot's next text to !10000002 after `before` of them, and returns it.
std::string next_text(SimProcess& sim, std::size_t before,
                      std::chrono::milliseconds timeout = 10s) {
    const bool arrived =
        sim.wait_for([&](const Record&) { return texts_to(sim, kNode2).size() > before; }, timeout)
            .has_value();
    if (!arrived) return "(nothing)";
    return texts_to(sim, kNode2).at(before).get<std::string>("text", "");
}

// Sends a DM command and returns the bot's answer to it.
std::string ask(SimProcess& sim, const std::string& text) {
    const auto before = texts_to(sim, kNode2).size();
    dm(sim, text);
    return next_text(sim, before);
}

bool any_text_contains(const SimProcess& sim, const std::string& needle) {
    for (const auto& r : sim.records("rx", "packet")) {
        if (r.get<std::string>("text", "").find(needle) != std::string::npos) return true;
    }
    return false;
}

std::string run_cli(const RunningBot& bot, std::vector<std::string> words, int* code = nullptr) {
    std::vector<std::string> argv = {bin_path("meshbot").string()};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.insert(argv.end(), {"--config", (bot.dir.path() / "meshbot.toml").string()});
    ChildProcess cli(argv);
    const auto exit = cli.wait_exit(15s);
    if (code) *code = exit.value_or(-1);
    return cli.output();
}

std::string plugin_line(const std::string& table, const std::string& id) {
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(id + " ", 0) == 0) return line;
    }
    return {};
}

// The runner pids the bot's log has named so far.
std::set<int> runner_pids(const ChildProcess& bot) {
    std::set<int> pids;
    const std::regex pid(R"(runner pid (\d+))");
    for (const auto& line : bot.lines()) {
        std::smatch m;
        if (std::regex_search(line, m, pid)) pids.insert(std::stoi(m[1]));
    }
    return pids;
}

bool process_gone(int pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

}  // namespace

TEST_CASE("a plugin that aborts, writes through a null pointer or exits costs its runner only",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, hostile("\"crasher\"", "max_faults = 10\n"), kCommands));
    REQUIRE(ask(sim, "/alive") == "alive");
    const std::pair<const char*, const char*> crashes[] = {
        {"/abort", "its runner killed by SIGABRT"},
        {"/segv", "its runner killed by SIGSEGV"},
        {"/exit3", "its runner exited with status 3"},
    };
    for (const auto& [command, reason] : crashes) {
        INFO(command);
        const auto mark = bot.process->line_count();
        dm(sim, command);
        REQUIRE(
            bot.process->wait_for_line_after(mark, std::string("plugin crasher: ") + reason, 5s));
        CHECK(echo_answers(sim, std::string("after") + (command + 1)));
        REQUIRE(bot.process->wait_for_line_after(mark, "plugin crasher: restarted", 15s));
        CHECK(ask(sim, "/alive") == "alive");
    }
    const auto table = run_cli(bot, {"plugins"});
    const auto line = plugin_line(table, "crasher");
    CHECK_THAT(line, Catch::Contains("loaded") && Catch::Contains("process") &&
                         Catch::Contains("restarts 3") && Catch::Contains("pid "));
    CHECK_THAT(table, Catch::Contains("last crash: exited with status 3"));
    CHECK(bot.process->running());
    check_bot_traffic(sim);
}

TEST_CASE(
    "a crashing plugin answers busy while it restarts, ends faulted, and an operator restarts it",
    "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, hostile("\"crasher\"", "max_faults = 2\n"), kCommands));
    dm(sim, "/segv");
    REQUIRE(bot.process->wait_for_line("plugin crasher: its runner killed by SIGSEGV", 5s));
    CHECK(ask(sim, "/alive") == "crasher is restarting, try again in a few seconds");
    REQUIRE(bot.process->wait_for_line("plugin crasher: restarted", 10s));
    CHECK(ask(sim, "/alive") == "alive");

    dm(sim, "/segv");
    REQUIRE(bot.process->wait_for_line("plugin crasher: faulted", 5s));
    CHECK_THAT(ask(sim, "/alive"), Catch::StartsWith("unknown command /alive"));
    CHECK(echo_answers(sim, "alive"));
    auto table = run_cli(bot, {"plugins"});
    CHECK_THAT(plugin_line(table, "crasher"), Catch::Contains("faulted"));
    CHECK_THAT(table,
               Catch::Contains("2 faults within 600 s, the last: its runner killed by SIGSEGV"));

    int code = -1;
    const auto mark = bot.process->line_count();  // the first crash logged "restarted" too
    CHECK_THAT(run_cli(bot, {"plugin", "restart", "crasher"}, &code),
               Catch::Contains("ok: restarting crasher"));
    CHECK(code == 0);
    REQUIRE(bot.process->wait_for_line_after(mark, "plugin crasher: restarted", 10s));
    CHECK(ask(sim, "/alive") == "alive");
    CHECK_THAT(run_cli(bot, {"plugin", "restart", "nosuch"}, &code), Catch::Contains("no plugin"));
    CHECK(code == 1);
    check_bot_traffic(sim);
}

TEST_CASE("a callback that never returns, in a command, a timer or post_work's done, is killed",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(
        sim, hostile("\"crasher\"", "max_faults = 10\ncallback_timeout = 1\n"), kCommands));
    const std::pair<const char*, const char*> hangs[] = {
        {"/hang", "command handler /hang did not return within 1 s"},
        {"/hang_timer", "timer did not return within 1 s"},
        {"/hang_done", "post_work done did not return within 1 s"},
    };
    for (const auto& [command, reason] : hangs) {
        INFO(command);
        const auto mark = bot.process->line_count();
        dm(sim, command);
        // While the plugin spins, the bot and the other plugins go on.
        CHECK(echo_answers(sim, std::string("during") + (command + 1)));
        REQUIRE(bot.process->wait_for_line_after(mark, reason, 5s));
        REQUIRE(bot.process->wait_for_line_after(mark, "plugin crasher: restarted", 15s));
        CHECK(ask(sim, "/alive") == "alive");
    }
    check_bot_traffic(sim);
}

TEST_CASE("a plugin that exhausts memory hits its runner's limit, not the bot's",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, hostile("\"crasher\"", "memory_limit_mb = 64\n"), kCommands));
    dm(sim, "/eat");
    REQUIRE(bot.process->wait_for_line(
        "plugin crasher: its runner ran out of memory (limit 64 MiB)", 15s));
    // The runner's own last words, on its stderr, reach the bot's log under the plugin's id.
    CHECK(bot.process->wait_for_line("[crasher] out of memory (limit 64 MiB)", 5s));
    CHECK(echo_answers(sim, "fed"));
    REQUIRE(bot.process->wait_for_line("plugin crasher: restarted", 10s));
    CHECK(ask(sim, "/alive") == "alive");
    check_bot_traffic(sim);
}

TEST_CASE("a reply handed over before a crash goes out once, and the store outlives the crash",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, hostile("\"crasher\""), kCommands));
    CHECK(ask(sim, "/keep apples") == "kept");
    CHECK(ask(sim, "/lastwords") == "last words");
    REQUIRE(bot.process->wait_for_line("plugin crasher: restarted", 10s));
    CHECK(ask(sim, "/kept") == "kept: apples");
    std::size_t last_words = 0;
    for (const auto& r : texts_to(sim, kNode2))
        last_words += r.get<std::string>("text", "") == "last words";
    CHECK(last_words == 1);
    check_bot_traffic(sim);
}

TEST_CASE("forged frames written to every descriptor reach the radio from the bot's process only",
          "[plugins][isolation]") {
    SECTION("isolation = none: the attack works") {
        SimProcess sim;
        RunningBot bot(
            config_for(sim, "isolation = \"none\"\n" + hostile("\"forger\""), kCommands));
        CHECK_THAT(ask(sim, "/forge"), Catch::StartsWith("forged into"));
        CHECK(sim.wait_for(
            [](const Record& r) { return r.get<std::string>("text", "") == "FORGED by forger"; },
            5s));
    }
    SECTION("in a runner: nothing forged reaches the radio") {
        SimProcess sim;
        RunningBot bot(config_for(sim, hostile("\"forger\""), kCommands));
        dm(sim, "/forge");
        // Into its channel the frame is garbage: the host ends that runner, nothing else.
        REQUIRE(bot.process->wait_for_line("plugin forger: its runner sent a message of", 5s));
        CHECK(echo_answers(sim, "clean"));
        CHECK_FALSE(any_text_contains(sim, "FORGED"));
        CHECK(bot.process->running());
        check_bot_traffic(sim);
    }
}

TEST_CASE("a plugin that patches its function table changes no other plugin's texts",
          "[plugins][isolation]") {
    SECTION("isolation = none: echo's answers are rewritten") {
        SimProcess sim;
        RunningBot bot(
            config_for(sim, "isolation = \"none\"\n" + hostile("\"patcher\""), kCommands));
        sim.command("text from=!10000002 channel=0 /echo hi");
        REQUIRE(sim.wait_for("rx", "packet", 10s));
        CHECK(any_text_contains(sim, "PWNED"));
    }
    SECTION("in a runner: only the patcher's own texts change") {
        SimProcess sim;
        RunningBot bot(config_for(sim, hostile("\"patcher\""), kCommands));
        CHECK(echo_answers(sim, "intact"));
        CHECK(ask(sim, "/patched") == "PWNED");  // the patch did happen, in its own process
        CHECK(echo_answers(sim, "still"));
        check_bot_traffic(sim);
    }
}

TEST_CASE("a static constructor that aborts ends only a runner, in the listing and in the bot",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, hostile("\"aborts_at_load\""), kCommands));
    int code = -1;
    meshbot::testing::TempDir dir;
    const auto offline =
        dir.write("offline.toml", config_for(sim, hostile("\"aborts_at_load\"")) +
                                      "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n");
    ChildProcess listing({bin_path("meshbot").string(), "plugins", "--config", offline.string()});
    REQUIRE(listing.wait_exit(15s) == 1);  // an enabled plugin could not load
    CHECK_THAT(listing.output(), Catch::Contains("while starting: its runner killed by SIGABRT"));
    CHECK_THAT(plugin_line(listing.output(), "echo"), Catch::Contains("loaded"));
    CHECK(echo_answers(sim, "unharmed"));
    CHECK_THAT(run_cli(bot, {"plugins"}, &code), Catch::Contains("killed by SIGABRT"));
    CHECK(code == 1);
    check_bot_traffic(sim);
}

TEST_CASE("a plugin kept in the bot is checked in a runner first: a crash at load costs no bot",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(
        config_for(sim, "isolation = \"none\"\n" + hostile("\"aborts_at_load\""), kCommands));
    CHECK(bot.process->wait_for_line(
        "aborts_at_load.so: its library crashed a runner checking it (killed by SIGABRT)", 5s));
    CHECK(bot.process->wait_for_line("(in the bot's process)", 5s));  // echo, in the bot
    CHECK(echo_answers(sim, "unharmed"));
    CHECK(bot.process->running());
    check_bot_traffic(sim);
}

TEST_CASE("stopping the bot ends every runner, whatever its plugin is doing",
          "[plugins][isolation]") {
    SimProcess sim;
    RunningBot bot(config_for(
        sim, "dirs = [" + quoted(build_dir() / "plugins") + ", " +
                 quoted(build_dir() / "tests/hostile_plugins") + ", " +
                 quoted(build_dir() / "tests/test_plugins") + "]\nenabled = [\"echo\", " +
                 "\"crasher\", \"monitor\", \"remote\", \"sdk_tour\"]\ncallback_timeout = 60\n"));
    CHECK(ask(sim, "/sleepwork") == "sleeping");
    dm(sim, "/hang");  // its runner is now stuck in a command handler, deaf to the host
    const auto pids = runner_pids(*bot.process);
    INFO(bot.process->output());
    REQUIRE(pids.size() == 5);
    bot.process->send_signal(SIGTERM);
    const auto exit = bot.process->wait_exit(10s);
    REQUIRE(exit);
    CHECK(*exit == 0);
    for (const int pid : pids) {
        INFO("runner " << pid);
        CHECK(process_gone(pid, 2s));
    }
}
