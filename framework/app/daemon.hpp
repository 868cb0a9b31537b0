#pragma once
// The running bot: the io_context, the radio link, signal handling.

#include "config/app_config.hpp"

namespace meshbot::app {

// Runs until SIGINT/SIGTERM: the first one stops cleanly (disconnect, flush, exit 0), a second
// one exits at once. SIGHUP reloads the config file (config_reload.hpp), which is why the
// daemon keeps its own copy of `config`. Everything runs on the calling thread.
int run_daemon(config::AppConfig config);

// `meshbot plugins`: the running daemon's plugins (through its control socket), or, when no
// daemon runs, every plugin found, audited and started in a runner process without touching
// the radio. One line per plugin with its state, then lines with the reason and last crash.
int list_plugins(const config::AppConfig& config);
// `meshbot status`: the running daemon's link, nodes and whether its store is being saved.
// Exit 0 when all is well, 1 when the bot reports a problem (e.g. keys are not being saved),
// 3 when no bot answers.
int show_status(const config::AppConfig& config);
// `meshbot plugin restart ID`: through the running daemon's control socket.
int restart_plugin(const config::AppConfig& config, const std::string& id);
// `meshbot plugin reload ID`: the running bot loads, reloads or forgets plugin ID as the plugin
// folders hold it now. Prints its answer; exit 0 when it says ok, 1 when not, 3 when no bot
// answers.
int reload_plugin(const config::AppConfig& config, const std::string& id);

// Applies [log] settings to the process-wide logger (stdout, flushed per line).
void configure_logging(const config::LogConfig& log);

}  // namespace meshbot::app
