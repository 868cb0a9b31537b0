// Sharing plugins: `meshbot plugin install` from a package, a folder, a git tag and an index,
// picked up by the running bot without a restart (one radio connection throughout), update and
// remove, and every refusal with its message and nothing copied.
#include <catch2/catch.hpp>

#include <elf.h>

#include <fstream>
#include <sstream>

#include "support/bot_process.hpp"
#include "support/elf_forge.hpp"
#include "support/plugin_sources.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kNode1 = 0x10000001;

// The config file a RunningBot wrote.
fs::path config_of(const RunningBot& bot) {
    return bot.dir.path() / "meshbot.toml";
}

Ran plugin_cli(const fs::path& config, std::vector<std::string> words) {
    std::vector<std::string> argv{bin_path("meshbot").string(), "plugin"};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.insert(argv.end(), {"--config", config.string()});
    return run(argv);
}

// Sends /hello from N001 and waits for the answer number `count` to it.
std::string hello(SimProcess& sim, std::size_t count) {
    sim.command("text from=!10000001 to=!0badc0de /hello");
    const auto answered = [&] { return texts_to(sim, kNode1).size() >= count; };
    if (!sim.wait_for([&](const Record&) { return answered(); }, 15s)) return "(no answer)";
    return texts_to(sim, kNode1).at(count - 1).get<std::string>("text", "");
}

// A bot that searches data_dir/plugins/ (and the bundled plugins: echo keeps running beside).
std::string bot_config(const SimProcess& sim) {
    return config_for(sim, "default_dirs = true\nisolation = \"process\"");
}

void check_one_connection(const SimProcess& sim) {
    CHECK(sim.records("accept").size() == 1);
    check_bot_traffic(sim);
}

}  // namespace

TEST_CASE("a package installs into the running bot, which answers without a restart", "[share]") {
    SimProcess sim;
    RunningBot bot(bot_config(sim));
    TempDir work;
    const auto package = make_package(built_template(), work.path());

    const auto installed = plugin_cli(config_of(bot), {"install", package.string()});
    INFO(installed.output);
    REQUIRE(installed.code == 0);
    CHECK_THAT(installed.output, Catch::Contains("installed hello 1.0.0"));
    CHECK_THAT(installed.output, Catch::Contains("the running bot: plugin hello 1.0.0 loaded"));
    CHECK(fs::exists(bot.data_dir() / "plugins/hello/hello.so"));
    CHECK(hello(sim, 1) == "hello N001");

    const auto lock = file_text(bot.data_dir() / "plugins.lock");
    CHECK_THAT(lock, Catch::Contains("id = 'hello'") || Catch::Contains("id = \"hello\""));
    CHECK_THAT(lock, Catch::Contains("kind = 'package'") || Catch::Contains("kind = \"package\""));
    CHECK_THAT(lock, Catch::Contains("package_sha256"));
    const auto listed = plugin_cli(config_of(bot), {"list"});
    CHECK_THAT(listed.output, Catch::Contains("hello 1.0.0  ok"));

    const auto again = plugin_cli(config_of(bot), {"install", package.string()});
    CHECK(again.code == 1);
    CHECK_THAT(again.output, Catch::Contains("already installed"));

    const auto removed = plugin_cli(config_of(bot), {"remove", "hello"});
    INFO(removed.output);
    CHECK(removed.code == 0);
    CHECK(!fs::exists(bot.data_dir() / "plugins/hello"));
    CHECK_THAT(hello(sim, 2), Catch::StartsWith("unknown command /hello"));
    CHECK_THAT(file_text(bot.data_dir() / "plugins.lock"), !Catch::Contains("hello"));
    check_one_connection(sim);
}

TEST_CASE("a plugin folder installs, its permissions shown and granted only explicitly",
          "[share]") {
    SimProcess sim;
    RunningBot bot(bot_config(sim));
    TempDir work;
    // The template plugin, declared as asking for the network.
    const fs::path folder = work.path() / "hello";
    fs::create_directories(folder);
    for (const auto& entry : fs::directory_iterator(built_template()))
        fs::copy_file(entry.path(), folder / entry.path().filename());
    // Top-level keys go first: the manifest ends with its [config.*] tables.
    const auto manifest = file_text(folder / "plugin.toml");
    std::ofstream(folder / "plugin.toml", std::ios::trunc) << "permissions = [\"network\"]\n"
                                                           << manifest;

    const auto refused = plugin_cli(config_of(bot), {"install", folder.string()});
    INFO(refused.output);
    CHECK(refused.code == 1);
    CHECK_THAT(refused.output, Catch::Contains("network: may connect to other machines"));
    CHECK_THAT(refused.output, Catch::Contains("--grant network"));
    CHECK(!fs::exists(bot.data_dir() / "plugins/hello"));

    const auto dry =
        plugin_cli(config_of(bot), {"install", folder.string(), "--grant", "network", "--dry-run"});
    INFO(dry.output);
    CHECK(dry.code == 0);
    CHECK_THAT(dry.output, Catch::Contains("dry run"));
    CHECK(!fs::exists(bot.data_dir() / "plugins/hello"));
    CHECK(!fs::exists(bot.data_dir() / "plugins.lock"));

    const auto installed =
        plugin_cli(config_of(bot), {"install", folder.string(), "--grant", "network"});
    INFO(installed.output);
    REQUIRE(installed.code == 0);
    CHECK_THAT(file_text(bot.data_dir() / "plugins.lock"), Catch::Contains("network"));
    CHECK(hello(sim, 1) == "hello N001");

    // A plugin that imports socket functions loads only when granted the network: here the
    // grant recorded at install is what lets the bot load it (the config grants nothing).
    const auto netclient = build_dir() / "tests/test_plugins/netclient";
    const auto granted =
        plugin_cli(config_of(bot), {"install", netclient.string(), "--grant", "network"});
    INFO(granted.output);
    REQUIRE(granted.code == 0);
    CHECK_THAT(granted.output, Catch::Contains("the running bot: plugin netclient 1.0.0 loaded"));
    CHECK(bot.process->wait_for_line("plugin netclient: may use the network", 5s));
    CHECK(bot.process->wait_for_line("granted at install", 5s));
    check_one_connection(sim);
}

TEST_CASE(
    "a git repository installs at a tag, built against the installed SDK; update and "
    "remove work while the bot runs on one connection",
    "[share]") {
    SimProcess sim;
    RunningBot bot(bot_config(sim));
    TempDir work;
    const auto repo = make_template_repo(work.path());
    const std::string url = "file://" + repo.string();

    const auto installed =
        plugin_cli(config_of(bot), {"install", url + "@v1.0.0", "--sdk", installed_sdk().string()});
    INFO(installed.output);
    REQUIRE(installed.code == 0);
    CHECK(hello(sim, 1) == "hello N001");
    auto lock = file_text(bot.data_dir() / "plugins.lock");
    CHECK_THAT(lock, Catch::Contains(commit_of(repo, "v1.0.0")));
    CHECK_THAT(lock, Catch::Contains("v1.0.0"));
    CHECK_THAT(lock, Catch::Contains("sha256"));
    const auto info = plugin_cli(config_of(bot), {"info", "hello"});
    CHECK_THAT(info.output, Catch::Contains("installed    git " + url + " at v1.0.0 (commit " +
                                            commit_of(repo, "v1.0.0") + ")"));

    // Without --to it stays on the recorded tag, even though a newer one exists.
    const auto same = plugin_cli(config_of(bot), {"update", "hello"});
    INFO(same.output);
    CHECK(same.code == 0);
    CHECK_THAT(same.output, Catch::Contains("up to date"));

    const auto dry = plugin_cli(config_of(bot), {"update", "hello", "--to", "v1.1.0", "--dry-run",
                                                 "--sdk", installed_sdk().string()});
    INFO(dry.output);
    CHECK(dry.code == 0);
    CHECK(hello(sim, 2) == "hello N001");

    const auto updated = plugin_cli(
        config_of(bot), {"update", "hello", "--to", "v1.1.0", "--sdk", installed_sdk().string()});
    INFO(updated.output);
    REQUIRE(updated.code == 0);
    CHECK_THAT(updated.output, Catch::Contains("updated hello 1.1.0"));
    CHECK(hello(sim, 3) == "howdy N001");
    lock = file_text(bot.data_dir() / "plugins.lock");
    CHECK_THAT(lock, Catch::Contains(commit_of(repo, "v1.1.0")));

    const auto removed = plugin_cli(config_of(bot), {"remove", "hello"});
    CHECK(removed.code == 0);
    CHECK_THAT(hello(sim, 4), Catch::StartsWith("unknown command /hello"));
    // The bundled echo ran on through all of it.
    sim.command("text from=!10000002 to=!0badc0de /echo still here");
    REQUIRE(sim.wait_for([&](const Record&) { return !texts_to(sim, 0xFFFFFFFF).empty(); }, 15s));
    check_one_connection(sim);
}

TEST_CASE("plugins install by id from an index, pinned to a commit", "[share]") {
    TempDir work;
    const auto repo = make_template_repo(work.path());
    const auto index = work.path() / "index";
    fs::create_directories(index);
    // The index names a version, a tag for people, and the commit that is what counts.
    const auto write_index = [&](const std::string& version, const std::string& commit) {
        std::ofstream(index / "meshbot-index.toml", std::ios::trunc)
            << "name = \"test-index\"\n\n[[plugin]]\nid = \"hello\"\n"
               "description = \"Says hello to whoever asks\"\nlicense = \"MIT\"\n"
               "source = \"file://"
            << repo.string() << "\"\n\n[[plugin.version]]\nversion = \"" << version
            << "\"\nref = \"v" << version << "\"\ncommit = \"" << commit << "\"\n";
    };
    const auto config = work.write("meshbot.toml",
                                   "[radio]\nhost = \"127.0.0.1\"\n[http]\nlisten = \"\"\n[bot]\n"
                                   "data_dir = \"data\"\n");
    // An index whose pin holds another version than it claims is refused after the build.
    write_index("1.0.0", commit_of(repo, "v1.1.0"));
    REQUIRE(plugin_cli(config, {"index", "add", index.string()}).code == 0);
    const auto mislabelled =
        plugin_cli(config, {"install", "hello", "--sdk", installed_sdk().string()});
    CHECK(mislabelled.code == 1);
    CHECK_THAT(mislabelled.output,
               Catch::Contains("lists hello 1.0.0, but that source holds hello 1.1.0"));
    CHECK(!fs::exists(work.path() / "data/plugins/hello"));

    write_index("1.1.0", commit_of(repo, "v1.1.0"));
    const auto added = plugin_cli(config, {"index", "add", index.string()});
    INFO(added.output);
    REQUIRE(added.code == 0);
    const auto found = plugin_cli(config, {"search", "hello"});
    CHECK_THAT(found.output, Catch::Contains("hello 1.1.0"));
    CHECK(plugin_cli(config, {"search", "weather"}).code == 1);

    const auto installed =
        plugin_cli(config, {"install", "hello", "--sdk", installed_sdk().string()});
    INFO(installed.output);
    REQUIRE(installed.code == 0);
    CHECK_THAT(installed.output, Catch::Contains("the bot is not running"));
    const auto lock = file_text(work.path() / "data/plugins.lock");
    CHECK_THAT(lock, Catch::Contains(commit_of(repo, "v1.1.0")));
    CHECK_THAT(lock, Catch::Contains("test-index"));
}

TEST_CASE("install refuses what would not run here, each with its message, and copies nothing",
          "[share]") {
    TempDir work;
    const auto config = work.write("meshbot.toml",
                                   "[radio]\nhost = \"127.0.0.1\"\n[http]\nlisten = \"\"\n[bot]\n"
                                   "data_dir = \"data\"\n");
    const auto data = work.path() / "data";
    const auto refused = [&](const std::string& source, const std::string& message) {
        const auto ran = plugin_cli(config, {"install", source});
        INFO(source << ":\n" << ran.output);
        CHECK(ran.code == 1);
        CHECK_THAT(ran.output, Catch::Contains(message));
        CHECK(!fs::exists(data / "plugins/hello"));
        CHECK(!fs::exists(data / "plugins.lock"));
    };

    SECTION("a library built for another machine") {
        const auto package = make_package(built_template(), work.path(), [](const fs::path& dir) {
            forge_machine(dir / "hello.so", EM_AARCH64);
        });
        refused(package.string(), "built for aarch64, this machine is x86_64");
    }
    SECTION("a library that needs a newer glibc than this system's") {
        const auto package = make_package(built_template(), work.path(), [](const fs::path& dir) {
            REQUIRE(!forge_needed_version(dir / "hello.so", "GLIBC_2.").empty());
        });
        refused(package.string(), "this system has GLIBC_2.");
    }
    SECTION("a manifest for a newer plugin ABI") {
        const auto package = make_package(built_template(), work.path(), [](const fs::path& dir) {
            std::ofstream(dir / "plugin.toml", std::ios::trunc)
                << "id = \"hello\"\nname = \"Hello\"\nversion = \"1.0.0\"\n"
                   "api_version = \"1.99\"\n";
        });
        refused(package.string(), "it needs a newer meshbot");
    }
    SECTION("a manifest whose [config] schema is broken") {
        const auto package = make_package(built_template(), work.path(), [](const fs::path& dir) {
            std::ofstream(dir / "plugin.toml", std::ios::app)
                << "\n[config.colour]\ntype = \"strnig\"\nhelp = \"the colour\"\n";
        });
        refused(package.string(), "plugin.toml:");
        refused(package.string(), "strnig");
    }
    SECTION("a file that does not match the checksum list") {
        const auto package =
            make_package(built_template(), work.path(), nullptr, [](const fs::path& dir) {
                std::ofstream(dir / "README.md", std::ios::app) << "changed after signing\n";
            });
        refused(package.string(), "checksum mismatch for README.md");
    }
    SECTION("a package with a file outside its folder") {
        const auto stage = work.path() / "evil";
        fs::create_directories(stage / "hello");
        std::ofstream(stage / "outside.txt") << "x";
        for (const auto& e : fs::directory_iterator(built_template()))
            fs::copy_file(e.path(), stage / "hello" / e.path().filename());
        const auto package = work.path() / "evil.meshbot-plugin";
        REQUIRE(run({"tar", "-C", stage.string(), "-czf", package.string(), "hello", "outside.txt"})
                    .code == 0);
        refused(package.string(), "refused");
        CHECK(!fs::exists(data / "outside.txt"));
    }
    SECTION("a git source with no SDK to build it against") {
        const auto repo = make_template_repo(work.path());
        refused("file://" + repo.string() + "@v1.0.0", "no meshbot SDK found");
        const auto ran = plugin_cli(config, {"install", "file://" + repo.string(), "--sdk",
                                             (work.path() / "no-sdk").string()});
        CHECK(ran.code == 1);
        CHECK_THAT(ran.output, Catch::Contains("no meshbot SDK under"));
    }
    SECTION("a git server the operator does not trust") {
        refused("https://git.example.invalid/someone/hello.git@v1.0.0", "is not a trusted source");
    }
}

TEST_CASE("the index shipped with meshbot installs echo from this repository at its pinned commit",
          "[share]") {
    TempDir work;
    // The shipped index, pointed at this clone of the repository instead of its server.
    const fs::path shipped = fs::path(MESHBOT_SOURCE_DIR) / "examples/plugin-index";
    auto index = file_text(shipped / "meshbot-index.toml");
    const auto pinned = index.substr(index.find("commit = \"") + 10, 40);
    if (run({"git", "cat-file", "-e", pinned + "^{commit}"}, MESHBOT_SOURCE_DIR).code != 0) {
        WARN("this source tree does not hold commit " << pinned
                                                      << " (not a git clone, or a shallow one)");
        return;
    }
    const std::string server = "https://github.com/meshbot/meshbot";
    for (auto at = index.find(server); at != std::string::npos; at = index.find(server))
        index.replace(at, server.size(), "file://" + std::string(MESHBOT_SOURCE_DIR));
    work.write("index/meshbot-index.toml", index);
    const auto config = work.write("meshbot.toml",
                                   "[radio]\nhost = \"127.0.0.1\"\n[http]\nlisten = \"\"\n[bot]\n"
                                   "data_dir = \"data\"\n");
    REQUIRE(plugin_cli(config, {"index", "add", (work.path() / "index").string()}).code == 0);
    const auto installed =
        plugin_cli(config, {"install", "echo", "--sdk", installed_sdk().string()});
    INFO(installed.output);
    REQUIRE(installed.code == 0);
    CHECK_THAT(installed.output, Catch::Contains("takes the place of the one bundled"));
    CHECK(fs::exists(work.path() / "data/plugins/echo/echo.so"));
    CHECK_THAT(file_text(work.path() / "data/plugins.lock"), Catch::Contains("meshbot-bundled"));
}
