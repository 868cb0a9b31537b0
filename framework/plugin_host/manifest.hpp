#pragma once
// Reads and validates a plugin's plugin.toml, the manifest that sits beside its .so and is read
// before the .so is ever opened (loading runs static constructors; docs/abi.md, "The entry point").

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_host/config_schema.hpp"

namespace meshbot::plugins {

// A manifest problem; what() reads "file:line:column: key: problem" (one line per problem),
// or "file: key: problem" for a missing key, or "cannot read manifest 'PATH': reason".
class ManifestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a plugin declares about itself. Plain data; any thread.
struct Manifest {
    std::string id;           // [a-z0-9_-]{1,32}: config section, log tag, command owner
    std::string name;         // for people
    std::string version;      // semver MAJOR.MINOR.PATCH[-pre][+build]
    std::string description;  // may be empty
    std::string library;      // a plain file name in `dir`; "<id>.so" unless given
    unsigned api_major = 0;   // the SDK ABI it was built for (api_version = "MAJOR.MINOR")
    unsigned api_minor = 0;
    std::vector<std::string> permissions;  // known values only, in file order, no duplicates
    std::filesystem::path dir;             // the folder holding plugin.toml

    // What it is, for people sharing it; each may be empty.
    std::string license;               // an SPDX expression: "MIT", "Apache-2.0 OR MIT"
    std::vector<std::string> authors;  // "Name <mail>" each
    std::string homepage;              // an http(s) URL
    std::string source;                // where its code is: an http(s), git or ssh URL
    std::string min_meshbot;           // the oldest meshbot it runs in, "MAJOR.MINOR.PATCH"
    // The schema of its [plugins.<id>] table ([config]), in file order; empty: none declared,
    // and the host checks nothing of the table.
    std::vector<ConfigKeySpec> config_schema;

    bool wants(std::string_view permission) const;
    std::filesystem::path library_path() const { return dir / library; }
};

struct ManifestLoad {
    Manifest manifest;
    std::vector<std::string> warnings;  // e.g. unknown keys, each with file:line:column
};

// The permissions a manifest may ask for. An unknown one is an error rather than a warning:
// a typo in a permission must not silently load a plugin without it (or with more).
inline constexpr std::string_view known_permissions[] = {"network", "exec"};

// "" when a host of version `host_version` ("MAJOR.MINOR.PATCH", a -pre or +build part ignored)
// is new enough for `m`, else "needs meshbot >= X, this is Y".
std::string check_min_meshbot(const Manifest& m, std::string_view host_version);

// Whether version `a` comes before `b` (MAJOR.MINOR.PATCH as numbers, a pre-release before its
// release); text order for anything that is not a version. Pure.
bool version_older(std::string_view a, std::string_view b);

// Throws ManifestError for a missing or unreadable file, a TOML syntax error or a bad value;
// reports every bad value at once. Pure apart from reading `file`; any thread.
ManifestLoad load_manifest(const std::filesystem::path& file);
// The same for text already read; `file` names it in messages and gives Manifest::dir.
ManifestLoad parse_manifest(std::string_view toml_text, const std::filesystem::path& file);

}  // namespace meshbot::plugins
