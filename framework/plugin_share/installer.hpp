#pragma once
// `meshbot plugin install | update | remove | list`: puts plugins into data_dir/plugins/ (a folder
// the bot searches by default), records where each came from in plugins.lock, and tells a running
// bot through its control socket so that it picks the change up without a restart
// (docs/plugin-guide.md, "Install a plugin"). Main thread; one installer per data folder at a
// time (a lock file in data_dir/plugin-install/ keeps two apart).

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "config/app_config.hpp"
#include "plugin_host/plugin_lock.hpp"
#include "plugin_share/plugin_source.hpp"

namespace meshbot::share {

struct InstallOptions {
    std::vector<std::string> grants;  // --grant PERMISSION, each
    bool dry_run = false;             // check everything, change nothing
    bool interactive = false;         // ask for ungranted permissions on the terminal
    std::filesystem::path sdk;        // --sdk PREFIX: the meshbot SDK git sources build against
    std::string plugin;               // --plugin ID: which one, when a build makes several
    std::string to;                   // update --to REF (git), PATH (package, folder), VERSION
};

// Asks the running bot (a control request such as "plugin reload weather"); nullopt when no
// bot runs. The app gives the control socket's client; tests may give none.
using BotRequest = std::function<std::optional<std::string>(const std::string& request)>;

// Where an index says a plugin is: resolves `source` (Kind::index) to a git or package source
// with what to expect of it. The app gives plugin_index's lookup.
struct IndexedSource {
    PluginSource source;           // git (ref = the pinned commit) or package
    std::string expected_commit;   // git: must be what the ref resolves to
    std::string expected_sha256;   // package: the archive's digest
    std::string index;             // the index's name, recorded in the lock
    std::string expected_version;  // what the index lists: the manifest must say the same
};
using IndexLookup = std::function<IndexedSource(const PluginSource& id_and_version)>;

class Installer {
public:
    Installer(const config::AppConfig& config, std::ostream& out, std::istream& in,
              BotRequest ask_bot, IndexLookup lookup);

    // Each returns the process exit code: 0 done (or would be, with dry_run), 1 refused or
    // failed; every refusal is one clear message on `out`, and nothing was copied.
    int install(const std::string& source, const InstallOptions& options);
    int update(const std::string& id, const InstallOptions& options);
    int remove(const std::string& id, const InstallOptions& options);
    int list();

private:
    int run(const std::function<void()>& body);
    void install_from(const PluginSource& source, const InstallOptions& options,
                      const plugins::LockEntry* replacing);
    // `earlier`: the entry whose grants carry over (an update from the same origin), or null.
    std::vector<std::string> grant(const std::vector<std::string>& asked,
                                   const InstallOptions& options, const plugins::LockEntry* earlier,
                                   const std::string& id);
    void warn_about_shadows(const std::string& id);
    void tell_bot(const std::string& id, const std::string& done);

    const config::AppConfig& config_;
    std::ostream& out_;
    std::istream& in_;
    BotRequest ask_bot_;
    IndexLookup lookup_;
    std::filesystem::path plugins_dir_;  // data_dir/plugins/
    std::filesystem::path work_dir_;     // data_dir/plugin-install/
    bool bot_failed_ = false;
};

}  // namespace meshbot::share
