#pragma once
// Node numbers as people write them: "!0badc0de" (the Meshtastic form), "0x0badc0de", decimal.
// The one formatter and parser of the bot, its simulator and tests, and of plugins. Pure,
// header-only; any thread.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshbot {

// "!0badc0de": lower-case hex, always 8 digits, as the firmware writes User.id.
inline std::string node_id(std::uint32_t num) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "!00000000";
    for (int i = 8; i >= 1; --i, num >>= 4)
        out[static_cast<std::size_t>(i)] = hex[num & 0xF];
    return out;
}

// "c0de": the last four hex digits of the id, which the firmware uses as a node's short name
// until it has one ("Meshtastic c0de" as its long name), and what the bot shows for a node
// that never said its name.
inline std::string default_short_name(std::uint32_t num) {
    return node_id(num).substr(5);
}

// "!0badc0de" (as the apps show a node: "!" and exactly 8 hex digits), "0x0badc0de" (hex) or
// "195936478" (decimal); nullopt for anything else or a value beyond 32 bits.
inline std::optional<std::uint32_t> parse_node_number(std::string_view text) {
    int base = 10;
    if (text.starts_with('!')) {
        text.remove_prefix(1);
        base = 16;
        if (text.size() != 8) return std::nullopt;
    } else if (text.starts_with("0x") || text.starts_with("0X")) {
        text.remove_prefix(2);
        base = 16;
    }
    if (text.empty()) return std::nullopt;
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace meshbot
