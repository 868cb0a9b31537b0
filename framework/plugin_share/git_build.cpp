#include "plugin_share/git_build.hpp"

#include <cstdlib>
#include <vector>

#include "plugin_host/plugin_folders.hpp"
#include "plugin_share/plugin_source.hpp"
#include "plugin_share/program_run.hpp"
#include "plugin_share/share_error.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// git never asks for a password or a host key on a terminal here: a source that needs one
// fails with git's message instead of hanging an unattended install.
const std::map<std::string, std::string> kGitEnv = {
    {"GIT_TERMINAL_PROMPT", "0"},
    {"GIT_SSH_COMMAND", "ssh -o BatchMode=yes"},
    {"GIT_ASKPASS", "/bin/false"},
    // Only the transports a source may name: never ext:: or fd::, which run commands.
    {"GIT_ALLOW_PROTOCOL", "file:https:ssh"},
    // A trusted server must not send the clone elsewhere: no HTTP redirects, no LFS server
    // named by the repository's own .lfsconfig.
    {"GIT_CONFIG_COUNT", "1"},
    {"GIT_CONFIG_KEY_0", "http.followRedirects"},
    {"GIT_CONFIG_VALUE_0", "false"},
    {"GIT_LFS_SKIP_SMUDGE", "1"},
};

fs::path need(const std::string& program, const std::string& what) {
    const auto path = find_program(program);
    if (path.empty())
        throw ShareError("cannot " + what + ": '" + program + "' is not installed (on Debian: " +
                         (program == "git" ? "apt install git" : "apt install cmake g++") + ")");
    return path;
}

std::string last_lines(const std::string& output, std::size_t count = 12) {
    std::size_t from = output.size();
    for (std::size_t n = 0; n <= count && from > 0;) {
        if (output[--from] == '\n') ++n;
    }
    return output.substr(from == 0 ? 0 : from + 1);
}

std::string git(const fs::path& dir, const std::vector<std::string>& args,
                const std::string& what) {
    const auto result = run_program(need("git", what), args, dir, kGitEnv, 300s);
    if (result.exit_code != 0)
        throw ShareError("cannot " + what + ": " + last_lines(result.output, 6));
    return result.output;
}

bool sdk_in(const fs::path& prefix) {
    std::error_code ec;
    for (const char* libdir : {"lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu",
                               "lib/arm-linux-gnueabihf", "share"}) {
        if (fs::exists(prefix / libdir / "cmake/MeshBotSDK/MeshBotSDKConfig.cmake", ec))
            return true;
    }
    return false;
}

}  // namespace

Checkout fetch_git(const std::string& url, const std::string& ref, const fs::path& into) {
    check_ref(ref);
    const auto where = into.parent_path();
    git(where, {"clone", "--quiet", "--no-checkout", "--", url, into.string()}, "clone " + url);
    std::string commit;
    const std::string wanted = ref.empty() ? "HEAD" : ref;
    // A branch other than the default one exists only as origin/<branch> after a clone.
    for (const auto& candidate : {wanted, "refs/tags/" + wanted, "origin/" + wanted}) {
        const auto result = run_program(
            need("git", "resolve " + wanted),
            {"rev-parse", "--verify", "--quiet", candidate + "^{commit}"}, into, kGitEnv, 60s);
        if (result.exit_code == 0) {
            commit = result.output.substr(0, result.output.find('\n'));
            break;
        }
    }
    if (commit.size() != 40)
        throw ShareError("refused: " + url + " has no tag, branch or commit '" + wanted + "'");
    git(into, {"-c", "advice.detachedHead=false", "checkout", "--quiet", commit},
        "check out " + commit);
    return Checkout{into, commit};
}

fs::path find_sdk(const fs::path& given) {
    if (!given.empty()) {
        if (!sdk_in(given))
            throw ShareError("no meshbot SDK under " + given.string() +
                             " (no lib/cmake/MeshBotSDK/MeshBotSDKConfig.cmake)");
        return given;
    }
    std::vector<fs::path> tried{plugins::executable_folder().parent_path(), "/usr/local", "/usr"};
    std::string looked;
    for (const auto& prefix : tried) {
        if (sdk_in(prefix)) return prefix;
        looked += (looked.empty() ? "" : ", ") + prefix.string();
    }
    throw ShareError("cannot build a plugin from source: no meshbot SDK found (looked under " +
                     looked + "). Install the meshbot-dev package, or pass --sdk PREFIX");
}

fs::path build_plugin(const fs::path& source, const fs::path& build, const fs::path& sdk,
                      const std::string& id) {
    std::error_code ec;
    if (!fs::exists(source / "CMakeLists.txt", ec))
        throw ShareError("refused: " + source.string() +
                         " has no CMakeLists.txt (a plugin source builds with "
                         "meshbot_add_plugin; see docs/plugin-guide.md)");
    const auto cmake = need("cmake", "build the plugin");
    const char* cxx = std::getenv("CXX");
    need(cxx && *cxx ? fs::path(cxx).filename().string() : "c++", "build the plugin");
    auto result = run_program(cmake,
                              {"-S", source.string(), "-B", build.string(),
                               "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_PREFIX_PATH=" + sdk.string()},
                              source, {}, 300s);
    if (result.exit_code != 0)
        throw ShareError("cannot configure the plugin's build:\n" + last_lines(result.output));
    result = run_program(cmake, {"--build", build.string(), "-j2"}, source, {}, 1200s);
    if (result.exit_code != 0)
        throw ShareError("the plugin's build failed:\n" + last_lines(result.output));
    std::vector<fs::path> built;
    for (const auto& entry : fs::directory_iterator(build / "plugins", ec)) {
        if (fs::exists(entry.path() / "plugin.toml", ec)) built.push_back(entry.path());
    }
    if (!id.empty()) {
        for (const auto& folder : built) {
            if (folder.filename() == id) return folder;
        }
        throw ShareError("the build made no plugin '" + id + "'");
    }
    if (built.size() == 1) return built.front();
    if (built.empty())
        throw ShareError("the build made no plugin (expected " + (build / "plugins").string() +
                         "/<id>/plugin.toml from meshbot_add_plugin)");
    std::string ids;
    for (const auto& folder : built)
        ids += (ids.empty() ? "" : ", ") + folder.filename().string();
    throw ShareError("the build made several plugins (" + ids + "): name one with --plugin ID");
}

}  // namespace meshbot::share
