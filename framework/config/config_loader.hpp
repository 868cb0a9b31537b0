#pragma once
// Reads and validates the daemon's TOML config file.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::config {

// A config problem; what() reads "file:line:column: key: problem".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LoadResult {
    AppConfig config;
    std::vector<std::string> warnings;  // e.g. unknown keys, each with file:line:column
};

// Throws ConfigError for a missing file, a TOML syntax error or a wrong value.
LoadResult load_config(const std::filesystem::path& file);
LoadResult parse_config(std::string_view toml_text, const std::string& source_name);

}  // namespace meshbot::config
