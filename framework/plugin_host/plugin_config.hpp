#pragma once
// A plugin's own [plugins.<id>] table, answered through the C ABI's config_get.

#include <toml++/toml.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "meshbot/abi.h"
#include "plugin_host/config_schema.hpp"

namespace meshbot::plugins {

// Owns the parsed table; strings handed out point into it and stay valid while it lives.
// io_context thread only.
class PluginConfig {
public:
    PluginConfig() = default;
    // `toml_text` is the table as the config loader serialised it, `positions` where each value
    // is in the operator's file (by path); throws toml::parse_error.
    explicit PluginConfig(const std::string& toml_text,
                          std::map<std::string, std::string> positions = {});

    // Every key of `schema` the table leaves out reads as the key's default (and its `where` is the
    // default's place in plugin.toml): the schema is the one home of a plugin's defaults.
    void add_defaults(const std::vector<ConfigKeySpec>& schema);

    // Paths: "key", "table.key", "list[2]". MB_VALUE_NONE when absent. `where` is the value's
    // "file:line:column" when known.
    mb_value get(std::string_view path) const;

private:
    toml::table table_;
    std::map<std::string, std::string> positions_;
};

}  // namespace meshbot::plugins
