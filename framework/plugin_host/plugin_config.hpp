#pragma once
// A plugin's own [plugins.<id>] table, answered through the C ABI's config_get.

#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "meshbot/abi.h"

namespace meshbot::plugins {

// Owns the parsed table; strings handed out point into it and stay valid while it lives.
// io_context thread only.
class PluginConfig {
public:
    PluginConfig() = default;
    // `toml_text` is the table as the config loader serialised it; throws toml::parse_error.
    explicit PluginConfig(const std::string& toml_text);

    // Paths: "key", "table.key", "list[2]". MB_VALUE_NONE when absent.
    mb_value get(std::string_view path) const;

private:
    toml::table table_;
};

}  // namespace meshbot::plugins
