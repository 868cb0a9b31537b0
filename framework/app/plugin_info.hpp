#pragma once
// `meshbot plugin info ID`: what a plugin's manifest says and how the operator's config sets it.

#include <string>

#include "config/app_config.hpp"

namespace meshbot::app {

// Prints plugin `id` as found in the daemon's search folders: its manifest (id, name, version,
// description, licence, authors, links, ABI, minimum meshbot, permissions, folder), then each
// key of its config schema with type, default, range or choices, help, and the value `config`
// gives it. Never loads the plugin. 0, or 1 with a message for an id found nowhere (with close
// ids) or a broken manifest.
int show_plugin_info(const config::AppConfig& config, const std::string& id);

}  // namespace meshbot::app
