#pragma once
// A plugin unpacked, copied or built into a scratch folder, and every check it must pass before
// the installer copies it where the bot looks (docs/plugin-guide.md, "Install a plugin").
// Nothing here touches data_dir/plugins/. Main thread.

#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/manifest.hpp"

namespace meshbot::share {

// What the checks found: the plugin as it would be installed.
struct StagedPlugin {
    std::filesystem::path folder;  // holds plugin.toml, the library, README, LICENSE, ...
    plugins::Manifest manifest;
    std::vector<std::string> warnings;
    std::string library_sha256;
};

// Copies the regular files of plugin folder `from` into the new folder `to`; refuses links,
// devices and sub-folders (a plugin folder is flat). Throws ShareError.
void copy_plugin_folder(const std::filesystem::path& from, const std::filesystem::path& to);

// Copies README/LICENSE files from `source` (a repository) into `to`, when there and missing.
void copy_documents(const std::filesystem::path& source, const std::filesystem::path& to);

// Every check that needs no plugin code to run, in the order an operator fixes them: the
// manifest (and its [config] schema), the host ABI and version it needs, the library's ELF
// class, machine, OS/ABI and symbol versions against this machine, the import audit. Throws
// ShareError "refused: ..." for the first that fails.
StagedPlugin check_staged(const std::filesystem::path& folder);

// One line per permission the plugin asks for, saying what granting it allows.
std::string describe_permission(const std::string& permission);

}  // namespace meshbot::share
