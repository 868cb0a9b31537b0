#pragma once
// The status page's data: /api/status (the link, plugins, counters, recent events) and
// /api/nodes (every node, for the sortable table), as JSON.

#include <string>

#include "http/bot_view.hpp"

namespace meshbot::http {

// Small, polled every second or two by each open page. io_context thread.
std::string status_json(const BotView& bot);
// Every node in the store, with whether the radio holds it; about 200 bytes per node.
std::string nodes_json(const BotView& bot);

}  // namespace meshbot::http
