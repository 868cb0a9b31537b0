#pragma once
// A plugin from a git repository: cloned, pinned to the commit its ref names, and built out of
// tree against the installed meshbot SDK, the way its author builds it. Main thread.

#include <filesystem>
#include <string>

namespace meshbot::share {

struct Checkout {
    std::filesystem::path folder;  // the work tree
    std::string commit;            // the full commit id the ref resolved to
};

// Clones `url` into `into` (which must not exist) and checks out `ref` (a tag, a branch, a
// commit; empty: the remote's default branch). Throws ShareError with git's own words.
Checkout fetch_git(const std::string& url, const std::string& ref,
                   const std::filesystem::path& into);

// The SDK prefix to build against: `given` when set (checked), else the prefix this meshbot is
// installed under, /usr/local or /usr, the first that holds MeshBotSDKConfig.cmake. Throws
// ShareError saying how to get one (the meshbot-dev package, or --sdk PREFIX).
std::filesystem::path find_sdk(const std::filesystem::path& given);

// Configures and builds `source` (its CMakeLists.txt calls meshbot_add_plugin) in `build`, and
// returns the built plugin's folder (build/plugins/<id>/). `id`: which one, when the project
// builds several (else it must build exactly one). Throws ShareError, with the build's last
// lines, when cmake or a compiler is missing or the build fails.
std::filesystem::path build_plugin(const std::filesystem::path& source,
                                   const std::filesystem::path& build,
                                   const std::filesystem::path& sdk, const std::string& id);

}  // namespace meshbot::share
