// The meshbot Debian package as an operator gets it: the daemon, its plugin runner, the bundled
// plugins and the packaged /etc/meshbot/meshbot.toml, taken out of the .deb (dpkg-deb -x) into a
// scratch root and run against meshbot-sim. Only data_dir, the radio's port and the HTTP port are
// changed, so the default plugin folders stay on and the plugins must be found where the package
// put them. CTest runs this after tests/debian/build_packages.sh (the debian_packages fixture),
// which names the package folder in MESHBOT_DEB_DIR and the plugin folder under /usr in
// MESHBOT_DEB_PLUGIN_DIR.

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>

#include "support/bot_process.hpp"
#include "support/child_process.hpp"
#include "support/http_get.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace meshbot::testing;
using namespace std::chrono_literals;

namespace {

// The one meshbot_<version>_<arch>.deb in the fixture's folder (not meshbot-dev, meshbot-sim).
fs::path meshbot_deb() {
    const char* dir = std::getenv("MESHBOT_DEB_DIR");
    const fs::path folder = dir ? fs::path(dir) : build_dir() / "debian";
    fs::path found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("meshbot_", 0) == 0 && entry.path().extension() == ".deb") {
            INFO("two meshbot packages in " << folder);
            REQUIRE(found.empty());
            found = entry.path();
        }
    }
    INFO("no meshbot_*.deb in " << folder << " (run tests/debian/build_packages.sh first)");
    REQUIRE(!found.empty());
    return found;
}

}  // namespace

TEST_CASE("the packaged daemon, with its packaged config and plugins, answers on the simulator",
          "[debian]") {
    const fs::path deb = meshbot_deb();
    TempDir scratch;
    const fs::path root = scratch.path() / "root";
    ChildProcess extract({"/usr/bin/dpkg-deb", "-x", deb.string(), root.string()});
    const auto extracted = extract.wait_exit(60s);
    INFO("dpkg-deb -x " << deb << ": " << extract.output());
    REQUIRE(extracted == 0);

    SimProcess sim;
    std::string config = file_text(root / "etc/meshbot/meshbot.toml");
    // The packaged radio endpoint is this machine; only its port moves to the simulator's.
    REQUIRE(config.find("\nhost = \"127.0.0.1\"\n") != std::string::npos);
    config =
        replaced_once(config, "\nport = 4403\n", "\nport = " + std::to_string(sim.port()) + "\n");
    config = replaced_once(config, "\ndata_dir = \"/var/lib/meshbot\"\n",
                           "\ndata_dir = " + quoted(scratch.path() / "data") + "\n");
    // Tests run side by side: the packaged listener moves to a free port.
    config =
        replaced_once(config, "\nlisten = \"127.0.0.1:9464\"\n", "\nlisten = \"127.0.0.1:0\"\n");
    const fs::path config_path = scratch.write("meshbot.toml", config);

    ChildProcess bot({(root / "usr/bin/meshbot").string(), "--config", config_path.string()});
    const auto ready = bot.wait_for_line("ready: node", 10s);
    INFO(bot.output());
    REQUIRE(ready);
    // Every bundled plugin loads from the package's folder, in a runner of its own.
    // (lib/meshbot/plugins, or lib/<multiarch>/... in a build configured with the prefix /usr.)
    const char* plugin_dir = std::getenv("MESHBOT_DEB_PLUGIN_DIR");
    const fs::path plugins =
        fs::weakly_canonical(root / "usr" / (plugin_dir ? plugin_dir : "lib/meshbot/plugins"));
    for (const char* id : {"echo", "monitor", "remote"}) {
        const auto line = bot.wait_for_line(": loaded from " + (plugins / id).string() + "/", 10s);
        INFO("plugin " << id << " did not load from " << plugins << ":\n" << bot.output());
        REQUIRE(line);
        CHECK(line->find("(runner pid ") != std::string::npos);
    }
    const bool echoed = echo_answers(sim, "packaged");
    INFO("the bot's output:\n" << bot.output());
    CHECK(echoed);
    check_bot_traffic(sim);
    // The packaged daemon serves its metrics.
    const auto listening = bot.wait_for_line("http: listening on", 5s);
    REQUIRE(listening);
    const auto metrics = http_get(*http_port_from_log(*listening), "/metrics");
    CHECK(metrics.status == 200);
    CHECK(metric_value(metrics.body, "meshbot_link_up") == 1.0);

    bot.send_signal(SIGTERM);
    CHECK(bot.wait_exit(10s) == 0);
}
