#include "plugin_host/library_checks.hpp"

#include "meshbot/abi.h"
#include "plugin_host/elf_compat.hpp"

namespace meshbot::plugins {

namespace fs = std::filesystem;

std::optional<LibraryRefusal> check_library(const Manifest& m) {
    using Kind = LibraryRefusal::Kind;
    const std::string lib_path = m.library_path().string();
    std::error_code ec;
    if (!fs::is_regular_file(m.library_path(), ec))
        return LibraryRefusal{Kind::load, lib_path + ": library not found"};
    if (m.api_major != MB_ABI_MAJOR || m.api_minor > MB_ABI_MINOR) {
        const bool newer = m.api_major > MB_ABI_MAJOR ||
                           (m.api_major == MB_ABI_MAJOR && m.api_minor > MB_ABI_MINOR);
        return LibraryRefusal{
            Kind::version, lib_path + ": manifest api_version " + std::to_string(m.api_major) +
                               "." + std::to_string(m.api_minor) + " does not fit this host's " +
                               std::to_string(MB_ABI_MAJOR) + "." + std::to_string(MB_ABI_MINOR) +
                               (newer ? " (it needs a newer meshbot)"
                                      : " (the plugin must be rebuilt against this SDK)")};
    }
    if (auto too_old = check_min_meshbot(m, MESHBOT_VERSION); !too_old.empty())
        return LibraryRefusal{Kind::version, std::move(too_old)};
    try {
        // Machine, OS/ABI and glibc/libstdc++ versions: refused here with a message naming
        // both sides, rather than by dlopen with one that names neither.
        if (auto unfit = elf_incompatibility(m.library_path()); !unfit.empty())
            return LibraryRefusal{Kind::load, lib_path + ": " + unfit};
    } catch (const std::exception& e) {
        return LibraryRefusal{Kind::load, e.what()};
    }
    return std::nullopt;
}

}  // namespace meshbot::plugins
