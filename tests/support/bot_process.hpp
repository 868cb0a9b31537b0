#pragma once
// Starts the real meshbot daemon for an integration test, with a config written to a temp dir.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

namespace meshbot::testing {

// The build tree (build/), for plugin folders such as build/plugins and build/tests/test_plugins.
std::filesystem::path build_dir();
// A TOML basic string holding `p`.
std::string quoted(const std::filesystem::path& p);

// `isolation = "..."` for a [plugins] table when CTest's in-bot pass set MESHBOT_TEST_ISOLATION,
// else "".
std::string isolation_line();

// A config for the bot against `sim`, with debug logging, channel 0 allowed and !10000001 as
// admin. With MESHBOT_TEST_ISOLATION set (CTest's in-bot pass), [plugins] isolation is that
// value unless `plugins` sets an isolation itself; default_dirs is false unless `plugins` sets
// it (a test bot loads the plugins its test names). `plugins` is the body of the [plugins] table
// and any per-plugin tables after it; `commands` extra lines for [commands]; `extra` any further
// tables. The HTTP listener is off unless `extra` has an [http] table.
std::string config_for(const SimProcess& sim, const std::string& plugins,
                       const std::string& commands = {}, const std::string& extra = {});

// The bot as a process, ready on the simulator (waits up to 10 s for "ready: node").
// Its data directory is <dir>/data unless the config sets [bot] itself. Test thread only.
struct RunningBot {
    TempDir dir;
    std::unique_ptr<ChildProcess> process;

    explicit RunningBot(const std::string& config, std::vector<std::string> env = {});
    std::filesystem::path data_dir() const { return dir.path() / "data"; }
};

}  // namespace meshbot::testing
