#pragma once
// The plugins in the host's search folders as their manifests describe them, read without
// loading any: what `meshbot --check-config` and `meshbot plugin info` look at. Any thread.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/app_config.hpp"
#include "plugin_host/config_schema.hpp"
#include "plugin_host/manifest.hpp"

namespace meshbot::plugins {

// One folder with a plugin.toml.
struct FoundPlugin {
    std::filesystem::path folder;
    std::optional<Manifest> manifest;   // empty when plugin.toml is broken
    std::string error;                  // then why (ManifestError's text)
    std::vector<std::string> warnings;  // the manifest's (unknown keys)

    // The manifest's id, else the folder's name (as the host names a broken plugin).
    std::string id() const { return manifest ? manifest->id : folder.filename().string(); }
};

// Every plugin folder in the folders the daemon searches, in its order; of two plugins with
// one id only the first is kept (the one the daemon loads).
std::vector<FoundPlugin> find_plugins(const config::AppConfig& config);

// `meshbot --check-config`: the table of each plugin the config wants against its schema.
// Warnings also cover what keeps a wanted plugin from loading that is no fault of the file (a
// broken manifest, a plugin for a newer meshbot).
TableCheck check_plugin_tables(const config::AppConfig& config);

}  // namespace meshbot::plugins
