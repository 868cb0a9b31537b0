#pragma once
// Plugin indexes: TOML files listing plugins, each with its source and the versions it pins
// (a git commit, or a package and its sha256), kept in a git repository or a folder and added
// with `meshbot plugin index add SOURCE` (docs/plugin-index.md). Main thread.

#include <filesystem>
#include <string>
#include <vector>

#include "config/app_config.hpp"
#include "plugin_share/installer.hpp"

namespace meshbot::share {

// The file an index folder or repository holds at its root.
inline constexpr const char* kIndexFile = "meshbot-index.toml";

struct IndexVersion {
    std::string version;  // the plugin's version (semver)
    std::string ref;      // git: a tag for people; the commit is what counts
    std::string commit;   // git: 40 hex digits
    std::string package;  // or a package: a path relative to the index, or absolute
    std::string sha256;   // the package's digest
    std::string arch;     // the package's machine (uname -m); empty: any
};

struct IndexEntry {
    std::string id;
    std::string description;
    std::string license;
    std::string source;  // git repository URL (for commit versions)
    std::string subdir;  // the plugin's folder in it
    std::vector<IndexVersion> versions;
};

struct PluginIndex {
    std::string name;
    std::filesystem::path folder;  // where its file and relative packages are
    std::string source;            // what `index add` was given (the registry's record)
    std::vector<IndexEntry> plugins;
};

// Reads and checks an index file (ids, semver versions, 40-hex commits, 64-hex digests, a
// source for git versions); throws ShareError with file:line:column.
PluginIndex read_index(const std::filesystem::path& file);

// The indexes an operator added (data_dir/indexes.toml) and their local copies.
class IndexSet {
public:
    explicit IndexSet(const config::AppConfig& config);

    // `meshbot plugin index add SOURCE`: a folder, or a git repository (trusted_sources apply),
    // copied under data_dir/indexes/; adding one again refreshes it. Returns its name.
    std::string add(const std::string& source);
    std::vector<PluginIndex> load() const;
    // Plugins whose id or description holds every word (case-insensitive).
    std::vector<std::pair<std::string, IndexEntry>> search(
        const std::vector<std::string>& words) const;
    // Resolves "id" or "id@version" to what to install, for the installer.
    IndexedSource lookup(const PluginSource& id) const;

private:
    const config::AppConfig& config_;
    std::filesystem::path registry_;  // data_dir/indexes.toml
    std::filesystem::path copies_;    // data_dir/indexes/
};

}  // namespace meshbot::share
