#pragma once
// A plugin package (<id>-<version>-linux-<arch>.meshbot-plugin, made by meshbot_add_plugin's
// <id>_package target): a gzip'ed tar with one folder <id>/ holding plugin.toml, the library,
// README.md, LICENSE and SHA256SUMS, which lists every other file (docs/plugin-guide.md,
// "Share your plugin"). Any thread.

#include <filesystem>

namespace meshbot::share {

// Whether `file` starts like a gzip'ed archive (the package format), whatever its name.
bool looks_like_package(const std::filesystem::path& file);

// Unpacks `package` into the empty folder `into` and returns the plugin folder inside it.
// Refuses (ShareError) anything but regular files in one top folder: links, devices, absolute
// or ".." paths, nested folders, more than a few dozen files or oversized ones, so that a
// hostile archive can write nothing outside `into`.
std::filesystem::path unpack_package(const std::filesystem::path& package,
                                     const std::filesystem::path& into);

// Checks the folder's SHA256SUMS: every file listed matches, and every file in the folder is
// listed. Throws ShareError naming the first file that does not. `required`: a folder without
// SHA256SUMS is refused (packages); else it passes unchecked (a folder or a git build).
void verify_checksums(const std::filesystem::path& folder, bool required);

}  // namespace meshbot::share
