// Where the bot finds plugins without being told, and what `meshbot plugins` says about what
// it found: the example config as a newcomer copies it, warnings for what matches nothing,
// exit codes, and a library built for another machine or a newer glibc.
#include <catch2/catch.hpp>

#include <elf.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/bot_process.hpp"
#include "support/elf_forge.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;
namespace fs = std::filesystem;

namespace {

struct Listing {
    int code = -1;
    std::string output;
};

// `meshbot plugins` on `config`: the daemon's answer when one runs, else checked offline.
Listing list_plugins(const fs::path& config) {
    ChildProcess cli({bin_path("meshbot").string(), "plugins", "--config", config.string()});
    const auto code = cli.wait_exit(30s);
    REQUIRE(code.has_value());
    return Listing{*code, cli.output()};
}

// The row of plugin `id`, or "".
std::string row(const Listing& listing, const std::string& id) {
    std::istringstream in(listing.output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(id + " ", 0) == 0) return line;
    }
    return {};
}

// A copy of the built echo plugin in `folder`/echo, its manifest given `extra` top-level lines
// (first, so that they do not land in the manifest's last table).
fs::path copy_echo(const fs::path& folder, const std::string& extra = {}) {
    const fs::path target = folder / "echo";
    fs::create_directories(target);
    fs::copy_file(build_dir() / "plugins/echo/echo.so", target / "echo.so");
    std::ofstream(target / "plugin.toml")
        << extra << file_text(build_dir() / "plugins/echo/plugin.toml");
    return target;
}

}  // namespace

TEST_CASE("the example config, copied to an empty folder, loads the bundled plugins and answers",
          "[plugins][discovery]") {
    SimProcess sim;
    TempDir dir;
    const auto example = file_text(fs::path(MESHBOT_SOURCE_DIR) / "config/meshbot.example.toml");
    const auto config =
        dir.write("meshbot.toml",
                  replaced_once(example, "port = 4403", "port = " + std::to_string(sim.port())));

    const auto offline = list_plugins(config);
    INFO(offline.output);
    CHECK(offline.code == 0);
    for (const char* id : {"echo", "monitor", "remote"})
        CHECK_THAT(row(offline, id), Catch::Contains(" loaded "));

    ChildProcess bot({bin_path("meshbot").string(), "--config", config.string()});
    REQUIRE(bot.wait_for_line("ready: node", 15s));
    sim.command("text from=!10000002 to=!0badc0de /echo in a DM");
    sim.command("text from=!10000003 channel=0 /echo on the channel");
    // Echo's default mode repeats both on the channel, paced 2 s apart.
    const auto echoed = [&] { return texts_to(sim, 0xFFFFFFFF).size() >= 2; };
    if (!sim.wait_for([&](const Record&) { return echoed(); }, 15s)) FAIL(bot.output());
    CHECK(texts_to(sim, 0xFFFFFFFF).at(0).get<std::string>("text", "") == "N002: in a DM");
    CHECK(texts_to(sim, 0xFFFFFFFF).at(1).get<std::string>("text", "") == "N003: on the channel");
    check_bot_traffic(sim);
}

TEST_CASE("meshbot plugins shows its warnings and exits non-zero when an enabled plugin fails",
          "[plugins][discovery]") {
    SimProcess sim;
    TempDir dir;
    // A plugin folder of the operator's with a copy of echo (its manifest has a key no meshbot
    // knows), which hides the bundled echo.
    copy_echo(dir.path() / "mine", "licence = \"MIT\"\n");
    const std::string dirs = "dirs = [" + quoted(dir.path() / "mine") + ", " +
                             quoted(build_dir() / "tests/bad_plugins/throws_init") + ", " +
                             quoted(dir.path() / "missing") + "]\n";
    const std::string good = "default_dirs = true\n" + dirs + "enabled = [\"echo\", \"monitr\"]\n" +
                             "[plugins.ehco]\nenabled = true\n";
    const std::string bad =
        "default_dirs = true\n" + dirs + "enabled = [\"echo\", \"throws_init\"]\n";

    const auto good_config = dir.write("good.toml", config_for(sim, good) + "[bot]\ndata_dir = " +
                                                        quoted(dir.path() / "data") + "\n");
    const auto bad_config =
        dir.write("bad.toml",
                  config_for(sim, bad) + "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n");

    const auto listing = list_plugins(good_config);
    INFO(listing.output);
    CHECK(listing.code == 0);
    CHECK_THAT(row(listing, "echo"), Catch::Contains(" loaded ") && Catch::Contains("/mine/echo/"));
    CHECK_THAT(listing.output,
               Catch::Contains("warning: folder " + (dir.path() / "missing").string() +
                               " (in [plugins] dirs) does not exist"));
    CHECK_THAT(listing.output,
               Catch::Contains("unknown key 'licence' (ignored, did you mean 'license'?)"));
    CHECK_THAT(listing.output,
               Catch::Contains("'monitr' is listed in [plugins] enabled but was not found "
                               "(did you mean 'monitor'?)"));
    CHECK_THAT(listing.output,
               Catch::Contains("good.toml:") &&
                   Catch::Contains("[plugins.ehco] configures no plugin that was found "
                                   "(did you mean 'echo'?)"));
    CHECK_THAT(listing.output,
               Catch::Contains("plugins/echo/echo.so is not used: 'echo' is loaded from"));

    const auto failing = list_plugins(bad_config);
    INFO(failing.output);
    CHECK(failing.code == 1);
    CHECK_THAT(row(failing, "throws_init"), Catch::Contains("failed_init"));
    CHECK_THAT(failing.output, Catch::Contains("1 enabled plugin(s) could not load"));

    // The same answer from a running bot, through its control socket.
    ChildProcess bot({bin_path("meshbot").string(), "--config", bad_config.string()});
    REQUIRE(bot.wait_for_line("ready: node", 15s));
    REQUIRE(bot.wait_for_line("throws_init: failed_init", 15s));
    const auto from_daemon = list_plugins(bad_config);
    INFO(from_daemon.output);
    CHECK(from_daemon.code == 1);
    CHECK_THAT(from_daemon.output, Catch::Contains("warning: folder "));
    check_bot_traffic(sim);
}

TEST_CASE("a plugin built for another machine is refused with both machines named",
          "[plugins][discovery]") {
    SimProcess sim;
    TempDir dir;
    const auto folder = copy_echo(dir.path() / "foreign");
#if defined(__x86_64__)
    const std::uint16_t foreign = EM_AARCH64;
    const std::string expected = "built for aarch64, this machine is x86_64";
#else
    const std::uint16_t foreign = EM_X86_64;
    const std::string expected = "built for x86_64, this machine is";
#endif
    forge_machine(folder / "echo.so", foreign);
    const auto config = dir.write(
        "meshbot.toml", config_for(sim, "dirs = [" + quoted(dir.path() / "foreign") + "]\n") +
                            "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n");
    const auto listing = list_plugins(config);
    INFO(listing.output);
    CHECK(listing.code == 1);
    CHECK_THAT(row(listing, "echo"), Catch::Contains("failed_load"));
    CHECK_THAT(listing.output, Catch::Contains("echo.so: " + expected));
}

TEST_CASE("a plugin that needs a newer glibc is refused with both versions named",
          "[plugins][discovery]") {
    SimProcess sim;
    TempDir dir;
    const auto folder = copy_echo(dir.path() / "newer");
    const std::string forged = forge_needed_version(folder / "echo.so", "GLIBC_2.");
    REQUIRE_FALSE(forged.empty());
    const auto config = dir.write(
        "meshbot.toml", config_for(sim, "dirs = [" + quoted(dir.path() / "newer") + "]\n") +
                            "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n");
    const auto listing = list_plugins(config);
    INFO(listing.output);
    CHECK(listing.code == 1);
    CHECK_THAT(row(listing, "echo"), Catch::Contains("failed_load"));
    // Said before dlopen, which would only say "version `GLIBC_9...' not found".
    CHECK_THAT(listing.output, Catch::Contains("echo.so: needs " + forged +
                                               " (libc.so.6), this system has GLIBC_2."));
}
