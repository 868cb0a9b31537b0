#pragma once
// plugins.lock: what `meshbot plugin install` put into data_dir/plugins/, where each plugin came
// from, and the permissions the operator granted it there (docs/plugin-guide.md, "Install a
// plugin"). The host reads it for those grants; the installer writes it. Any thread.

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace meshbot::plugins {

// A lock file that cannot be read or parsed; what() says where ("file:line:column: problem").
class LockError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One installed plugin.
struct LockEntry {
    std::string id;
    std::string version;
    std::string kind;            // "package", "folder", "git"
    std::string source;          // the package file, folder or repository URL, as given
    std::string ref;             // git: the ref asked for ("v1.2.0", "main"); else empty
    std::string commit;          // git: the commit it resolved to and was built from; else empty
    std::string sha256;          // of the plugin's library as installed
    std::string package_sha256;  // of the archive, when installed from one
    std::string index;           // the index it was found through, if any
    std::string installed_at;    // UTC, "2026-12-03T09:30:00Z"
    std::vector<std::string> granted;  // permissions the operator granted at install
};

std::filesystem::path lock_file(const std::filesystem::path& data_dir);

// Every entry, in file order; an absent file is an empty lock. Throws LockError.
std::vector<LockEntry> read_lock(const std::filesystem::path& file);
// Replaces the file durably (sorted by id); throws LockError when it cannot.
void write_lock(const std::filesystem::path& file, std::vector<LockEntry> entries);

const LockEntry* find_entry(const std::vector<LockEntry>& entries, const std::string& id);

// The permissions granted at install to the plugin whose library is `library`: only when that
// library is the one recorded (same folder under data_dir/plugins/, same sha256), so that a
// grant never passes to other code. Empty otherwise; a broken lock grants nothing (`problem`).
std::vector<std::string> granted_at_install(const std::filesystem::path& data_dir,
                                            const std::string& id,
                                            const std::filesystem::path& library,
                                            std::string& problem);

// Now, as the lock file writes it.
std::string utc_timestamp();

}  // namespace meshbot::plugins
