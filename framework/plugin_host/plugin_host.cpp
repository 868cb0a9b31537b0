// PluginHost: finding, auditing, loading and unloading plugins.
#include "plugin_host/plugin_host.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/dll/shared_library_load_mode.hpp>
#include <fstream>
#include <set>

#include "config/config_reader.hpp"
#include "plugin_channel/plugin_checks.hpp"
#include "plugin_host/elf_audit.hpp"
#include "plugin_host/library_checks.hpp"
#include "plugin_host/plugin_folders.hpp"
#include "plugin_host/plugin_lock.hpp"

namespace meshbot::plugins {

namespace fs = std::filesystem;

namespace {

// How long an unloading plugin's post_work jobs may take before its library is left mapped.
constexpr auto kWorkGrace = std::chrono::seconds(5);

// What the file at `path` holds (its size and an FNV-1a hash of its bytes), "" when unreadable:
// a copy of the same library is the same library.
std::string file_identity(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::uint64_t hash = 1469598103934665603ull;
    std::uint64_t size = 0;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        for (std::streamsize i = 0; i < in.gcount(); ++i)
            hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ull;
        size += static_cast<std::uint64_t>(in.gcount());
    }
    return std::to_string(size) + ":" + std::to_string(hash);
}

bool still_mapped(const fs::path& path) {
    void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (handle) ::dlclose(handle);
    return handle != nullptr;
}

}  // namespace

const char* to_string(PluginState state) {
    switch (state) {
        case PluginState::starting:
            return "starting";
        case PluginState::crashed:
            return "crashed";
        case PluginState::loaded:
            return "loaded";
        case PluginState::disabled_by_config:
            return "disabled_by_config";
        case PluginState::failed_manifest:
            return "failed_manifest";
        case PluginState::failed_config:
            return "failed_config";
        case PluginState::failed_load:
            return "failed_load";
        case PluginState::failed_version:
            return "failed_version";
        case PluginState::failed_audit:
            return "failed_audit";
        case PluginState::failed_init:
            return "failed_init";
        case PluginState::faulted:
            return "faulted";
    }
    return "?";
}

PluginHost::PluginHost(boost::asio::any_io_executor executor, const config::AppConfig& config,
                       MeshServices& mesh, CommandRouter& router)
    : executor_(executor),
      config_(config),
      mesh_(mesh),
      router_(router),
      data_dir_(config.bot.data_dir.string()),
      sweep_timer_(executor) {}

PluginHost::~PluginHost() {
    unload_all();
}

std::vector<PluginStatus> PluginHost::statuses() const {
    std::vector<PluginStatus> out;
    for (const auto& p : plugins_) {
        out.push_back(p->status);
        out.back().runner_pid =
            p->in_runner && p->runner && p->runner->running() ? p->runner->pid() : 0;
    }
    return out;
}

bool PluginHost::settled() const {
    return std::none_of(plugins_.begin(), plugins_.end(),
                        [](const auto& p) { return p->status.state == PluginState::starting; });
}

PluginHost::Scan PluginHost::scan() const {
    Scan out;
    for (const auto& folder : search_folders(config_.plugins, config_.bot.data_dir)) {
        std::error_code ec;
        if (!fs::is_directory(folder.path, ec)) {
            if (folder.configured) {
                out.warnings.push_back(
                    {"", "folder " + folder.path.string() + " (in [plugins] dirs) does not exist"});
            }
            continue;
        }
        out.searched.push_back(folder.path);
        for (const auto& candidate : plugin_folders_in(folder.path))
            scan_folder(candidate, out, folder.configured);
    }
    return out;
}

void PluginHost::load_all() {
    loop_thread_ = std::this_thread::get_id();
    if (!workers_) workers_ = std::make_unique<boost::asio::thread_pool>(2);
    Scan found_now = scan();
    for (auto& w : found_now.warnings)
        warn(std::move(w.text));
    searched_ = std::move(found_now.searched);
    for (auto& record : found_now.records)
        plugins_.push_back(std::move(record));
    const auto& seen = found_now.seen;
    std::vector<std::string> found;
    for (const auto& [id, library] : seen)
        found.push_back(id);
    auto did_you_mean = [&](const std::string& id) {
        const auto hint = config::detail::close_match(id, found);
        return hint.empty() ? std::string() : " (did you mean '" + hint + "'?)";
    };
    if (config_.plugins.enabled) {
        for (const auto& id : *config_.plugins.enabled) {
            if (!seen.count(id))
                warn("'" + id + "' is listed in [plugins] enabled but was not found" +
                     did_you_mean(id));
        }
    }
    for (const auto& [id, settings] : config_.plugins.settings) {
        if (!seen.count(id))
            warn(settings.where + ": [plugins." + id + "] configures no plugin that was found" +
                 did_you_mean(id));
    }
    for (auto& plugin : plugins_) {
        if (plugin->status.state == PluginState::failed_load && plugin->manifest) load(*plugin);
    }
    for (const auto& p : plugins_) {
        if (p->status.state != PluginState::starting) log_state(*p);  // else when it settles
    }
    sweep_pending();
}

void PluginHost::log_state(const PluginRecord& plugin) const {
    const auto& s = plugin.status;
    if (s.state == PluginState::loaded) {
        const std::string where = plugin.in_runner && plugin.runner
                                      ? " (runner pid " + std::to_string(plugin.runner->pid()) + ")"
                                      : (plugin.in_runner ? "" : " (in the bot's process)");
        spdlog::info("plugin {} {}: loaded from {}{}", s.id, s.version, s.library.string(), where);
    } else if (s.state == PluginState::disabled_by_config) {
        spdlog::info("plugin {}: {} ({})", s.id, to_string(s.state), s.reason);
    } else {
        spdlog::error("plugin {}: {}: {}", s.id, to_string(s.state), s.reason);
    }
}

// One folder holds at most one plugin: its plugin.toml and the library it names.
void PluginHost::scan_folder(const fs::path& folder, Scan& scan, bool configured) const {
    auto& seen = scan.seen;
    auto& plugins = scan.records;
    const fs::path manifest_file = folder / "plugin.toml";
    // A broken manifest names no id; the folder's (or file's) name stands in for it, so that
    // the operator's allow-list still decides whether its failure matters.
    const auto wanted = [&](const std::string& id) { return config_.plugins.wants(id); };
    std::error_code ec;
    if (!fs::exists(manifest_file, ec)) {
        for (const auto& entry : fs::directory_iterator(folder, ec)) {
            if (entry.path().extension() != ".so") continue;
            auto plugin = std::make_unique<PluginRecord>();
            plugin->status.id = entry.path().stem().string();
            plugin->status.library = entry.path();
            plugin->status.state = PluginState::failed_manifest;
            plugin->status.reason = entry.path().string() + ": no plugin.toml beside it";
            plugin->status.wanted = wanted(plugin->status.id);
            plugins.push_back(std::move(plugin));
        }
        return;
    }
    auto plugin = std::make_unique<PluginRecord>();
    plugin->status.id = folder.filename().string();
    plugin->status.library = folder;
    try {
        auto loaded = load_manifest(manifest_file);
        for (const auto& w : loaded.warnings)
            scan.warnings.push_back({loaded.manifest.id, w});
        plugin->manifest = std::move(loaded.manifest);
    } catch (const ManifestError& e) {
        plugin->status.state = PluginState::failed_manifest;
        plugin->status.reason = e.what();
        plugin->status.wanted = wanted(plugin->status.id);
        plugins.push_back(std::move(plugin));
        return;
    }
    const Manifest& m = *plugin->manifest;
    plugin->status.id = m.id;
    plugin->status.version = m.version;
    plugin->status.library = m.library_path();
    if (auto [it, inserted] = seen.emplace(m.id, m.library_path()); !inserted) {
        // A plugin the operator installed or listed overrides the one that comes with meshbot.
        if (!configured) {
            scan.warnings.push_back({m.id, m.library_path().string() + " is not used: '" + m.id +
                                               "' is loaded from " + it->second.string()});
            return;
        }
        plugin->status.state = PluginState::failed_manifest;
        plugin->status.reason = manifest_file.string() + ": id '" + m.id + "' is already used by " +
                                it->second.string();
        plugin->manifest.reset();
        plugin->status.wanted = wanted(m.id);
        plugins.push_back(std::move(plugin));
        return;
    }
    // Enabled or not is decided here, before dlopen: loading runs the plugin's static constructors.
    const auto settings = config_.plugins.settings.find(m.id);
    const auto& allow = config_.plugins.enabled;
    if (allow && std::find(allow->begin(), allow->end(), m.id) == allow->end()) {
        plugin->status.state = PluginState::disabled_by_config;
        plugin->status.reason = "not listed in [plugins] enabled";
    } else if (settings != config_.plugins.settings.end() && settings->second.enabled == false) {
        plugin->status.state = PluginState::disabled_by_config;
        plugin->status.reason = "[plugins." + m.id + "] enabled = false";
    } else {
        plugin->status.state = PluginState::failed_load;  // until load() succeeds
    }
    plugins.push_back(std::move(plugin));
}

void PluginHost::warn(std::string text) {
    spdlog::warn("plugins: {}", text);
    warnings_.push_back(std::move(text));
}

void PluginHost::fail(PluginRecord& plugin, PluginState state, std::string reason) {
    plugin.status.state = state;
    plugin.status.reason = std::move(reason);
}

bool PluginHost::audit(PluginRecord& plugin) {
    const Manifest& m = *plugin.manifest;
    std::vector<std::string> undefined;
    try {
        undefined = undefined_dynamic_symbols(m.library_path());
    } catch (const std::exception& e) {
        fail(plugin, PluginState::failed_load, m.library_path().string() + ": " + e.what());
        return false;
    }
    const AuditResult result = audit_network_imports(undefined);
    if (result.ok) return true;
    if (granted(plugin, "network")) {
        spdlog::warn("plugin {}: may use the network ({}), granted {}", m.id,
                     fmt::format("{}", fmt::join(result.network_symbols, ", ")),
                     grant_source(plugin, "network"));
        return true;
    }
    std::string why = m.library_path().string() + ": imports socket APIs (" +
                      fmt::format("{}", fmt::join(result.network_symbols, ", ")) + ")";
    why += m.wants("network") ? "; the manifest asks for network, grant it with [plugins." + m.id +
                                    "] grant_network = true"
                              : " without asking for the network permission";
    fail(plugin, PluginState::failed_audit, why);
    return false;
}

bool PluginHost::granted(const PluginRecord& plugin, std::string_view permission) const {
    const Manifest& m = *plugin.manifest;
    if (!m.wants(permission)) return false;
    // The operator's config decides when it says something; else what was granted at install.
    const auto settings = config_.plugins.settings.find(m.id);
    if (settings != config_.plugins.settings.end()) {
        const auto& said =
            permission == "network" ? settings->second.grant_network : settings->second.grant_exec;
        if (said) return *said;
    }
    return std::find(plugin.install_grants.begin(), plugin.install_grants.end(), permission) !=
           plugin.install_grants.end();
}

std::string PluginHost::grant_source(const PluginRecord& plugin,
                                     std::string_view permission) const {
    const auto settings = config_.plugins.settings.find(plugin.id());
    if (settings != config_.plugins.settings.end() &&
        (permission == "network" ? settings->second.grant_network : settings->second.grant_exec))
        return "by [plugins." + plugin.id() + "] grant_" + std::string(permission);
    return "at install (" + lock_file(config_.bot.data_dir).string() + ")";
}

// The checks that need no plugin code, then the plugin's config and store. False: failed.
bool PluginHost::prepare(PluginRecord& plugin) {
    const Manifest& m = *plugin.manifest;
    if (auto refused = check_library(m)) {
        fail(plugin,
             refused->kind == LibraryRefusal::Kind::version ? PluginState::failed_version
                                                            : PluginState::failed_load,
             std::move(refused->reason));
        return false;
    }
    const auto settings = config_.plugins.settings.find(m.id);
    const config::PluginSettings* table =
        settings != config_.plugins.settings.end() ? &settings->second : nullptr;
    const TableCheck check = validate_plugin_table(m.id, m.config_schema, table);
    for (const auto& w : check.warnings)
        warn(w);
    if (!check.errors.empty()) {
        fail(plugin, PluginState::failed_config, fmt::format("{}", fmt::join(check.errors, "\n")));
        return false;
    }
    plugin.install_grants.clear();
    if (!config_.bot.data_dir.empty()) {
        std::string problem;
        plugin.install_grants =
            granted_at_install(config_.bot.data_dir, m.id, m.library_path(), problem);
        if (!problem.empty()) spdlog::warn("plugin {}: {}", m.id, problem);
    }
    if (!audit(plugin)) return false;

    try {
        if (table) plugin.config = PluginConfig(table->table_toml, table->positions);
        plugin.config.add_defaults(m.config_schema);
    } catch (const std::exception& e) {
        fail(plugin, PluginState::failed_init, "[plugins." + m.id + "]: " + e.what());
        return false;
    }
    if (!config_.bot.data_dir.empty()) {
        std::string problem;
        if (auto moved = move_from_old_layout(config_.bot.data_dir, m.id); !moved.empty())
            spdlog::error("plugin {}: {}", m.id, moved);
        plugin.store = KvStore(kv_store_file(config_.bot.data_dir, m.id), problem);
        if (!problem.empty()) spdlog::error("plugin {}: {}", m.id, problem);
    }
    plugin.handle = mb_host{this, &plugin};
    return true;
}

void PluginHost::load(PluginRecord& plugin) {
    plugin.isolation = config_.plugins.isolation_of(plugin.id());
    plugin.status.isolation = plugin.isolation;
    if (!prepare(plugin)) return;
    // In a runner: the plugin's home. In the bot: a runner checks the library first (entry
    // point, ABI, id), so no code of a library that will be refused runs in the bot.
    plugin.in_runner = plugin.isolation == config::Isolation::process || force_runners_;
    plugin.status.state = PluginState::starting;
    start_queue_.push_back(&plugin);
    start_next_runner();
}

void PluginHost::load_in_process(PluginRecord& plugin) {
    const Manifest& m = *plugin.manifest;
    const std::string lib_path = m.library_path().string();
    const std::string file = file_identity(m.library_path());
    if (const auto was = in_bot_files_.find(lib_path);
        was != in_bot_files_.end() && was->second != file && still_mapped(m.library_path())) {
        return fail(plugin, PluginState::failed_load,
                    lib_path +
                        ": changed, but the bot's process still maps the library loaded before "
                        "(it cannot always be unloaded); restart meshbot to load the new one, or "
                        "run the plugin in a runner (isolation = \"process\")");
    }
    try {
        plugin.library.load(m.library_path().string(),
                            boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
    } catch (const std::exception& e) {
        return fail(plugin, PluginState::failed_load, lib_path + ": cannot load: " + e.what());
    }
    // Messages are built before unloading: `info` points into the library.
    auto reject = [&](PluginState state, std::string why) {
        plugin.library.unload();
        fail(plugin, state, std::move(why));
    };
    if (!plugin.library.has(MB_PLUGIN_ENTRY_SYMBOL)) {
        return reject(PluginState::failed_load,
                      lib_path + ": no entry point " MB_PLUGIN_ENTRY_SYMBOL);
    }
    const auto entry = plugin.library.get<const mb_plugin_info*()>(MB_PLUGIN_ENTRY_SYMBOL);
    const mb_plugin_info* info = entry();
    if (auto refusal = channel::check_plugin_info(info, m.id, lib_path)) {
        using Kind = channel::InfoRefusal::Kind;
        return reject(refusal->kind == Kind::manifest ? PluginState::failed_manifest
                      : refusal->kind == Kind::load   ? PluginState::failed_load
                                                      : PluginState::failed_version,
                      std::move(refusal->reason));
    }
    plugin.info = info;
    in_bot_files_[lib_path] = file;

    plugin.status.state = PluginState::loaded;  // so that registrations made in create() count
    char error[512] = {0};
    mb_plugin* instance = nullptr;
    try {
        instance = info->create(&api(), &plugin.handle, error, sizeof error);
    } catch (...) {
        std::snprintf(error, sizeof error, "exception thrown across the plugin boundary");
    }
    flush_releases();
    if (instance == nullptr) {
        release_registrations(plugin);
        flush_releases();
        plugin.library.unload();
        plugin.info = nullptr;
        std::string why = lib_path + ": init failed: " + (error[0] ? error : "no reason given");
        if (!plugin.last_refusal.empty()) why += " (" + plugin.last_refusal + ")";
        return fail(plugin, PluginState::failed_init, why);
    }
    plugin.instance = instance;
    plugin.lifecycle = PluginRecord::Lifecycle::loaded;
    plugin.status.reason.clear();
}

void PluginHost::unload(PluginRecord& plugin) {
    if (plugin.restart_timer) plugin.restart_timer->cancel();
    std::erase(start_queue_, &plugin);
    if (starting_now_ == &plugin) {
        starting_now_ = nullptr;
        if (!stopping_) start_next_runner();
    }
    // Killed now: unload() runs when the loop may stop any moment (see stop() otherwise).
    if (plugin.runner) plugin.runner->abandon();
    if (plugin.in_runner) {
        release_registrations(plugin);
        flush_releases();
        return;
    }
    if (plugin.lifecycle != PluginRecord::Lifecycle::loaded) return;
    plugin.lifecycle = PluginRecord::Lifecycle::unloading;
    plugin.unloading_since = std::chrono::steady_clock::now();
    if (plugin.instance && plugin.info) {
        try {
            plugin.info->destroy(plugin.instance);
        } catch (...) {
            spdlog::error("plugin {}: exception thrown from its destructor", plugin.id());
        }
        plugin.instance = nullptr;
    }
    release_registrations(plugin);
    flush_releases();
    finish_unload(plugin);
}

void PluginHost::finish_unload(PluginRecord& plugin) {
    if (*plugin.work_in_flight > 0 &&
        std::chrono::steady_clock::now() - plugin.unloading_since < kWorkGrace) {
        if (!plugin.unload_timer)
            plugin.unload_timer = std::make_unique<boost::asio::steady_timer>(executor_);
        plugin.unload_timer->expires_after(std::chrono::milliseconds(20));
        plugin.unload_timer->async_wait([this, p = &plugin](boost::system::error_code ec) {
            if (!ec) finish_unload(*p);
        });
        return;
    }
    unmap(plugin);
    if (plugin.retiring) finish_retire(plugin);
    check_stopped();
}

void PluginHost::finish_unload_now(PluginRecord& plugin) {
    if (plugin.unload_timer) plugin.unload_timer->cancel();
    while (*plugin.work_in_flight > 0 &&
           std::chrono::steady_clock::now() - plugin.unloading_since < kWorkGrace)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    unmap(plugin);
}

void PluginHost::unmap(PluginRecord& plugin) {
    // Code of the plugin may still run on a worker; unmapping it then would crash the process.
    if (*plugin.work_in_flight > 0) {
        spdlog::error("plugin {}: work still running after {} s; its library stays loaded",
                      plugin.id(), kWorkGrace.count());
        static std::vector<boost::dll::shared_library> kept;  // never unmapped, on purpose
        kept.push_back(std::move(plugin.library));
    } else if (plugin.library.is_loaded()) {
        plugin.library.unload();
    }
    plugin.info = nullptr;
    plugin.lifecycle = PluginRecord::Lifecycle::unloaded;
}

void PluginHost::unload_all() {
    stopping_ = true;
    for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) {
        PluginRecord& plugin = **it;
        if (plugin.instance || plugin.lifecycle == PluginRecord::Lifecycle::loaded || plugin.runner)
            unload(plugin);
        if (plugin.lifecycle == PluginRecord::Lifecycle::unloading) finish_unload_now(plugin);
    }
    sweep_timer_.cancel();
    if (!workers_) return;
    const bool stuck = std::any_of(plugins_.begin(), plugins_.end(),
                                   [](const auto& p) { return *p->work_in_flight > 0; });
    if (!stuck) {
        workers_->join();
        workers_.reset();
        return;
    }
    // A job that never ends cannot be stopped, and joining its thread would hang the bot's
    // exit: the pool is left to the process's end. Its completions find the host gone (alive_).
    workers_->stop();
    [[maybe_unused]] auto* abandoned = workers_.release();
}

}  // namespace meshbot::plugins
