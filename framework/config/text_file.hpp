#pragma once
// Reading a whole small file (a config, a manifest) with a precise reason on failure, and
// replacing one so that a crash leaves the old or the new content, never a mix.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace meshbot::config {

// The file's content, or nullopt with `error` set to an errno value (EISDIR for a folder,
// which std::ifstream would happily "open"). Any thread.
std::optional<std::string> read_text_file(const std::filesystem::path& file, int& error);

// Replaces `file` with `content` (mode 0600): written to "<file>.tmp", fsynced, renamed over
// it, the folder fsynced. False, with the old file intact, when any step failed. Any thread.
bool write_file_durably(const std::filesystem::path& file, std::string_view content);

}  // namespace meshbot::config
