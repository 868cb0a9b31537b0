// Where the host searches for plugins, in which order, and what an older layout is moved to.
#include <catch2/catch.hpp>

#include <fstream>

#include "plugin_host/plugin_folders.hpp"
#include "support/temp_dir.hpp"

using meshbot::testing::TempDir;
using namespace meshbot::plugins;
namespace fs = std::filesystem;

TEST_CASE("the configured folders come first, then data_dir/plugins, then the bundled ones, once",
          "[plugins][discovery]") {
    TempDir dir;
    meshbot::config::PluginsConfig config;
    config.dirs = {dir.path() / "mine", dir.path() / "data" / "plugins"};
    const auto folders = search_folders(config, dir.path() / "data");
    REQUIRE(folders.size() >= 2);
    CHECK(folders[0].path == dir.path() / "mine");
    CHECK(folders[0].configured);
    CHECK(folders[1].path == dir.path() / "data" / "plugins");  // listed: no second entry
    CHECK(folders[1].configured);
    // The unit test binary is in build/bin/ too: the build tree's plugins are the bundled ones.
    REQUIRE(folders.size() == 3);
    CHECK(folders[2].path.filename() == "plugins");
    CHECK_FALSE(folders[2].configured);
    CHECK(fs::exists(folders[2].path / "echo" / "plugin.toml"));

    config.default_dirs = false;
    CHECK(search_folders(config, dir.path() / "data").size() == 2);
}

TEST_CASE("a plugin's store and private folder move out of the folder searched for plugins",
          "[plugins][discovery]") {
    TempDir dir;
    const fs::path data = dir.path() / "data";
    fs::create_directories(data / "plugins" / "echo");
    std::ofstream(data / "plugins" / "echo.kv") << "kv";
    std::ofstream(data / "plugins" / "echo" / "note") << "private";
    fs::create_directories(data / "plugins" / "mine");
    std::ofstream(data / "plugins" / "mine" / "plugin.toml") << "id = \"mine\"\n";

    CHECK(move_from_old_layout(data, "echo").empty());
    CHECK(fs::exists(kv_store_file(data, "echo")));
    CHECK(fs::exists(private_folder(data, "echo") / "note"));
    CHECK_FALSE(fs::exists(data / "plugins" / "echo"));
    // An installed plugin's folder is no private folder: it stays.
    CHECK(move_from_old_layout(data, "mine").empty());
    CHECK(fs::exists(data / "plugins" / "mine" / "plugin.toml"));
    CHECK(private_folder(data, "echo").parent_path() != user_plugin_folder(data));
}
