#include "support/bot_process.hpp"

#include <cstdlib>

#include <catch2/catch.hpp>

namespace meshbot::testing {

using namespace std::chrono_literals;

std::filesystem::path build_dir() {
    return std::filesystem::path(MESHBOT_BIN_DIR).parent_path();
}

std::string quoted(const std::filesystem::path& p) {
    return "\"" + p.string() + "\"";
}

std::string isolation_line() {
    // The same test, both ways: CTest runs the plugin tests again with isolation = "none".
    const char* isolation = std::getenv("MESHBOT_TEST_ISOLATION");
    return isolation ? "isolation = \"" + std::string(isolation) + "\"\n" : std::string();
}

std::string config_for(const SimProcess& sim, const std::string& plugins,
                       const std::string& commands, const std::string& extra) {
    std::string mode =
        plugins.find("isolation =") == std::string::npos ? isolation_line() : std::string();
    // A test bot loads what its test names, not every plugin that comes with meshbot.
    if (plugins.find("default_dirs =") == std::string::npos) mode += "default_dirs = false\n";
    // Tests run side by side: a test bot listens for HTTP only where its test asks.
    const std::string http =
        extra.find("[http]") == std::string::npos ? "[http]\nlisten = \"\"\n" : "";
    return "[radio]\nhost = \"127.0.0.1\"\nport = " + std::to_string(sim.port()) +
           "\n\n[commands]\nchannels = [0]\nadmins = [\"!10000001\"]\n" + commands +
           "\n[log]\nlevel = \"debug\"\n\n" + http + extra + "\n[plugins]\n" + mode + plugins +
           "\n";
}

RunningBot::RunningBot(const std::string& config, std::vector<std::string> env) {
    const bool has_bot_table = config.find("\n[bot]") != std::string::npos;
    const auto path = dir.write(
        "meshbot.toml",
        has_bot_table ? config : config + "\n[bot]\ndata_dir = " + quoted(data_dir()) + "\n");
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin_path("meshbot").string(), "--config", path.string()},
        std::move(env));
    REQUIRE(process->wait_for_line("ready: node", 10s));
}

}  // namespace meshbot::testing
