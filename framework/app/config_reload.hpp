#pragma once
// SIGHUP: the config file read again, and what can change without dropping the radio link
// applied to the running bot: [log] level, [commands], [http] token and node_metrics, and the
// [plugins.<id>] tables (only the plugins whose table changed are reloaded). Everything else is
// named in the log as taking effect after a restart.
//
// How the new values reach the running parts: run_daemon owns the daemon's one AppConfig for
// its whole life, and every part (Bot, PluginHost, KeySync) keeps a reference to it and reads
// it on the io_context thread only. A reload is one handler on that thread, so no reader can
// see a half-applied config, and it assigns the reloadable values into that same object (never
// a new object: the references stay valid). Parts that copied their settings when built are
// told: the CommandRouter gets apply(), the logger its level, PluginHost::reload() restarts a
// plugin whose table changed (it reads the table from the config as it loads). Settings that
// need a restart are left as they were, so that the object always describes what runs.

#include <string>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::app {

class Bot;
class ServiceNotify;

// What differs between the running config and the file just read.
struct ConfigChanges {
    bool log_level = false;
    std::vector<std::string> commands;      // "commands.prefix", "commands.rate_limit", ...
    std::vector<std::string> plugin_ids;    // [plugins.<id>] tables changed, added or removed
    std::vector<std::string> http;          // "http.token", "http.node_metrics"
    std::vector<std::string> proxy;         // "proxy.allow_admin", ... (new clients, packets)
    std::vector<std::string> need_restart;  // "radio.port", "plugins.isolation", ...
    bool any() const {
        return log_level || !commands.empty() || !plugin_ids.empty() || !http.empty() ||
               !proxy.empty() || !need_restart.empty();
    }
};
ConfigChanges compare_configs(const config::AppConfig& running, const config::AppConfig& fresh);

// Copies into `live` what a reload applies of `fresh`: [log], [commands], [proxy] but its
// listener, and the
// [plugins.<id>] tables, each keeping the isolation it runs with (a restart applies that).
// Unchanged tables take their new file positions, for messages.
void apply_reloadable(config::AppConfig& live, const config::AppConfig& fresh);

// References the daemon's config, bot and notifier; io_context thread only.
class ConfigReload {
public:
    ConfigReload(config::AppConfig& live, Bot& bot, ServiceNotify& notify)
        : live_(live), bot_(bot), notify_(notify) {}

    // Reads live.source again. A file that does not load is logged (file:line:column) and
    // changes nothing; otherwise the changes are applied and logged, one line each.
    void reload();

private:
    config::AppConfig& live_;
    Bot& bot_;
    ServiceNotify& notify_;
};

}  // namespace meshbot::app
