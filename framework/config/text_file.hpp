#pragma once
// Reading a whole small text file (a config, a manifest) with a precise reason on failure.

#include <filesystem>
#include <optional>
#include <string>

namespace meshbot::config {

// The file's content, or nullopt with `error` set to an errno value (EISDIR for a folder,
// which std::ifstream would happily "open"). Any thread.
std::optional<std::string> read_text_file(const std::filesystem::path& file, int& error);

}  // namespace meshbot::config
