// The status page in a real browser: Debian's headless Chromium, driven by playwright-core
// (tests/browser/, installed by scripts/setup from its lock file), against a bot connected to
// a simulator with 1,000 nodes.

#include <catch2/catch.hpp>

#include "support/bot_process.hpp"
#include "support/http_get.hpp"
#include "support/sim_process.hpp"

using namespace meshbot::testing;
using namespace std::chrono_literals;

TEST_CASE("the status page shows the link, the nodes and the plugins, and follows a drop live",
          "[http][browser]") {
    SimProcess sim({.nodes = 1000});
    RunningBot bot(
        config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]",
                   {}, "[http]\nlisten = \"127.0.0.1:0\"\n"));
    const auto line = bot.process->wait_for_line("http: listening on", 10s);
    REQUIRE(line);
    const auto port = http_port_from_log(*line);
    REQUIRE(port);
    REQUIRE(echo_answers(sim, "browser"));

    // MESHBOT_SCREENSHOT=docs/status-page.png keeps the picture the docs show.
    const char* keep = std::getenv("MESHBOT_SCREENSHOT");
    const auto screenshot = keep ? std::filesystem::path(keep) : bot.dir.path() / "page.png";
    const auto script = std::filesystem::path(MESHBOT_SOURCE_DIR) / "tests/browser/status_page.mjs";
    ChildProcess browser({"/usr/bin/node", script.string(),
                          "http://127.0.0.1:" + std::to_string(*port) + "/", "1001", "echo",
                          screenshot.string()});
    const auto ready = browser.wait_for_line("PAGE ", 60s);
    INFO(browser.output());
    REQUIRE(ready);
    REQUIRE(ready->find("PAGE READY reconnects=0") != std::string::npos);
    CHECK(std::filesystem::file_size(screenshot) > 10000);

    sim.command("drop");
    browser.write_stdin("dropped\n");
    const auto updated = browser.wait_for_line("PAGE UPDATED", 60s);
    INFO(browser.output());
    CHECK(updated);
    CHECK(browser.wait_exit(30s) == 0);
    check_bot_traffic(sim);
}
