#pragma once
// SHA-256 digests of files and bytes, as lowercase hex (the sha256sum(1) spelling), for the
// package checksum lists and the lock file's record of what was installed. Any thread.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace meshbot::plugins {

// The digest of the file's bytes, or nullopt when it cannot be read (`error`: why).
std::optional<std::string> sha256_of_file(const std::filesystem::path& file, std::string& error);

std::string sha256_of(std::string_view bytes);

}  // namespace meshbot::plugins
