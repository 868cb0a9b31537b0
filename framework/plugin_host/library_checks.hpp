#pragma once
// The checks of a plugin's files that need none of its code to run: its library is there, it
// was built for this host's plugin ABI and meshbot version, and its ELF file can run on this
// machine. One home for the host (before it loads a plugin) and the installer (before it copies
// one). Pure apart from reading the library; any thread.

#include <optional>
#include <string>

#include "plugin_host/manifest.hpp"

namespace meshbot::plugins {

struct LibraryRefusal {
    enum class Kind { load, version };  // the plugin's state: failed_load, failed_version
    Kind kind;
    std::string reason;  // starts with the library's path
};

std::optional<LibraryRefusal> check_library(const Manifest& manifest);

}  // namespace meshbot::plugins
