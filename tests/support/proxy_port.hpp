#pragma once
// The bot's virtual node port (tests bind port 0), from its log.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "support/bot_process.hpp"

namespace meshbot::testing {

// "[proxy]\nlisten = \"127.0.0.1:0\"\n" plus `more` lines of the [proxy] table.
std::string proxy_table(const std::string& more = {});

// The port in the bot's "proxy: virtual node listening on 127.0.0.1:PORT" line.
std::optional<std::uint16_t> proxy_port_from_log(const std::string& line);
// Waits (deadline 10 s) for that line; 0 if it never came.
std::uint16_t proxy_port(RunningBot& bot);

}  // namespace meshbot::testing
