#pragma once
// Where the host looks for plugins, and where each plugin's own files live. Pure; any thread.

#include <filesystem>
#include <string>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::plugins {

// A folder the host searches; only a folder the operator listed is worth a warning when missing.
struct SearchFolder {
    std::filesystem::path path;
    bool configured = false;  // from [plugins] dirs
};

// The folder of the running executable (build/bin/, /usr/bin/), "." when it cannot be told.
std::filesystem::path executable_folder();

// The plugins that come with meshbot: build/plugins/ beside build/bin/ in a build tree, the
// installed plugin folder (lib/meshbot/plugins under the install prefix) when installed.
// Empty when neither exists.
std::filesystem::path bundled_plugin_folder();

// Plugins an operator added by hand or installed: data_dir/plugins/.
std::filesystem::path user_plugin_folder(const std::filesystem::path& data_dir);

// Every folder to search, in the order that decides which of two plugins with one id wins:
// the configured [plugins] dirs, then (unless default_dirs is off) data_dir/plugins/, then the
// bundled folder; each once.
std::vector<SearchFolder> search_folders(const config::PluginsConfig& plugins,
                                         const std::filesystem::path& data_dir);

// The folders under search folder `folder` that may hold a plugin (a plugin.toml, or a stray
// .so): `folder` itself, then its subfolders sorted by name, the order that decides which of two
// plugins with one id wins.
std::vector<std::filesystem::path> plugin_folders_in(const std::filesystem::path& folder);

// The one folder plugin `id` may write (data_dir/plugin-data/<id>/), and its key-value store
// beside it: outside every folder searched for plugins, so a plugin can never write a plugin.
std::filesystem::path private_folder(const std::filesystem::path& data_dir, const std::string& id);
std::filesystem::path kv_store_file(const std::filesystem::path& data_dir, const std::string& id);

// Moves what an older meshbot kept under data_dir/plugins/ (the key-value store, the private
// folder) to where it lives now, so that folder holds plugins only. "" or what went wrong.
std::string move_from_old_layout(const std::filesystem::path& data_dir, const std::string& id);

}  // namespace meshbot::plugins
