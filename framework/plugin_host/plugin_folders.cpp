#include "plugin_host/plugin_folders.hpp"

#include <algorithm>

namespace meshbot::plugins {

namespace fs = std::filesystem;

namespace {

// Two spellings of one folder are one folder.
fs::path comparable(const fs::path& path) {
    std::error_code ec;
    auto canonical = fs::weakly_canonical(path, ec);
    return ec ? path.lexically_normal() : canonical;
}

}  // namespace

fs::path executable_folder() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path(".") : self.parent_path();
}

fs::path bundled_plugin_folder() {
    const fs::path bin = executable_folder();
    // Installed: the install's plugin folder as seen from its bin folder (CMake computes it,
    // so a multiarch lib/x86_64-linux-gnu/ works too). Build tree: build/plugins/.
    for (const fs::path& candidate :
         {bin / MESHBOT_BUNDLED_PLUGINS_FROM_BINDIR, bin.parent_path() / "plugins"}) {
        std::error_code ec;
        if (fs::is_directory(candidate, ec)) return comparable(candidate);
    }
    return {};
}

fs::path user_plugin_folder(const fs::path& data_dir) {
    return data_dir.empty() ? fs::path() : data_dir / "plugins";
}

std::vector<SearchFolder> search_folders(const config::PluginsConfig& plugins,
                                         const fs::path& data_dir) {
    std::vector<SearchFolder> out;
    auto add = [&](const fs::path& path, bool configured) {
        if (path.empty()) return;
        const fs::path key = comparable(path);
        const bool known = std::any_of(out.begin(), out.end(), [&](const SearchFolder& f) {
            return comparable(f.path) == key;
        });
        if (!known) out.push_back({path, configured});
    };
    for (const auto& dir : plugins.dirs)
        add(dir, true);
    if (!plugins.default_dirs) return out;
    add(user_plugin_folder(data_dir), false);
    add(bundled_plugin_folder(), false);
    return out;
}

std::vector<fs::path> plugin_folders_in(const fs::path& folder) {
    std::vector<fs::path> children;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        if (entry.is_directory(ec)) children.push_back(entry.path());
    }
    std::sort(children.begin(), children.end());
    children.insert(children.begin(), folder);
    return children;
}

fs::path private_folder(const fs::path& data_dir, const std::string& id) {
    return data_dir / "plugin-data" / id;
}

fs::path kv_store_file(const fs::path& data_dir, const std::string& id) {
    return data_dir / "plugin-data" / (id + ".kv");
}

std::string move_from_old_layout(const fs::path& data_dir, const std::string& id) {
    const fs::path old_dir = user_plugin_folder(data_dir);
    std::error_code ec;
    auto move = [&](const fs::path& from, const fs::path& to) -> std::string {
        if (!fs::exists(from, ec) || fs::exists(to, ec)) return {};
        fs::create_directories(to.parent_path(), ec);
        if (!ec) fs::rename(from, to, ec);
        return ec ? "cannot move " + from.string() + " to " + to.string() + ": " + ec.message()
                  : std::string();
    };
    if (auto problem = move(old_dir / (id + ".kv"), kv_store_file(data_dir, id)); !problem.empty())
        return problem;
    // A folder with a manifest is an installed plugin, not an old private folder.
    if (fs::exists(old_dir / id / "plugin.toml", ec)) return {};
    return move(old_dir / id, private_folder(data_dir, id));
}

}  // namespace meshbot::plugins
