#include "app/plugin_info.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "config/config_reader.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "plugin_host/plugin_folders.hpp"
#include "plugin_host/plugin_lock.hpp"

namespace meshbot::app {
namespace {

using plugins::ConfigKeySpec;
using plugins::Manifest;
using plugins::toml_text;

std::string or_none(const std::string& text) {
    return text.empty() ? "-" : text;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : separator) + item;
    return out;
}

// "0 to 7", "at least 1", "one of "a", "b"", or "".
std::string limits(const ConfigKeySpec& spec) {
    std::vector<std::string> parts;
    const std::string lo = spec.min() ? toml_text(*spec.min()) : "";
    const std::string hi = spec.max() ? toml_text(*spec.max()) : "";
    if (!lo.empty() && !hi.empty())
        parts.push_back(lo + " to " + hi);
    else if (!lo.empty())
        parts.push_back("at least " + lo);
    else if (!hi.empty())
        parts.push_back("at most " + hi);
    if (const auto* choices = spec.one_of()) {
        std::vector<std::string> names;
        for (const auto& choice : *choices)
            names.push_back(toml_text(choice));
        parts.push_back("one of " + joined(names, ", "));
    }
    return joined(parts, ", ");
}

void print_manifest(const Manifest& m) {
    const auto line = [](const char* label, const std::string& value) {
        std::printf("%-13s%s\n", label, value.c_str());
    };
    line("id", m.id);
    line("name", m.name);
    line("version", m.version);
    line("description", or_none(m.description));
    line("license", or_none(m.license));
    line("authors", or_none(joined(m.authors, ", ")));
    line("homepage", or_none(m.homepage));
    line("source", or_none(m.source));
    line("api", std::to_string(m.api_major) + "." + std::to_string(m.api_minor));
    line("min_meshbot", or_none(m.min_meshbot));
    line("permissions", m.permissions.empty() ? "none" : joined(m.permissions, ", "));
    line("folder", m.dir.string());
}

// Where an installed plugin came from (plugins.lock), when `meshbot plugin install` put it there.
void print_provenance(const config::AppConfig& config, const Manifest& m) {
    try {
        const auto entries = plugins::read_lock(plugins::lock_file(config.bot.data_dir));
        const auto* entry = plugins::find_entry(entries, m.id);
        if (!entry || m.dir != plugins::user_plugin_folder(config.bot.data_dir) / m.id) return;
        std::printf("%-13s%s %s%s%s, %s\n", "installed", entry->kind.c_str(), entry->source.c_str(),
                    entry->ref.empty() ? "" : (" at " + entry->ref).c_str(),
                    entry->commit.empty() ? "" : (" (commit " + entry->commit + ")").c_str(),
                    entry->installed_at.c_str());
        if (!entry->granted.empty())
            std::printf("%-13s%s\n", "granted", joined(entry->granted, ", ").c_str());
    } catch (const plugins::LockError& e) {
        std::fprintf(stderr, "meshbot: warning: %s\n", e.what());
    }
}

// The keys of [plugins.<id>] with the schema: each with its rules, then the operator's value.
void print_schema(const Manifest& m, const config::PluginSettings* settings) {
    toml::table table;
    if (settings) {
        try {
            table = toml::parse(settings->table_toml);
        } catch (const toml::parse_error&) {  // the loader wrote it; shown as unset then
        }
    }
    // Only asked for keys the table holds, so `settings` is there.
    const auto where = [&](const std::string& key) {
        if (settings == nullptr) return std::string();
        const auto found = settings->positions.find(key);
        return found == settings->positions.end() ? settings->where : found->second;
    };
    if (m.config_schema.empty()) {
        std::printf("\nconfig       no schema: the plugin reads [plugins.%s] itself\n",
                    m.id.c_str());
        return;
    }
    std::printf("\nconfig [plugins.%s]\n", m.id.c_str());
    for (const auto& spec : m.config_schema) {
        std::string rules = spec.type.text();
        if (spec.type.kind == plugins::ValueKind::duration) rules += " (seconds)";
        if (const auto* value = spec.default_value()) rules += ", default " + toml_text(*value);
        if (const auto range = limits(spec); !range.empty()) rules += ", " + range;
        std::printf("  %s\n      %s\n      %s\n", spec.key.c_str(), rules.c_str(),
                    spec.help.c_str());
        if (const toml::node* value = table.get(spec.key))
            std::printf("      set to %s at %s\n", toml_text(*value).c_str(),
                        where(spec.key).c_str());
    }
    for (const auto& [key, value] : table) {
        const std::string name(key.str());
        const bool host_key =
            std::find(std::begin(config::host_plugin_keys), std::end(config::host_plugin_keys),
                      name) != std::end(config::host_plugin_keys);
        const bool declared = std::any_of(m.config_schema.begin(), m.config_schema.end(),
                                          [&](const ConfigKeySpec& s) { return s.key == name; });
        if (!host_key && !declared)
            std::printf("  %s = %s at %s: not in the schema\n", name.c_str(),
                        toml_text(value).c_str(), where(name).c_str());
    }
}

}  // namespace

int show_plugin_info(const config::AppConfig& config, const std::string& id) {
    const auto found = plugins::find_plugins(config);
    const auto plugin = std::find_if(found.begin(), found.end(),
                                     [&](const plugins::FoundPlugin& f) { return f.id() == id; });
    if (plugin == found.end()) {
        std::vector<std::string> ids;
        for (const auto& f : found)
            ids.push_back(f.id());
        std::vector<std::string> folders;
        for (const auto& folder : plugins::search_folders(config.plugins, config.bot.data_dir))
            folders.push_back(folder.path.string());
        std::string message = "meshbot: no plugin '" + id + "' found in " +
                              (folders.empty() ? "no folder" : joined(folders, ", "));
        if (auto hint = config::detail::close_match(id, ids); !hint.empty())
            message += " (did you mean '" + hint + "'?)";
        std::fprintf(stderr, "%s\n", message.c_str());
        return 1;
    }
    if (!plugin->manifest) {
        std::fprintf(stderr, "meshbot: plugin %s: %s\n", id.c_str(), plugin->error.c_str());
        return 1;
    }
    for (const auto& w : plugin->warnings)
        std::fprintf(stderr, "meshbot: warning: %s\n", w.c_str());
    print_manifest(*plugin->manifest);
    print_provenance(config, *plugin->manifest);
    const auto settings = config.plugins.settings.find(id);
    print_schema(*plugin->manifest,
                 settings == config.plugins.settings.end() ? nullptr : &settings->second);
    return 0;
}

}  // namespace meshbot::app
