// A plugin's [plugins.<id>] table against the [config] schema of its manifest: refused with the
// value's file:line:column by --check-config, at start and by `meshbot plugins`, while the bot
// and the other plugins run on; defaults from the schema; the plugin's own checks still apply
// when it declares no schema; `meshbot plugin info`; min_meshbot.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBot = "!0badc0de";  // the simulator's own node
constexpr int kExitConfig = 78;

struct Run {
    int code = -1;
    std::string output;  // stdout and stderr
};

Run run_meshbot(std::vector<std::string> args) {
    args.insert(args.begin(), bin_path("meshbot").string());
    ChildProcess cli(std::move(args));
    const auto code = cli.wait_exit(30s);
    REQUIRE(code.has_value());
    return Run{*code, cli.output()};
}

// A copy of the built echo plugin in `folder`/echo, its manifest passed through `edit`.
void copy_echo(const fs::path& folder, const std::function<std::string(std::string)>& edit) {
    const fs::path target = folder / "echo";
    fs::create_directories(target);
    fs::copy_file(build_dir() / "plugins/echo/echo.so", target / "echo.so");
    std::ofstream(target / "plugin.toml")
        << edit(file_text(build_dir() / "plugins/echo/plugin.toml"));
}

// A config that loads echo from `plugins` with `lines` in [plugins.echo], the last lines of the
// file (so the last of them is on the file's last line).
std::string echo_config(const SimProcess& sim, const TempDir& dir, const std::string& lines,
                        const fs::path& plugins = build_dir() / "plugins",
                        const std::string& enabled = "\"echo\"") {
    return config_for(sim, "dirs = [" + quoted(plugins) + "]\nenabled = [" + enabled + "]\n") +
           "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n[plugins.echo]\n" + lines;
}

// "file:line:column" of the value on `line` (its text `text`) of `file`.
std::string where(const fs::path& file, long line, const std::string& text) {
    return file.string() + ":" + std::to_string(line) + ":" + std::to_string(text.find('=') + 3);
}

long line_count(const std::string& text) {
    return static_cast<long>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE(
    "echo's schema refuses a channel, mode or window out of range, naming where the value "
    "is, in --check-config and in meshbot plugins",
    "[plugins][plugin_config]") {
    SimProcess sim;
    TempDir dir;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"channel = -1", "plugins.echo.channel: expected an integer from 0 to 7, got integer -1"},
        {"channel = 8", "plugins.echo.channel: expected an integer from 0 to 7, got integer 8"},
        {"mode = \"replyy\"",
         "plugins.echo.mode: expected one of \"broadcast\", \"reply\", got "
         "string \"replyy\" (did you mean \"reply\"?)"},
        {"mode = 5", "plugins.echo.mode: expected a string, got integer 5"},
        {"repeat_window = -5",
         "plugins.echo.repeat_window: expected an integer from 0 to 86400, got integer -5"},
    };
    for (const auto& [line, message] : cases) {
        INFO(line);
        const std::string config = echo_config(sim, dir, line + "\n");
        const auto file = dir.write("meshbot.toml", config);
        const std::string expected = where(file, line_count(config), line) + ": " + message;

        const auto check = run_meshbot({"--check-config", file.string()});
        INFO(check.output);
        CHECK(check.code == kExitConfig);
        CHECK_THAT(check.output, Catch::Contains("meshbot: " + expected));

        const auto listing = run_meshbot({"plugins", "--config", file.string()});
        INFO(listing.output);
        CHECK(listing.code == 1);
        CHECK_THAT(listing.output, Catch::Contains("failed_config"));
        CHECK_THAT(listing.output, Catch::Contains(expected));
    }

    // In range, echo loads; a key the schema does not know is a warning with a suggestion.
    const std::string good_text =
        echo_config(sim, dir, "channel = 7\nmode = \"reply\"\nrepeat_window = 0\nchanel = 1\n");
    const auto good = dir.write("good.toml", good_text);
    const std::string unknown = where(good, line_count(good_text), "chanel = 1") +
                                ": unknown key 'plugins.echo.chanel' (did you mean 'channel'?)";
    const auto check = run_meshbot({"--check-config", good.string()});
    INFO(check.output);
    CHECK(check.code == 0);
    CHECK_THAT(check.output, Catch::Contains("meshbot: warning: " + unknown));
    CHECK_THAT(check.output, Catch::Contains(good.string() + ": ok"));
    const auto listing = run_meshbot({"plugins", "--config", good.string()});
    INFO(listing.output);
    CHECK(listing.code == 0);
    CHECK_THAT(listing.output, Catch::Contains("warning: " + unknown));
}

TEST_CASE(
    "a bot whose echo table breaks the schema starts without echo, the other plugins run, "
    "and meshbot plugins says why",
    "[plugins][plugin_config]") {
    SimProcess sim;
    const std::string tail = "channel = -1\nmode = \"replyy\"\n";
    const std::string config = config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") +
                                                   "]\nenabled = [\"echo\", \"remote\"]\n") +
                               "[plugins.echo]\n" + tail;
    RunningBot bot(config);  // ready on the simulator: the bot runs on
    const fs::path file = bot.dir.path() / "meshbot.toml";
    const long mode_line = line_count(config);
    CHECK(bot.process->wait_for_line(
        "plugin echo: failed_config: " + where(file, mode_line - 1, "channel = -1") +
            ": plugins.echo.channel: expected an integer from 0 to 7",
        10s));
    CHECK(bot.process->wait_for_line(
        where(file, mode_line, "mode = \"replyy\"") + ": plugins.echo.mode: expected one of", 10s));
    CHECK(bot.process->wait_for_line("plugin remote 1.0.0: loaded", 10s));

    // The running bot's table, through its control socket.
    const auto listing = run_meshbot({"plugins", "--config", file.string()});
    INFO(listing.output);
    CHECK(listing.code == 1);
    CHECK_THAT(listing.output, Catch::Contains("1 enabled plugin(s) could not load"));
    std::istringstream rows(listing.output);
    std::vector<std::string> states;
    for (std::string row; std::getline(rows, row);) {
        if (row.rfind("echo ", 0) == 0 || row.rfind("remote ", 0) == 0) states.push_back(row);
    }
    REQUIRE(states.size() == 2);
    CHECK_THAT(states[0], Catch::Contains(" failed_config "));
    CHECK_THAT(states[1], Catch::Contains(" loaded "));

    // /echo is no command of this bot.
    sim.command(std::string("text from=!10000001 to=") + kBot + " /echo hi");
    REQUIRE(sim.wait_for_count("rx", "packet", 1, 15s));
    const auto replies = texts_to(sim, 0x10000001);
    REQUIRE(replies.size() == 1);
    CHECK_THAT(replies[0].get<std::string>("text"), Catch::StartsWith("unknown command /echo"));
    CHECK(texts_to(sim, 0xFFFFFFFF).empty());
}

TEST_CASE("a key the operator leaves out reads as the schema's default",
          "[plugins][plugin_config]") {
    SimProcess sim;
    TempDir dir;
    // The same echo, whose manifest says its channel is 2 unless the operator says otherwise.
    copy_echo(dir.path() / "plugins", [](std::string manifest) {
        const auto at = manifest.find("default = 0\n");
        REQUIRE(at != std::string::npos);
        return manifest.replace(at, 11, "default = 2");
    });
    RunningBot bot(
        config_for(sim, "dirs = [" + quoted(dir.path() / "plugins") + "]\nenabled = [\"echo\"]\n"));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /echo hi");
    REQUIRE(sim.wait_for_count("rx", "packet", 1, 15s));
    const auto broadcasts = texts_to(sim, 0xFFFFFFFF);
    REQUIRE(broadcasts.size() == 1);
    CHECK(broadcasts[0].get<std::string>("text") == "N001: hi");
    CHECK(broadcasts[0].get<unsigned>("channel") == 2);
}

TEST_CASE("without a schema, the plugin's own checks refuse the value, with its place",
          "[plugins][plugin_config]") {
    SimProcess sim;
    TempDir dir;
    copy_echo(dir.path() / "plugins",
              [](std::string manifest) { return manifest.substr(0, manifest.find("[config")); });
    const std::string config = echo_config(sim, dir, "channel = -1\n", dir.path() / "plugins");
    const auto file = dir.write("meshbot.toml", config);

    // Nothing to check against: the file is fine as far as meshbot can tell.
    const auto check = run_meshbot({"--check-config", file.string()});
    INFO(check.output);
    CHECK(check.code == 0);

    const auto listing = run_meshbot({"plugins", "--config", file.string()});
    INFO(listing.output);
    CHECK(listing.code == 1);
    CHECK_THAT(listing.output, Catch::Contains("failed_init"));
    CHECK_THAT(listing.output,
               Catch::Contains(where(file, line_count(config), "channel = -1") +
                               ": config key 'channel' must be from 0 to 7, got -1"));
}

TEST_CASE("a plugin that needs a newer meshbot is refused with both versions",
          "[plugins][plugin_config]") {
    SimProcess sim;
    TempDir dir;
    copy_echo(dir.path() / "plugins", [](std::string manifest) {
        const std::string line = "min_meshbot = \"" MESHBOT_VERSION "\"";
        const auto at = manifest.find(line);
        REQUIRE(at != std::string::npos);
        return manifest.replace(at, line.size(), "min_meshbot = \"99.0.0\"");
    });
    const auto file =
        dir.write("meshbot.toml", echo_config(sim, dir, "channel = 1\n", dir.path() / "plugins"));
    const auto listing = run_meshbot({"plugins", "--config", file.string()});
    INFO(listing.output);
    CHECK(listing.code == 1);
    CHECK_THAT(listing.output, Catch::Contains("failed_version"));
    CHECK_THAT(listing.output,
               Catch::Contains("needs meshbot >= 99.0.0, this is " MESHBOT_VERSION));
    const auto check = run_meshbot({"--check-config", file.string()});
    CHECK(check.code == 0);  // the file is right; the plugin is the problem
    CHECK_THAT(check.output, Catch::Contains("warning: plugin echo will not load: it needs "
                                             "meshbot >= 99.0.0"));
}

TEST_CASE("meshbot plugin info shows the manifest, each config key and the operator's value",
          "[plugin_config][plugin_info]") {
    TempDir dir;
    const std::string config = "[bot]\ndata_dir = " + quoted(dir.path() / "data") +
                               "\n[plugins]\ndirs = [" + quoted(build_dir() / "plugins") +
                               "]\ndefault_dirs = false\n[plugins.echo]\nchannel = 3\n";
    const auto file = dir.write("meshbot.toml", config);

    const auto info = run_meshbot({"plugin", "info", "echo", "--config", file.string()});
    INFO(info.output);
    CHECK(info.code == 0);
    for (const std::string& line : std::vector<std::string>{
             "id           echo", "name         Echo", "version      1.0.0", "license      MIT",
             "authors      The meshbot developers",
             "homepage     https://github.com/meshbot/meshbot",
             "source       https://github.com/meshbot/meshbot", "api          1.0",
             "min_meshbot  " MESHBOT_VERSION, "permissions  none",
             "folder       " + (build_dir() / "plugins/echo").string(), "config [plugins.echo]",
             "  channel\n      integer, default 0, 0 to 7\n      Channel index the echo is "
             "broadcast on\n      set to 3 at " +
                 where(file, line_count(config), "channel = 3"),
             "  mode\n      string, default \"broadcast\", one of \"broadcast\", \"reply\"\n",
             "  repeat_window\n      integer, default 5, 0 to 86400\n"})
        CHECK_THAT(info.output, Catch::Contains(line));

    const auto unknown = run_meshbot({"plugin", "info", "ehco", "--config", file.string()});
    INFO(unknown.output);
    CHECK(unknown.code == 1);
    CHECK_THAT(unknown.output,
               Catch::Contains("meshbot: no plugin 'ehco' found in " +
                               (build_dir() / "plugins").string() + " (did you mean 'echo'?)"));
}
