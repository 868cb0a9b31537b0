#include "plugin_host/plugin_lock.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <sstream>

#include "config/config_reader.hpp"
#include "config/text_file.hpp"
#include "plugin_host/file_digest.hpp"
#include "plugin_host/plugin_folders.hpp"

namespace meshbot::plugins {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kFormat = 1;

std::string where(const fs::path& file, const toml::node& node) {
    return config::detail::position(file.string(), node.source().begin);
}

std::string text(const fs::path& file, const toml::table& table, const char* key, bool required) {
    const auto* node = table.get(key);
    if (!node) {
        if (required) throw LockError(where(file, table) + ": plugin entry without '" + key + "'");
        return {};
    }
    const auto* value = node->as_string();
    if (!value) throw LockError(where(file, *node) + ": '" + key + "' must be a string");
    return value->get();
}

}  // namespace

fs::path lock_file(const fs::path& data_dir) {
    return data_dir / "plugins.lock";
}

std::vector<LockEntry> read_lock(const fs::path& file) {
    int error = 0;
    const auto content = config::read_text_file(file, error);
    if (!content) {
        if (error == ENOENT) return {};
        throw LockError("cannot read " + file.string() + ": " + std::strerror(error));
    }
    toml::table root;
    try {
        root = toml::parse(*content, file.string());
    } catch (const toml::parse_error& e) {
        throw LockError(config::detail::position(file.string(), e.source().begin) + ": " +
                        std::string(e.description()));
    }
    const auto format = root["format"].value<std::int64_t>();
    if (format && *format > kFormat)
        throw LockError(file.string() + ": written by a newer meshbot (format " +
                        std::to_string(*format) + ")");
    std::vector<LockEntry> entries;
    const auto* plugins = root.get("plugin");
    if (!plugins) return entries;
    const auto* array = plugins->as_array();
    if (!array) throw LockError(where(file, *plugins) + ": 'plugin' must be an array of tables");
    for (const auto& node : *array) {
        const auto* table = node.as_table();
        if (!table) throw LockError(where(file, node) + ": a plugin entry must be a table");
        LockEntry entry;
        entry.id = text(file, *table, "id", true);
        entry.version = text(file, *table, "version", true);
        entry.kind = text(file, *table, "kind", true);
        entry.source = text(file, *table, "source", true);
        entry.ref = text(file, *table, "ref", false);
        entry.commit = text(file, *table, "commit", false);
        entry.sha256 = text(file, *table, "sha256", true);
        entry.package_sha256 = text(file, *table, "package_sha256", false);
        entry.index = text(file, *table, "index", false);
        entry.installed_at = text(file, *table, "installed_at", false);
        if (const auto* granted = table->get_as<toml::array>("granted")) {
            for (const auto& g : *granted) {
                const auto* name = g.as_string();
                if (!name) throw LockError(where(file, g) + ": 'granted' holds permission names");
                entry.granted.push_back(name->get());
            }
        }
        entries.push_back(std::move(entry));
    }
    return entries;
}

void write_lock(const fs::path& file, std::vector<LockEntry> entries) {
    std::sort(entries.begin(), entries.end(),
              [](const LockEntry& a, const LockEntry& b) { return a.id < b.id; });
    toml::array plugins;
    for (const auto& e : entries) {
        toml::table t;
        t.insert("id", e.id);
        t.insert("version", e.version);
        t.insert("kind", e.kind);
        t.insert("source", e.source);
        const auto optional = [&](const char* key, const std::string& value) {
            if (!value.empty()) t.insert(key, value);
        };
        optional("ref", e.ref);
        optional("commit", e.commit);
        t.insert("sha256", e.sha256);
        optional("package_sha256", e.package_sha256);
        optional("index", e.index);
        optional("installed_at", e.installed_at);
        toml::array granted;
        for (const auto& g : e.granted)
            granted.push_back(g);
        t.insert("granted", std::move(granted));
        plugins.push_back(std::move(t));
    }
    toml::table root;
    root.insert("format", kFormat);
    root.insert("plugin", std::move(plugins));
    std::ostringstream out;
    out << "# The plugins `meshbot plugin install` put into this folder's plugins/, with where\n"
           "# each came from. Written by meshbot; use `meshbot plugin remove|update` to change.\n"
        << toml::toml_formatter(root) << "\n";
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (!config::write_file_durably(file, out.str()))
        throw LockError("cannot write " + file.string() + ": " + std::strerror(errno));
}

const LockEntry* find_entry(const std::vector<LockEntry>& entries, const std::string& id) {
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const LockEntry& e) { return e.id == id; });
    return it == entries.end() ? nullptr : &*it;
}

std::vector<std::string> granted_at_install(const fs::path& data_dir, const std::string& id,
                                            const fs::path& library, std::string& problem) {
    std::error_code ec;
    const auto installed = fs::weakly_canonical(user_plugin_folder(data_dir) / id, ec);
    if (ec || fs::weakly_canonical(library.parent_path(), ec) != installed) return {};
    try {
        const auto entries = read_lock(lock_file(data_dir));
        const auto* entry = find_entry(entries, id);
        if (!entry || entry->granted.empty()) return {};
        std::string error;
        const auto digest = sha256_of_file(library, error);
        if (!digest || *digest != entry->sha256) {
            problem = "its library is not the one installed (" + lock_file(data_dir).string() +
                      " records another sha256), so the permissions granted at install do "
                      "not apply";
            return {};
        }
        return entry->granted;
    } catch (const LockError& e) {
        problem = e.what();
        return {};
    }
}

std::string utc_timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return out;
}

}  // namespace meshbot::plugins
