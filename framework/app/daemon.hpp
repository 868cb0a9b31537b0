#pragma once
// The running bot: the io_context, the radio link, signal handling.

#include "config/app_config.hpp"

namespace meshbot::app {

// Runs until SIGINT/SIGTERM: the first one stops cleanly (disconnect, flush, exit 0), a second
// one exits at once. Everything runs on the calling thread.
int run_daemon(const config::AppConfig& config);

// `meshbot plugins`: finds, audits and loads every plugin without touching the radio, prints
// one line per plugin with its state (and a second with the reason), unloads them.
int list_plugins(const config::AppConfig& config);

// Applies [log] settings to the process-wide logger (stdout, flushed per line).
void configure_logging(const config::LogConfig& log);

}  // namespace meshbot::app
