#include "plugin_share/installer.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>
#include <ostream>

#include "plugin_host/config_schema.hpp"
#include "plugin_host/file_digest.hpp"
#include "plugin_host/plugin_folders.hpp"
#include "plugin_host/utf8_chunker.hpp"
#include "plugin_share/git_build.hpp"
#include "plugin_share/install_lock.hpp"
#include "plugin_share/package_archive.hpp"
#include "plugin_share/share_error.hpp"
#include "plugin_share/staged_plugin.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;
using plugins::LockEntry;
using plugins::printable;

namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// A scratch folder under data_dir/plugin-install/, removed with everything in it. It sits on
// the data folder's file system, so the finished plugin moves into place with one rename.
class ScratchFolder {
public:
    explicit ScratchFolder(const fs::path& parent) : path_(make_scratch_folder(parent, "work-")) {}
    ~ScratchFolder() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

void move_folder(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec)
        throw ShareError("cannot move " + from.string() + " to " + to.string() + ": " +
                         ec.message());
}

std::string short_commit(const std::string& commit) {
    return commit.substr(0, 12);
}

}  // namespace

Installer::Installer(const config::AppConfig& config, std::ostream& out, std::istream& in,
                     BotRequest ask_bot, IndexLookup lookup)
    : config_(config),
      out_(out),
      in_(in),
      ask_bot_(std::move(ask_bot)),
      lookup_(std::move(lookup)),
      plugins_dir_(plugins::user_plugin_folder(config.bot.data_dir)),
      work_dir_(config.bot.data_dir / "plugin-install") {}

int Installer::run(const std::function<void()>& body) {
    try {
        InstallLock lock(work_dir_);
        bot_failed_ = false;
        body();
        return bot_failed_ ? 1 : 0;
    } catch (const ShareError& e) {
        out_ << e.what() << "\n";
    } catch (const plugins::LockError& e) {
        out_ << e.what() << "\n";
    } catch (const std::exception& e) {
        out_ << "failed: " << e.what() << "\n";
    }
    return 1;
}

int Installer::install(const std::string& source, const InstallOptions& options) {
    return run([&] { install_from(parse_source(source), options, nullptr); });
}

int Installer::update(const std::string& id, const InstallOptions& options) {
    return run([&] {
        const auto entries = plugins::read_lock(plugins::lock_file(config_.bot.data_dir));
        const auto* entry = plugins::find_entry(entries, id);
        if (!entry)
            throw ShareError("'" + id +
                             "' was not installed with `meshbot plugin install` (see `meshbot "
                             "plugin list`)");
        PluginSource source;
        if (!entry->index.empty()) {
            source.kind = PluginSource::Kind::index;
            source.location = id;
            source.ref = options.to;      // empty: the newest version the index lists
            source.index = entry->index;  // that index only, never another that lists it
        } else if (entry->kind == "git") {
            source = parse_source(entry->source);
            // Never to a ref nobody asked for: the recorded one (a branch moves on, a tag
            // stays), or the one given with --to.
            source.ref = options.to.empty() ? entry->ref : options.to;
        } else {
            source = parse_source(options.to.empty() ? entry->source : options.to);
            if (source.kind != PluginSource::Kind::package &&
                source.kind != PluginSource::Kind::folder)
                throw ShareError("'" + id + "' came from a " + entry->kind +
                                 "; --to names another package file or folder");
        }
        const LockEntry recorded = *entry;
        install_from(source, options, &recorded);
    });
}

void Installer::install_from(const PluginSource& given, const InstallOptions& options,
                             const LockEntry* replacing) {
    PluginSource source = given;
    IndexedSource indexed;
    if (source.kind == PluginSource::Kind::index) {
        if (!lookup_) throw ShareError("no plugin index is configured");
        indexed = lookup_(source);
        const bool pinned = indexed.source.kind == PluginSource::Kind::git
                                ? !indexed.expected_commit.empty()
                                : indexed.source.kind == PluginSource::Kind::package &&
                                      !indexed.expected_sha256.empty();
        if (!pinned)
            throw ShareError("refused: the index " + indexed.index + " does not pin " +
                             source.location + " to a git commit or a package digest");
        source = indexed.source;
    }
    check_trusted(source, config_.plugins.trusted_sources, config_.source);
    ScratchFolder scratch(work_dir_);
    fs::path stage = scratch.path() / "stage";
    LockEntry entry;
    entry.kind = to_string(source.kind);
    entry.source = source.location;
    entry.ref = source.ref;
    entry.index = indexed.index;
    switch (source.kind) {
        case PluginSource::Kind::package: {
            const fs::path package = source.location;
            if (!looks_like_package(package))
                throw ShareError("refused: " + package.string() +
                                 " is not a plugin package (a .meshbot-plugin archive)");
            std::string why;
            const auto digest = plugins::sha256_of_file(package, why);
            if (!digest) throw ShareError(why);
            if (!indexed.expected_sha256.empty() && *digest != indexed.expected_sha256)
                throw ShareError("refused: checksum mismatch for " + package.string() +
                                 ": the index " + indexed.index + " says " +
                                 indexed.expected_sha256 + ", the package is " + *digest);
            stage = unpack_package(package, scratch.path() / "unpacked");
            verify_checksums(stage, true);
            entry.package_sha256 = *digest;
            break;
        }
        case PluginSource::Kind::folder:
            copy_plugin_folder(source.location, stage);
            verify_checksums(stage, false);
            break;
        case PluginSource::Kind::git: {
            out_ << "fetching " << source.location
                 << (source.ref.empty() ? "" : " at " + source.ref) << "\n";
            const auto checkout = fetch_git(source.location, source.ref, scratch.path() / "src");
            if (!indexed.expected_commit.empty() && checkout.commit != indexed.expected_commit)
                throw ShareError("refused: " + source.location + " at " + source.ref +
                                 " is commit " + checkout.commit + ", but the index " +
                                 indexed.index + " pins " + indexed.expected_commit);
            if (replacing && replacing->commit == checkout.commit) {
                out_ << replacing->id << " " << replacing->version << " is up to date ("
                     << (source.ref.empty() ? "the default branch" : source.ref) << " is still "
                     << short_commit(checkout.commit) << ")\n";
                return;
            }
            const auto sdk = find_sdk(options.sdk);
            const auto tree = checkout.folder / source.subdir;
            out_ << "building commit " << short_commit(checkout.commit) << " against the SDK in "
                 << sdk.string() << "\n";
            const auto built = build_plugin(tree, scratch.path() / "build", sdk, options.plugin);
            copy_plugin_folder(built, stage);
            copy_documents(tree, stage);
            if (tree != checkout.folder) copy_documents(checkout.folder, stage);
            entry.commit = checkout.commit;
            break;
        }
        case PluginSource::Kind::index:
            break;  // resolved above
    }

    const StagedPlugin staged = check_staged(stage);
    const auto& m = staged.manifest;
    if (source.kind == PluginSource::Kind::package && stage.filename() != m.id)
        throw ShareError("refused: the package's folder is '" + stage.filename().string() +
                         "' but its plugin.toml says id = \"" + m.id + "\"");
    if (!indexed.index.empty() && (m.id != given.location || m.version != indexed.expected_version))
        throw ShareError("refused: the index " + indexed.index + " lists " + given.location + " " +
                         indexed.expected_version + ", but that source holds " + m.id + " " +
                         printable(m.version, 40));
    const auto lock = plugins::lock_file(config_.bot.data_dir);
    auto entries = plugins::read_lock(lock);
    if (replacing && m.id != replacing->id)
        throw ShareError("refused: " + source.location + " now holds plugin '" + m.id + "', not '" +
                         replacing->id + "'");
    if (!replacing) {
        if (const auto* current = plugins::find_entry(entries, m.id))
            throw ShareError("'" + m.id + "' " + current->version + " is already installed (from " +
                             current->source + "); use `meshbot plugin update " + m.id + "`");
        std::error_code ec;
        if (fs::exists(plugins_dir_ / m.id, ec))
            throw ShareError("refused: " + (plugins_dir_ / m.id).string() +
                             " exists but was not installed by `meshbot plugin install`; move "
                             "it away first");
    } else if (staged.library_sha256 == replacing->sha256 && m.version == replacing->version) {
        out_ << m.id << " " << m.version << " is up to date (the same library)\n";
        return;
    }
    for (const auto& w : staged.warnings)
        out_ << "warning: " << printable(w, 400) << "\n";
    // The operator's table against this version's schema: the bot would refuse the plugin.
    const auto table = config_.plugins.settings.find(m.id);
    const auto check = plugins::validate_plugin_table(
        m.id, m.config_schema, table == config_.plugins.settings.end() ? nullptr : &table->second);
    for (const auto& e : check.errors)
        out_ << "warning: " << e << " (the bot will not load " << m.id << " " << m.version
             << " until this is fixed)\n";

    // What the manifest says is the author's text: shown without terminal escapes, so that it
    // cannot redraw what the operator reads before granting anything.
    out_ << "plugin " << m.id << " " << m.version
         << (m.name.empty() ? "" : " (" + printable(m.name, 80) + ")")
         << (replacing ? ", replacing " + replacing->version : "") << "\n";
    if (!m.description.empty()) out_ << "  " << printable(m.description, 200) << "\n";
    out_ << "  from " << entry.kind << " " << entry.source
         << (entry.ref.empty() ? "" : " at " + entry.ref)
         << (entry.commit.empty() ? "" : " (commit " + short_commit(entry.commit) + ")") << "\n";
    out_ << "  library " << m.library << " sha256 " << staged.library_sha256 << "\n";
    entry.id = m.id;
    entry.version = m.version;
    entry.sha256 = staged.library_sha256;
    // Grants carry over only from the same origin; a plugin from elsewhere is asked afresh.
    const bool same_origin = replacing && replacing->kind == entry.kind &&
                             replacing->source == entry.source && replacing->index == entry.index;
    entry.granted = grant(m.permissions, options, same_origin ? replacing : nullptr, m.id);
    warn_about_shadows(m.id);
    if (options.dry_run) {
        out_ << "dry run: " << m.id << " " << m.version << " passed every check; nothing was "
             << (replacing ? "changed" : "installed") << "\n";
        return;
    }

    std::error_code ec;
    fs::create_directories(plugins_dir_, ec);
    const auto target = plugins_dir_ / m.id;
    const auto previous = scratch.path() / "previous";
    const bool had_previous = fs::exists(target, ec);
    // An update swaps the two folders in one step, so a bot scanning meanwhile finds the old
    // version or the new one, never none; the old one ends in `stage`.
    const bool swapped = had_previous && ::renameat2(AT_FDCWD, stage.c_str(), AT_FDCWD,
                                                     target.c_str(), RENAME_EXCHANGE) == 0;
    if (had_previous && !swapped) move_folder(target, previous);
    try {
        if (!swapped) move_folder(stage, target);
        entry.installed_at = plugins::utc_timestamp();
        std::erase_if(entries, [&](const LockEntry& e) { return e.id == m.id; });
        entries.push_back(entry);
        plugins::write_lock(lock, entries);
    } catch (...) {
        if (swapped) {
            ::renameat2(AT_FDCWD, stage.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE);
        } else {
            fs::remove_all(target, ec);
            if (had_previous) fs::rename(previous, target, ec);
        }
        throw;
    }
    out_ << (replacing ? "updated " : "installed ") << m.id << " " << m.version << " in "
         << target.string() << "\n";
    tell_bot(m.id, replacing ? "updated" : "installed");
}

std::vector<std::string> Installer::grant(const std::vector<std::string>& asked,
                                          const InstallOptions& options, const LockEntry* earlier,
                                          const std::string& id) {
    std::vector<std::string> granted;
    std::vector<std::string> missing;
    if (!asked.empty()) out_ << "  asks for:\n";
    for (const auto& permission : asked) {
        out_ << "    " << describe_permission(permission) << "\n";
        bool ok = contains(options.grants, permission) ||
                  (earlier && contains(earlier->granted, permission));
        if (!ok && options.interactive && !options.dry_run) {
            out_ << "grant " << id << " the " << permission << " permission? [y/N] " << std::flush;
            std::string answer;
            std::getline(in_, answer);
            ok = answer == "y" || answer == "Y" || answer == "yes";
        }
        (ok ? granted : missing).push_back(permission);
    }
    for (const auto& extra : options.grants) {
        if (!contains(asked, extra))
            out_ << "note: " << id << " does not ask for '" << extra << "'; nothing granted\n";
    }
    if (!missing.empty()) {
        std::string flags;
        for (const auto& p : missing)
            flags += " --grant " + p;
        if (options.dry_run) {
            out_ << "  would need:" << flags << "\n";
            return granted;
        }
        throw ShareError("refused: " + id + " asks for permission it was not granted (" +
                         missing.front() + (missing.size() > 1 ? ", ..." : "") +
                         "). Read its source, then grant it explicitly:" + flags);
    }
    return granted;
}

void Installer::warn_about_shadows(const std::string& id) {
    const auto& p = config_.plugins;
    if (!p.default_dirs)
        out_ << "warning: [plugins] default_dirs = false in " << config_.source.string()
             << ": the bot does not search " << plugins_dir_.string()
             << "; add it to [plugins] dirs\n";
    std::error_code ec;
    for (const auto& folder : plugins::search_folders(p, config_.bot.data_dir)) {
        if (folder.path == plugins_dir_ || !fs::exists(folder.path / id / "plugin.toml", ec))
            continue;
        if (folder.configured)
            out_ << "warning: [plugins] dirs has its own '" << id << "' in " << folder.path.string()
                 << ", which the bot loads instead\n";
        else
            out_ << "note: this " << id << " takes the place of the one bundled with meshbot ("
                 << (folder.path / id).string() << ")\n";
    }
    if (p.enabled && !contains(*p.enabled, id))
        out_ << "warning: [plugins] enabled in " << config_.source.string() << " does not list '"
             << id << "': the bot will not load it until it does\n";
    const auto settings = p.settings.find(id);
    if (settings != p.settings.end() && settings->second.enabled == false)
        out_ << "warning: " << settings->second.where << ": [plugins." << id
             << "] enabled = false: the bot will not load it\n";
}

void Installer::tell_bot(const std::string& id, const std::string& done) {
    if (!ask_bot_) return;
    const auto answer = ask_bot_("plugin reload " + id);
    if (!answer) {
        out_ << "the bot is not running; it picks up " << id << " when it starts\n";
        return;
    }
    if (answer->rfind("ok: ", 0) == 0) {
        out_ << "the running bot: " << answer->substr(4) << "\n";
        return;
    }
    const auto colon = answer->find(": ");
    out_ << id << " was " << done << ", but the running bot did not load it: "
         << (colon == std::string::npos ? *answer : answer->substr(colon + 2)) << "\n";
    bot_failed_ = true;
}

int Installer::remove(const std::string& id, const InstallOptions& options) {
    return run([&] {
        const auto lock = plugins::lock_file(config_.bot.data_dir);
        auto entries = plugins::read_lock(lock);
        if (!plugins::find_entry(entries, id)) {
            std::error_code ec;
            const auto bundled = plugins::bundled_plugin_folder();
            if (!bundled.empty() && fs::exists(bundled / id / "plugin.toml", ec))
                throw ShareError("'" + id + "' comes with meshbot and cannot be removed; turn it " +
                                 "off with [plugins." + id + "] enabled = false");
            throw ShareError("'" + id +
                             "' was not installed with `meshbot plugin install` (see `meshbot "
                             "plugin list`)");
        }
        const auto target = plugins_dir_ / id;
        if (options.dry_run) {
            out_ << "dry run: would remove " << target.string() << " and its entry in "
                 << lock.string() << "; nothing was changed\n";
            return;
        }
        ScratchFolder scratch(work_dir_);
        std::error_code ec;
        const bool present = fs::exists(target, ec);
        if (present) move_folder(target, scratch.path() / id);
        try {
            std::erase_if(entries, [&](const LockEntry& e) { return e.id == id; });
            plugins::write_lock(lock, entries);
        } catch (...) {
            if (present) fs::rename(scratch.path() / id, target, ec);
            throw;
        }
        out_ << "removed " << id << " (" << target.string() << ")\n";
        tell_bot(id, "removed");
    });
}

int Installer::list() {
    return run([&] {
        const auto lock = plugins::lock_file(config_.bot.data_dir);
        const auto entries = plugins::read_lock(lock);
        if (entries.empty()) {
            out_ << "no plugins installed with `meshbot plugin install` (" << lock.string()
                 << ")\n";
            return;
        }
        for (const auto& e : entries) {
            std::string why;
            std::string state = "ok";
            std::error_code ec;
            const auto manifest = plugins_dir_ / e.id / "plugin.toml";
            if (!fs::exists(manifest, ec)) {
                state = "MISSING";
            } else {
                try {
                    const auto m = plugins::load_manifest(manifest).manifest;
                    const auto digest = plugins::sha256_of_file(m.library_path(), why);
                    if (!digest || *digest != e.sha256) state = "MODIFIED";
                } catch (const std::exception&) {
                    state = "MODIFIED";
                }
            }
            out_ << e.id << " " << e.version << "  " << state << "\n"
                 << "  from " << e.kind << " " << e.source << (e.ref.empty() ? "" : " at " + e.ref)
                 << (e.commit.empty() ? "" : " (commit " + short_commit(e.commit) + ")")
                 << (e.index.empty() ? "" : " via index " + e.index) << "\n"
                 << "  installed " << e.installed_at << ", sha256 " << e.sha256 << "\n";
            if (!e.granted.empty()) {
                std::string granted;
                for (const auto& g : e.granted)
                    granted += (granted.empty() ? "" : ", ") + g;
                out_ << "  granted " << granted << "\n";
            }
        }
    });
}

}  // namespace meshbot::share
