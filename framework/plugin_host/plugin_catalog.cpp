#include "plugin_host/plugin_catalog.hpp"

#include <algorithm>
#include <set>
#include <system_error>

#include "plugin_host/plugin_folders.hpp"

namespace meshbot::plugins {

namespace fs = std::filesystem;

std::vector<FoundPlugin> find_plugins(const config::AppConfig& config) {
    std::vector<FoundPlugin> out;
    std::set<std::string> ids;
    for (const auto& search : search_folders(config.plugins, config.bot.data_dir)) {
        std::error_code ec;
        if (!fs::is_directory(search.path, ec)) continue;
        for (const auto& folder : plugin_folders_in(search.path)) {
            if (!fs::exists(folder / "plugin.toml", ec)) continue;
            FoundPlugin found;
            found.folder = folder;
            try {
                auto loaded = load_manifest(folder / "plugin.toml");
                found.manifest = std::move(loaded.manifest);
                found.warnings = std::move(loaded.warnings);
            } catch (const ManifestError& e) {
                found.error = e.what();
            }
            // A broken manifest shadows nothing: it names no id the host could load.
            if (found.manifest && !ids.insert(found.manifest->id).second) continue;
            out.push_back(std::move(found));
        }
    }
    return out;
}

TableCheck check_plugin_tables(const config::AppConfig& config) {
    TableCheck out;
    for (const auto& found : find_plugins(config)) {
        const std::string id = found.id();
        if (!config.plugins.wants(id)) continue;
        if (!found.manifest) {
            out.warnings.push_back("plugin " + id + " will not load: " + found.error);
            continue;
        }
        const Manifest& m = *found.manifest;
        if (auto too_old = check_min_meshbot(m, MESHBOT_VERSION); !too_old.empty())
            out.warnings.push_back("plugin " + id + " will not load: it " + too_old);
        const auto settings = config.plugins.settings.find(id);
        auto check = validate_plugin_table(
            id, m.config_schema,
            settings != config.plugins.settings.end() ? &settings->second : nullptr);
        out.errors.insert(out.errors.end(), check.errors.begin(), check.errors.end());
        out.warnings.insert(out.warnings.end(), check.warnings.begin(), check.warnings.end());
    }
    return out;
}

}  // namespace meshbot::plugins
