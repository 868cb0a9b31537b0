#pragma once
// Helpers for tests of the bot's virtual node: its config table, its port (tests bind port 0),
// and raw stream-API clients of it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "support/bot_process.hpp"
#include "support/raw_client.hpp"

namespace meshbot::testing {

// "[proxy]\nlisten = \"127.0.0.1:0\"\n" plus `more` lines of the [proxy] table.
std::string proxy_table(const std::string& more = {});

// The port in the bot's "proxy: virtual node listening on 127.0.0.1:PORT" line.
std::optional<std::uint16_t> proxy_port_from_log(const std::string& line);
// Waits (deadline 10 s) for that line; 0 if it never came.
std::uint16_t proxy_port(RunningBot& bot);

// A raw client that completed its handshake with `nonce` (REQUIREs it).
std::unique_ptr<RawRadioClient> configured_client(std::uint16_t port, std::uint32_t nonce);
// A text packet with exactly this text.
bool is_text(const pb::FromRadio& message, const std::string& text);
// [plugins] lines loading the echo plugin from the build tree.
std::string echo_plugin_only();

}  // namespace meshbot::testing
