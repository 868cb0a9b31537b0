#pragma once
// /metrics: the bot's figures as Prometheus metric families, in the text exposition format.

#include <string>

#include "http/bot_view.hpp"

namespace meshbot::http {

// The whole /metrics body. `node_limit`: per-node series for at most this many nodes, the most
// recently heard. io_context thread (it reads the bot).
std::string metrics_text(const BotView& bot, unsigned node_limit);

}  // namespace meshbot::http
