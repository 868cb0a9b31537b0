#pragma once
// Node numbers as people write them: "!0badc0de" (the Meshtastic form), "0x0badc0de", decimal.
// One parser and one formatter for the bot, the simulator, the tests and plugins: the SDK's.

#include "meshbot/sdk/node_id.hpp"

namespace meshbot::radio {

// "!0badc0de": lower-case hex, always 8 digits, as the firmware writes User.id.
using ::meshbot::node_id;

// Parses "!0badc0de" (exactly 8 hex digits), "0x..." (hex) or decimal; nullopt for anything
// else, or a value that does not fit in 32 bits.
using ::meshbot::parse_node_number;

}  // namespace meshbot::radio
