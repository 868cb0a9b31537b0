#pragma once
// What `meshbot plugin install SOURCE` was given, and whether the operator trusts where it
// points. Pure; any thread.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::share {

struct PluginSource {
    enum class Kind { package, folder, git, index };
    Kind kind = Kind::folder;
    std::string location;  // package/folder: an absolute path; git: the URL; index: the id
    std::string ref;       // git: after '@' ("v1.2.0", a branch, a commit); index: a version
    std::string host;      // git: the server ("" for file://); what trusted_sources matches
    std::string path;      // git: the repository path on that server, without ".git"
    std::string subdir;    // git: the plugin's folder in the repository ("" for its root)
    std::string index;     // index: look only in the index of this name ("": every index)
};

const char* to_string(PluginSource::Kind kind);

// An existing file is a package, an existing folder a plugin folder; file://, https://,
// ssh:// and scp-like "user@host:path" are git repositories, each with an optional "@ref";
// a plain id ("weather", "weather@1.2.0") is looked up in the indexes. Throws ShareError.
PluginSource parse_source(std::string_view text);

// Refuses (ShareError) a git ref that is no plain tag, branch or commit name: one starting with
// '-' (git would read it as an option), with blanks, control characters, "..", or "^{".
void check_ref(const std::string& ref);

// Refuses (ShareError) a git source on a server that no entry of `trusted` covers ("host",
// or "host/path-prefix" matched at a '/' boundary). Local paths and file:// always pass.
void check_trusted(const PluginSource& source, const std::vector<std::string>& trusted,
                   const std::filesystem::path& config_file);

}  // namespace meshbot::share
