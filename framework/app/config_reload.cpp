#include "app/config_reload.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <string_view>

#include "app/bot.hpp"
#include "app/service_notify.hpp"
#include "config/config_loader.hpp"

namespace meshbot::app {

namespace {

// Adds `name` to `out` when the two sections differ in `member`.
template <typename Section, typename T>
void compare(std::vector<std::string>& out, const char* name, const Section& a, const Section& b,
             T Section::*member) {
    if (!(a.*member == b.*member)) out.emplace_back(name);
}

// Every setting a reload leaves alone, by name. A new setting that the running parts read only
// when built belongs here too, or a reload would leave it unchanged without saying so.
void compare_restart_only(const config::AppConfig& a, const config::AppConfig& b,
                          std::vector<std::string>& out) {
    using R = config::RadioConfig;
    // The link holds a copy of [radio], and the endpoint registry its endpoint.
    compare(out, "radio.transport", a.radio, b.radio, &R::transport);
    compare(out, "radio.host", a.radio, b.radio, &R::host);
    compare(out, "radio.port", a.radio, b.radio, &R::port);
    compare(out, "radio.device", a.radio, b.radio, &R::device);
    compare(out, "radio.baud", a.radio, b.radio, &R::baud);
    compare(out, "radio.connect_timeout", a.radio, b.radio, &R::connect_timeout);
    compare(out, "radio.handshake_timeout", a.radio, b.radio, &R::handshake_timeout);
    compare(out, "radio.heartbeat_interval", a.radio, b.radio, &R::heartbeat_interval);
    compare(out, "radio.silence_multiple", a.radio, b.radio, &R::silence_multiple);
    compare(out, "radio.backoff_initial", a.radio, b.radio, &R::backoff_initial);
    compare(out, "radio.backoff_max", a.radio, b.radio, &R::backoff_max);
    compare(out, "radio.backoff_reset_after", a.radio, b.radio, &R::backoff_reset_after);
    compare(out, "radio.dedupe_window", a.radio, b.radio, &R::dedupe_window);
    compare(out, "radio.text_gap", a.radio, b.radio, &R::text_gap);
    compare(out, "radio.telemetry_gap", a.radio, b.radio, &R::telemetry_gap);
    compare(out, "radio.traceroute_gap", a.radio, b.radio, &R::traceroute_gap);
    compare(out, "radio.outbox_capacity", a.radio, b.radio, &R::outbox_capacity);
    compare(out, "radio.outbox_expiry", a.radio, b.radio, &R::outbox_expiry);
    // The store, its lock and the control socket live in the data directory.
    compare(out, "bot.data_dir", a.bot, b.bot, &config::BotConfig::data_dir);
    // The key sync arms its timer with the interval when built.
    compare(out, "keys.check_interval", a.keys, b.keys, &config::KeysConfig::check_interval);
    compare(out, "keys.restore", a.keys, b.keys, &config::KeysConfig::restore);
    // Which plugins exist and how they run: the host decides at start, and the watch for a
    // stuck in-bot plugin is set up (or not) at start. trusted_sources is left out: only
    // `meshbot plugin install`, which reads the file itself, uses it.
    using P = config::PluginsConfig;
    compare(out, "plugins.dirs", a.plugins, b.plugins, &P::dirs);
    compare(out, "plugins.default_dirs", a.plugins, b.plugins, &P::default_dirs);
    compare(out, "plugins.enabled", a.plugins, b.plugins, &P::enabled);
    compare(out, "plugins.callback_budget", a.plugins, b.plugins, &P::callback_budget);
    compare(out, "plugins.max_faults", a.plugins, b.plugins, &P::max_faults);
    compare(out, "plugins.fault_window", a.plugins, b.plugins, &P::fault_window);
    compare(out, "plugins.isolation", a.plugins, b.plugins, &P::isolation);
    compare(out, "plugins.sandbox", a.plugins, b.plugins, &P::sandbox);
    compare(out, "plugins.callback_timeout", a.plugins, b.plugins, &P::callback_timeout);
    compare(out, "plugins.memory_limit_mb", a.plugins, b.plugins, &P::memory_limit_mb);
    compare(out, "plugins.runner", a.plugins, b.plugins, &P::runner);
    // The listener is bound once; its token and node_metrics are read per request.
    if (a.http.enabled != b.http.enabled || a.http.address != b.http.address ||
        a.http.port != b.http.port)
        out.push_back("http.listen");
    if (a.proxy.enabled != b.proxy.enabled || a.proxy.address != b.proxy.address ||
        a.proxy.port != b.proxy.port)
        out.push_back("proxy.listen");
}

// A reload must not open a listener that is bound off loopback: without a token anyone who
// reaches the address would read the mesh.
bool keeps_token(const config::AppConfig& running, const config::AppConfig& fresh) {
    return running.http.enabled && !running.http.loopback && fresh.http.token.empty();
}

const config::PluginSettings* find(const config::PluginsConfig& plugins, const std::string& id) {
    const auto it = plugins.settings.find(id);
    return it == plugins.settings.end() ? nullptr : &it->second;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

ConfigChanges compare_configs(const config::AppConfig& running, const config::AppConfig& fresh) {
    ConfigChanges changes;
    changes.log_level = running.log.level != fresh.log.level;
    using C = config::CommandsConfig;
    const auto& a = running.commands;
    const auto& b = fresh.commands;
    compare(changes.commands, "commands.prefix", a, b, &C::prefix);
    compare(changes.commands, "commands.dm", a, b, &C::dm);
    compare(changes.commands, "commands.channels", a, b, &C::channels);
    compare(changes.commands, "commands.rate_limit", a, b, &C::rate_limit);
    compare(changes.commands, "commands.rate_window", a, b, &C::rate_window);
    compare(changes.commands, "commands.reply_max_bytes", a, b, &C::reply_max_bytes);
    compare(changes.commands, "commands.admins", a, b, &C::admins);
    compare(changes.commands, "commands.answer_backlog", a, b, &C::answer_backlog);
    using H = config::HttpConfig;
    // A listener bound off loopback keeps a token until it is rebound on loopback.
    auto& token = keeps_token(running, fresh) ? changes.need_restart : changes.http;
    compare(token, "http.token", running.http, fresh.http, &H::token);
    compare(changes.http, "http.node_metrics", running.http, fresh.http, &H::node_metrics);
    // The virtual node reads these per connection (allow_from, max_clients, client_buffer) or
    // per packet (allow_admin, client_queue).
    using P = config::ProxyConfig;
    const auto& p = running.proxy;
    const auto& q = fresh.proxy;
    compare(changes.proxy, "proxy.allow_from", p, q, &P::allow_from);
    if (p.allow_all_admin != q.allow_all_admin || p.allow_admin != q.allow_admin)
        changes.proxy.emplace_back("proxy.allow_admin");
    compare(changes.proxy, "proxy.max_clients", p, q, &P::max_clients);
    compare(changes.proxy, "proxy.client_buffer", p, q, &P::client_buffer);
    compare(changes.proxy, "proxy.client_queue", p, q, &P::client_queue);
    compare_restart_only(running, fresh, changes.need_restart);

    std::set<std::string> ids;
    for (const auto* c : {&running, &fresh}) {
        for (const auto& [id, settings] : c->plugins.settings)
            ids.insert(id);
    }
    for (const auto& id : ids) {
        const auto* before = find(running.plugins, id);
        const auto* after = find(fresh.plugins, id);
        const auto isolation = [](const config::PluginSettings* s) {
            return s ? s->isolation : std::nullopt;
        };
        // Said again at every reload until a restart, like every setting that needs one.
        if (isolation(before) != isolation(after))
            changes.need_restart.push_back("plugins." + id + ".isolation");
        // The table's text holds every key, the host's included; positions are no change.
        if (!before || !after || before->table_toml != after->table_toml)
            changes.plugin_ids.push_back(id);
    }
    return changes;
}

void apply_reloadable(config::AppConfig& live, const config::AppConfig& fresh) {
    live.log = fresh.log;
    live.commands = fresh.commands;
    // The listener reads these per request (http_server.cpp holds the live [http]).
    if (!keeps_token(live, fresh)) live.http.token = fresh.http.token;
    live.http.node_metrics = fresh.http.node_metrics;
    // The virtual node holds the live [proxy]; its listener stays where it was bound.
    const config::ProxyConfig bound = live.proxy;
    live.proxy = fresh.proxy;
    live.proxy.enabled = bound.enabled;
    live.proxy.address = bound.address;
    live.proxy.port = bound.port;
    live.proxy.loopback = bound.loopback;
    auto& settings = live.plugins.settings;
    for (auto it = settings.begin(); it != settings.end();) {
        it = fresh.plugins.settings.count(it->first) ? std::next(it) : settings.erase(it);
    }
    for (const auto& [id, table] : fresh.plugins.settings) {
        const auto old = settings.find(id);
        // Where a plugin runs changes with a restart only: the watch for a stuck in-bot plugin
        // is set up (or not) at start.
        const auto isolation = old == settings.end() ? std::nullopt : old->second.isolation;
        auto& slot = settings[id];
        slot = table;
        slot.isolation = isolation;
    }
}

void ConfigReload::reload() {
    const auto file = live_.source;
    spdlog::info("config reload: reading {}", file.string());
    notify_.reloading();
    config::LoadResult loaded;
    try {
        loaded = config::load_config(file);
    } catch (const config::ConfigError& e) {
        // One line per problem, each with its file:line:column.
        const std::string_view text = e.what();
        for (std::size_t at = 0; at <= text.size();) {
            const auto end = std::min(text.find('\n', at), text.size());
            if (end > at) spdlog::error("config reload: {}", text.substr(at, end - at));
            at = end + 1;
        }
        spdlog::error("config reload: nothing applied; the bot runs on with the config it had");
        notify_.ready();
        return;
    }
    for (const auto& warning : loaded.warnings)
        spdlog::warn("config reload: {}", warning);

    const auto changes = compare_configs(live_, loaded.config);
    for (const auto& name : changes.need_restart)
        spdlog::warn("config reload: {} changed: takes effect after a restart", name);
    if (changes.log_level) {
        // Said before the level changes, so that it shows at least under the level it had.
        spdlog::info("config reload: log.level {} -> {}", live_.log.level, loaded.config.log.level);
    }
    apply_reloadable(live_, loaded.config);
    if (changes.log_level)
        spdlog::default_logger()->set_level(spdlog::level::from_str(live_.log.level));
    if (!changes.commands.empty()) {
        bot_.router().apply(live_.commands);
        spdlog::info("config reload: applied {}", joined(changes.commands));
    }
    if (!changes.http.empty()) spdlog::info("config reload: applied {}", joined(changes.http));
    if (!changes.proxy.empty())
        spdlog::info("config reload: applied {} (for new clients and packets)",
                     joined(changes.proxy));
    for (const auto& id : changes.plugin_ids) {
        spdlog::info("config reload: [plugins.{}] changed: reloading plugin {}", id, id);
        bot_.plugins().reload(id, [](bool ok, const std::string& text) {
            if (ok)
                spdlog::info("config reload: {}", text);
            else
                spdlog::warn("config reload: {}", text);
        });
    }
    if (!changes.any()) {
        spdlog::info("config reload: nothing changed");
    } else {
        const auto applied = (changes.log_level ? 1 : 0) + changes.commands.size() +
                             changes.plugin_ids.size() + changes.http.size() + changes.proxy.size();
        spdlog::info("config reload: done: {} change(s) applied, {} waiting for a restart", applied,
                     changes.need_restart.size());
    }
    notify_.ready();
}

}  // namespace meshbot::app
