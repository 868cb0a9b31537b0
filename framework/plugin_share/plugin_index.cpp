#include "plugin_share/plugin_index.hpp"

#include <sys/utsname.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "config/config_reader.hpp"
#include "config/text_file.hpp"
#include "plugin_host/manifest.hpp"
#include "plugin_share/git_build.hpp"
#include "plugin_share/install_lock.hpp"
#include "plugin_share/plugin_source.hpp"
#include "plugin_share/share_error.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;

namespace {

std::string at(const fs::path& file, const toml::node& node) {
    return config::detail::position(file.string(), node.source().begin);
}

bool all_of_chars(std::string_view text, std::string_view allowed) {
    return text.find_first_not_of(allowed) == std::string_view::npos;
}

// A string field; `check` (when given) says whether the value is well formed.
std::string field(const fs::path& file, const toml::table& table, const char* key, bool required,
                  bool (*check)(std::string_view) = nullptr, const char* shape = "") {
    const auto* node = table.get(key);
    if (!node) {
        if (required) throw ShareError(at(file, table) + ": '" + key + "' is missing");
        return {};
    }
    const auto* value = node->as_string();
    if (!value) throw ShareError(at(file, *node) + ": '" + key + "' must be a string");
    if (check && !check(value->get()))
        throw ShareError(at(file, *node) + ": '" + key + "' must be " + shape + ", got \"" +
                         value->get() + "\"");
    return value->get();
}

bool is_id(std::string_view t) {
    return !t.empty() && t.size() <= config::max_plugin_id_length &&
           std::all_of(t.begin(), t.end(), config::is_plugin_id_char);
}
bool is_commit(std::string_view t) {
    return t.size() == 40 && all_of_chars(t, "0123456789abcdef");
}
bool is_sha256(std::string_view t) {
    return t.size() == 64 && all_of_chars(t, "0123456789abcdef");
}
bool is_version(std::string_view t) {
    return !t.empty() && std::isdigit(static_cast<unsigned char>(t.front())) &&
           std::count(t.begin(), t.end(), '.') >= 2;
}

std::string machine() {
    utsname u{};
    return ::uname(&u) == 0 ? u.machine : "";
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

PluginIndex read_index(const fs::path& file) {
    int error = 0;
    const auto text = config::read_text_file(file, error);
    if (!text) throw ShareError("cannot read " + file.string() + ": " + std::strerror(error));
    toml::table root;
    try {
        root = toml::parse(*text, file.string());
    } catch (const toml::parse_error& e) {
        throw ShareError(config::detail::position(file.string(), e.source().begin) + ": " +
                         std::string(e.description()));
    }
    PluginIndex index;
    index.folder = file.parent_path();
    index.name = field(file, root, "name", true, is_id, "an id ([a-z0-9_-], at most 32)");
    const auto* plugins = root.get_as<toml::array>("plugin");
    if (!plugins) return index;
    for (const auto& node : *plugins) {
        const auto* t = node.as_table();
        if (!t) throw ShareError(at(file, node) + ": each [[plugin]] must be a table");
        IndexEntry entry;
        entry.id = field(file, *t, "id", true, is_id, "a plugin id");
        entry.description = field(file, *t, "description", true);
        entry.license = field(file, *t, "license", true);
        entry.source = field(file, *t, "source", false);
        entry.subdir = field(file, *t, "subdir", false);
        if (entry.subdir.find("..") != std::string::npos ||
            (!entry.subdir.empty() && entry.subdir.front() == '/'))
            throw ShareError(at(file, *t) + ": 'subdir' must be a folder inside the repository");
        const auto* versions = t->get_as<toml::array>("version");
        if (!versions || versions->empty())
            throw ShareError(at(file, *t) + ": plugin '" + entry.id +
                             "' lists no [[plugin.version]]");
        for (const auto& vnode : *versions) {
            const auto* v = vnode.as_table();
            if (!v) throw ShareError(at(file, vnode) + ": each [[plugin.version]] must be a table");
            IndexVersion version;
            version.version = field(file, *v, "version", true, is_version, "MAJOR.MINOR.PATCH");
            version.ref = field(file, *v, "ref", false);
            version.commit = field(file, *v, "commit", false, is_commit, "40 hex digits");
            version.package = field(file, *v, "package", false);
            version.sha256 = field(file, *v, "sha256", false, is_sha256, "64 hex digits");
            version.arch = field(file, *v, "arch", false);
            if (version.commit.empty() == version.package.empty())
                throw ShareError(at(file, *v) +
                                 ": a version pins either a git 'commit' or a "
                                 "'package' with its 'sha256'");
            if (!version.commit.empty() && entry.source.empty())
                throw ShareError(at(file, *t) + ": plugin '" + entry.id +
                                 "' pins commits but names no 'source' repository");
            if (!version.package.empty() && version.sha256.empty())
                throw ShareError(at(file, *v) + ": a package needs its 'sha256'");
            entry.versions.push_back(std::move(version));
        }
        index.plugins.push_back(std::move(entry));
    }
    return index;
}

IndexSet::IndexSet(const config::AppConfig& config)
    : config_(config),
      registry_(config.bot.data_dir / "indexes.toml"),
      copies_(config.bot.data_dir / "indexes") {}

std::vector<PluginIndex> IndexSet::load() const {
    std::vector<PluginIndex> out;
    int error = 0;
    const auto text = config::read_text_file(registry_, error);
    if (!text) return out;
    toml::table root;
    try {
        root = toml::parse(*text, registry_.string());
    } catch (const toml::parse_error& e) {
        throw ShareError(registry_.string() + ": " + std::string(e.description()));
    }
    if (const auto* list = root.get_as<toml::array>("index")) {
        for (const auto& node : *list) {
            const auto* t = node.as_table();
            const auto* folder = t ? t->get_as<std::string>("folder") : nullptr;
            if (!folder) continue;
            out.push_back(read_index(fs::path(folder->get()) / kIndexFile));
            if (const auto* source = t->get_as<std::string>("source"))
                out.back().source = source->get();
        }
    }
    return out;
}

std::string IndexSet::add(const std::string& text) {
    const auto source = parse_source(text);
    InstallLock lock(config_.bot.data_dir / "plugin-install");
    const auto known = load();
    // One name, one index: a second source under a known name would take over what the lock
    // file records as installed through the first.
    const auto refuse_clash = [&](const std::string& name) {
        for (const auto& k : known) {
            if (k.name == name && !k.source.empty() && k.source != source.location)
                throw ShareError("refused: an index named " + name + " is already added from " +
                                 k.source + " (drop it from " + registry_.string() + " first)");
        }
    };
    fs::path folder;
    std::error_code ec;
    if (source.kind == PluginSource::Kind::folder) {
        folder = source.location;
    } else if (source.kind == PluginSource::Kind::git) {
        check_trusted(source, config_.plugins.trusted_sources, config_.source);
        const auto scratch = make_scratch_folder(config_.bot.data_dir / "plugin-install", "work-");
        const auto fresh = scratch / "index";
        fetch_git(source.location, source.ref, fresh);
        const auto name = read_index(fresh / kIndexFile).name;
        refuse_clash(name);
        folder = copies_ / name;
        fs::create_directories(copies_, ec);
        // The old copy stays until the new one is in place (and goes with the scratch folder).
        if (fs::exists(folder, ec)) fs::rename(folder, scratch / "previous", ec);
        fs::rename(fresh, folder, ec);
        if (ec) {
            fs::rename(scratch / "previous", folder, ec);
            fs::remove_all(scratch, ec);
            throw ShareError("cannot keep the index in " + folder.string());
        }
        fs::remove_all(scratch, ec);
    } else {
        throw ShareError("'" + text + "': an index is a folder or a git repository holding " +
                         kIndexFile);
    }
    const auto index = read_index(folder / kIndexFile);
    refuse_clash(index.name);
    toml::array list;
    for (const auto& k : known) {
        if (k.name == index.name) continue;
        list.push_back(
            toml::table{{"name", k.name}, {"source", k.source}, {"folder", k.folder.string()}});
    }
    list.push_back(toml::table{
        {"name", index.name}, {"source", source.location}, {"folder", folder.string()}});
    std::ostringstream out;
    out << "# The plugin indexes `meshbot plugin index add` added; searched in this order.\n"
        << toml::toml_formatter(toml::table{{"index", std::move(list)}}) << "\n";
    fs::create_directories(registry_.parent_path(), ec);
    if (!config::write_file_durably(registry_, out.str()))
        throw ShareError("cannot write " + registry_.string());
    return index.name;
}

std::vector<std::pair<std::string, IndexEntry>> IndexSet::search(
    const std::vector<std::string>& words) const {
    std::vector<std::pair<std::string, IndexEntry>> found;
    for (const auto& index : load()) {
        for (const auto& entry : index.plugins) {
            const auto haystack = lower(entry.id + " " + entry.description);
            const bool all = std::all_of(words.begin(), words.end(), [&](const std::string& w) {
                return haystack.find(lower(w)) != std::string::npos;
            });
            if (all) found.emplace_back(index.name, entry);
        }
    }
    return found;
}

IndexedSource IndexSet::lookup(const PluginSource& wanted) const {
    const auto indexes = load();
    if (indexes.empty())
        throw ShareError("'" + wanted.location +
                         "' is no file, folder or git URL, and no plugin index is added (see "
                         "`meshbot plugin index add SOURCE`)");
    const auto here = machine();
    for (const auto& index : indexes) {
        if (!wanted.index.empty() && index.name != wanted.index) continue;
        for (const auto& entry : index.plugins) {
            if (entry.id != wanted.location) continue;
            const IndexVersion* best = nullptr;
            for (const auto& v : entry.versions) {
                if (!v.package.empty() && !v.arch.empty() && v.arch != here) continue;
                if (!wanted.ref.empty() && v.version != wanted.ref) continue;
                if (!best || plugins::version_older(best->version, v.version)) best = &v;
            }
            if (!best)
                throw ShareError("the index " + index.name + " has no " + wanted.location +
                                 (wanted.ref.empty() ? "" : " " + wanted.ref) + " for " + here);
            IndexedSource out;
            out.index = index.name;
            out.expected_version = best->version;
            if (!best->commit.empty()) {
                out.source = parse_source(entry.source);
                if (out.source.kind != PluginSource::Kind::git)
                    throw ShareError("the index " + index.name + " gives " + entry.id +
                                     " the source '" + entry.source +
                                     "', which is no git URL (file://, https://, ssh://)");
                out.source.ref = best->commit;
                out.source.subdir = entry.subdir;
                out.expected_commit = best->commit;
            } else {
                // A package lies inside the index's folder: an index cannot point at any file
                // on the operator's disk, nor at a folder that no digest covers.
                std::error_code ec;
                const auto root = fs::weakly_canonical(index.folder, ec);
                const auto package = fs::weakly_canonical(index.folder / best->package, ec);
                const auto inside = package.lexically_relative(root);
                if (ec || inside.empty() || *inside.begin() == ".." ||
                    !fs::is_regular_file(fs::symlink_status(package, ec)))
                    throw ShareError("the index " + index.name + " lists " + entry.id + " " +
                                     best->version + " as '" + best->package +
                                     "', which is no package file inside " + root.string());
                out.source = parse_source(package.string());
                out.expected_sha256 = best->sha256;
            }
            return out;
        }
    }
    throw ShareError((wanted.index.empty() ? std::string("no added index lists")
                                           : "the index " + wanted.index + " no longer lists") +
                     " a plugin '" + wanted.location + "' (try `meshbot plugin search WORDS`)");
}

}  // namespace meshbot::share
