#pragma once
// Node numbers as people write them: "!0badc0de" (the Meshtastic form), "0x0badc0de", decimal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshbot::radio {

// "!0badc0de": lower-case hex, always 8 digits, as the firmware writes User.id.
std::string node_id(std::uint32_t num);

// Parses "!0badc0de" (exactly 8 hex digits), "0x..." (hex) or decimal; nullopt for anything
// else, or a value that does not fit in 32 bits.
std::optional<std::uint32_t> parse_node_number(std::string_view text);

}  // namespace meshbot::radio
