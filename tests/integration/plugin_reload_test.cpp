// `meshbot plugin reload ID` against a running bot and the simulator: a plugin installed, updated
// and removed while the bot runs is picked up through the control socket, without a restart,
// without a second radio connection, and without the other plugins (echo) noticing.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kNode2 = 0x10000002;
const std::string kCommands = "rate_limit = 1000\n";

// Plugins from the bundled folder (echo) and data_dir/plugins/ (what the tests install).
std::string plugins(const std::string& enabled, const std::string& settings = {}) {
    return "default_dirs = true\nenabled = [\"echo\", " + enabled + "]\n" + settings;
}

// Installs a copy of the built plugin folder `from` as data_dir/plugins/<id>, its manifest's
// version replaced by `version` when given.
void install(const RunningBot& bot, const fs::path& from, const std::string& version = {}) {
    const fs::path target = bot.data_dir() / "plugins" / from.filename();
    fs::remove_all(target);
    fs::create_directories(target.parent_path());
    fs::copy(from, target, fs::copy_options::recursive);
    if (version.empty()) return;
    std::ifstream in(target / "plugin.toml");
    std::stringstream text;
    text << in.rdbuf();
    in.close();
    const std::string manifest = std::regex_replace(
        text.str(), std::regex(R"((^|\n)version = "[^"]*")"), "$1version = \"" + version + "\"");
    std::ofstream(target / "plugin.toml", std::ios::trunc) << manifest;
}

struct Cli {
    int code = -1;
    std::string output;
};

Cli cli(const RunningBot& bot, std::vector<std::string> words) {
    std::vector<std::string> argv = {bin_path("meshbot").string()};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.insert(argv.end(), {"--config", (bot.dir.path() / "meshbot.toml").string()});
    ChildProcess process(argv);
    const auto code = process.wait_exit(70s);
    return Cli{code.value_or(-1), process.output()};
}

Cli reload(const RunningBot& bot, const std::string& id) {
    return cli(bot, {"plugin", "reload", id});
}

std::string row(const std::string& table, const std::string& id) {
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(id + " ", 0) == 0) return line;
    }
    return {};
}

// The runner pid `meshbot plugins` shows for `id`, 0 for none.
int runner_pid(const RunningBot& bot, const std::string& id) {
    std::smatch m;
    const std::string line = row(cli(bot, {"plugins"}).output, id);
    return std::regex_search(line, m, std::regex(R"( pid (\d+) )")) ? std::stoi(m[1]) : 0;
}

// Sends a DM command from `node` and returns the bot's next text to it. (The bot hints at an
// unknown command once per sender and rate window: each such check asks from another node.)
std::string ask(SimProcess& sim, const std::string& text, std::uint32_t node = kNode2) {
    const auto before = texts_to(sim, node).size();
    char from[16];
    std::snprintf(from, sizeof from, "!%08x", node);
    sim.command("text from=" + std::string(from) + " to=!0badc0de " + text);
    const bool arrived =
        sim.wait_for([&](const Record&) { return texts_to(sim, node).size() > before; }, 10s)
            .has_value();
    return arrived ? texts_to(sim, node).at(before).get<std::string>("text", "") : "(nothing)";
}

std::size_t texts_saying(const SimProcess& sim, const std::string& text) {
    std::size_t n = 0;
    for (const auto& r : texts_to(sim, kNode2))
        n += r.get<std::string>("text", "") == text ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("a plugin installed, updated and removed while the bot runs is picked up by a reload",
          "[reload]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugins("\"sdk_tour\""), kCommands));
    const int echo_pid = runner_pid(bot, "echo");
    REQUIRE(echo_pid > 0);
    CHECK_THAT(ask(sim, "/recall"), Catch::StartsWith("unknown command /recall"));

    // Installed.
    install(bot, build_dir() / "tests/test_plugins/sdk_tour");
    auto answer = reload(bot, "sdk_tour");
    CHECK(answer.code == 0);
    CHECK_THAT(answer.output, Catch::StartsWith("ok: plugin sdk_tour 1.0.0 loaded (process, pid "));
    CHECK(ask(sim, "/remember kept across reloads") == "remembered");
    CHECK(echo_answers(sim, "installed"));

    // Updated, with a callback of the old instance in flight: answered at most once.
    install(bot, build_dir() / "tests/test_plugins/sdk_tour", "1.0.1");
    sim.command("text from=!10000002 to=!0badc0de /later");
    answer = reload(bot, "sdk_tour");
    CHECK(answer.code == 0);
    CHECK_THAT(answer.output, Catch::StartsWith("ok: plugin sdk_tour 1.0.1 loaded (process, pid "));
    CHECK_THAT(row(cli(bot, {"plugins"}).output, "sdk_tour"), Catch::Contains("loaded") &&
                                                                  Catch::Contains("1.0.1") &&
                                                                  Catch::Contains("restarts 0"));
    CHECK(ask(sim, "/recall") == "note: kept across reloads");
    CHECK(texts_saying(sim, "later") <= 1);

    // Reloaded unchanged: a new runner, the same version.
    const int before = runner_pid(bot, "sdk_tour");
    answer = reload(bot, "sdk_tour");
    CHECK(answer.code == 0);
    CHECK(runner_pid(bot, "sdk_tour") != before);

    // Removed.
    fs::remove_all(bot.data_dir() / "plugins/sdk_tour");
    answer = reload(bot, "sdk_tour");
    CHECK(answer.code == 0);
    CHECK_THAT(answer.output, Catch::StartsWith("ok: plugin sdk_tour removed"));
    CHECK_THAT(ask(sim, "/recall", 0x10000003), Catch::StartsWith("unknown command /recall"));
    const auto table = cli(bot, {"plugins"});
    CHECK(row(table.output, "sdk_tour").empty());
    CHECK_THAT(row(table.output, "echo"), Catch::Contains("loaded"));

    // Neither there nor known; there but not enabled.
    answer = reload(bot, "nosuch");
    CHECK(answer.code == 1);
    CHECK_THAT(answer.output, Catch::StartsWith("failed: no plugin nosuch in ") &&
                                  Catch::Contains((bot.data_dir() / "plugins").string()));
    install(bot, build_dir() / "tests/hostile_plugins/crasher");
    answer = reload(bot, "crasher");
    CHECK(answer.code == 1);
    CHECK_THAT(answer.output, Catch::StartsWith("failed: plugin crasher is not enabled in " +
                                                (bot.dir.path() / "meshbot.toml").string()) &&
                                  Catch::Contains("add \"crasher\" to [plugins] enabled"));
    CHECK_THAT(ask(sim, "/alive", 0x10000001), Catch::StartsWith("unknown command /alive"));

    // Throughout, the link and the other plugins went on as they were.
    CHECK(runner_pid(bot, "echo") == echo_pid);
    CHECK(echo_answers(sim, "throughout"));
    CHECK(bot.process->running());
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("an in-bot plugin reloads, even with post_work that never ends in flight", "[reload]") {
    SimProcess sim;
    RunningBot bot(config_for(
        sim, plugins("\"crasher\"", "\n[plugins.crasher]\nisolation = \"none\"\n"), kCommands));
    install(bot, build_dir() / "tests/hostile_plugins/crasher");
    auto answer = reload(bot, "crasher");
    CHECK(answer.code == 0);
    CHECK_THAT(answer.output,
               Catch::StartsWith("ok: plugin crasher 1.0.0 loaded (in the bot's process)"));
    CHECK(ask(sim, "/keep before") == "kept");

    // Its post_work job never returns: the library stays mapped, the plugin reloads all the same.
    CHECK(ask(sim, "/sleepwork") == "sleeping");
    install(bot, build_dir() / "tests/hostile_plugins/crasher", "1.0.1");
    answer = reload(bot, "crasher");
    CHECK(answer.code == 0);
    CHECK_THAT(answer.output,
               Catch::StartsWith("ok: plugin crasher 1.0.1 loaded (in the bot's process)"));
    CHECK(ask(sim, "/alive") == "alive");
    CHECK(ask(sim, "/kept") == "kept: before");

    // A changed library while the old one is still mapped (its job still runs): dlopen() would
    // hand back the old code, so the reload says so rather than pretend.
    std::ofstream(bot.data_dir() / "plugins/crasher/crasher.so", std::ios::app) << "changed";
    answer = reload(bot, "crasher");
    CHECK(answer.code == 1);
    CHECK_THAT(answer.output, Catch::StartsWith("failed: plugin crasher: ") &&
                                  Catch::Contains("still maps the library loaded before"));
    install(bot, build_dir() / "tests/hostile_plugins/crasher");
    CHECK(reload(bot, "crasher").code == 0);
    CHECK(ask(sim, "/alive") == "alive");

    fs::remove_all(bot.data_dir() / "plugins/crasher");
    answer = reload(bot, "crasher");
    CHECK(answer.code == 0);
    CHECK_THAT(ask(sim, "/alive"), Catch::StartsWith("unknown command /alive"));
    CHECK(echo_answers(sim, "after"));
    CHECK(bot.process->running());
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("a plugin whose command never returns reloads; meanwhile its commands answer busy",
          "[reload]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugins("\"crasher\"", "callback_timeout = 60\n"), kCommands));
    install(bot, build_dir() / "tests/hostile_plugins/crasher");
    REQUIRE(reload(bot, "crasher").code == 0);
    const int old_pid = runner_pid(bot, "crasher");
    REQUIRE(old_pid > 0);

    // /hang never returns: the old runner is killed after its grace, the new one answers.
    sim.command("text from=!10000002 to=!0badc0de /hang");
    REQUIRE(bot.process->wait_for_line("/hang", 5s));
    const auto mark = bot.process->line_count();
    ChildProcess reloading({bin_path("meshbot").string(), "plugin", "reload", "crasher", "--config",
                            (bot.dir.path() / "meshbot.toml").string()});
    REQUIRE(bot.process->wait_for_line_after(mark, "plugin crasher: reload asked", 5s));
    CHECK(ask(sim, "/alive") == "crasher is restarting, try again in a few seconds");
    CHECK(echo_answers(sim, "meanwhile"));
    REQUIRE(reloading.wait_exit(30s) == 0);
    CHECK_THAT(reloading.output(),
               Catch::StartsWith("ok: plugin crasher 1.0.0 loaded (process, pid "));
    CHECK(runner_pid(bot, "crasher") != old_pid);
    CHECK(ask(sim, "/alive") == "alive");
    CHECK(bot.process->running());
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("meshbot plugin reload without a running bot exits 3", "[reload]") {
    TempDir dir;
    const auto config = dir.write("meshbot.toml",
                                  "[radio]\nhost = \"127.0.0.1\"\nport = 1\n\n"
                                  "[bot]\ndata_dir = " +
                                      quoted(dir.path() / "data") + "\n");
    ChildProcess process(
        {bin_path("meshbot").string(), "plugin", "reload", "echo", "--config", config.string()});
    CHECK(process.wait_exit(15s) == 3);
    CHECK_THAT(process.output(), Catch::Contains("the bot is not running"));
}
