// A plugin's own config values are checked where it reads them: out of range or of the wrong
// type keeps it from loading, with the file:line:column of the value in the operator's file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;

TEST_CASE("echo refuses a channel, mode or window out of range, naming where the value is",
          "[plugins][plugin_config]") {
    SimProcess sim;
    TempDir dir;
    // Each table's value sits on the file's last line, at a column the test knows.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"channel = -1", "config key 'channel' must be from 0 to 7, got -1"},
        {"channel = 8", "config key 'channel' must be from 0 to 7, got 8"},
        {"mode = \"replyy\"", "config key 'mode' must be one of broadcast, reply, got \"replyy\""},
        {"mode = 5", "config key 'mode' must be a string"},
        {"repeat_window = -5", "config key 'repeat_window' must be from 0 to 86400, got -5"},
    };
    for (const auto& [line, message] : cases) {
        INFO(line);
        const std::string config =
            config_for(sim,
                       "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]\n") +
            "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n[plugins.echo]\n" + line + "\n";
        const auto file = dir.write("meshbot.toml", config);
        const auto last_line = std::count(config.begin(), config.end(), '\n');
        const auto column = line.find('=') + 3;
        ChildProcess cli({bin_path("meshbot").string(), "plugins", "--config", file.string()});
        REQUIRE(cli.wait_exit(15s) == 1);
        INFO(cli.output());
        CHECK_THAT(cli.output(), Catch::Contains("failed_init"));
        CHECK_THAT(cli.output(), Catch::Contains(file.string() + ":" + std::to_string(last_line) +
                                                 ":" + std::to_string(column) + ": " + message));
    }

    // In range, echo loads.
    const auto good = dir.write(
        "good.toml", config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") +
                                         "]\nenabled = [\"echo\"]\n") +
                         "[bot]\ndata_dir = " + quoted(dir.path() / "data") +
                         "\n[plugins.echo]\nchannel = 7\nmode = \"reply\"\nrepeat_window = 0\n");
    ChildProcess cli({bin_path("meshbot").string(), "plugins", "--config", good.string()});
    REQUIRE(cli.wait_exit(15s) == 0);
}
