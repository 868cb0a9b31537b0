#include "radio/node_id.hpp"

#include <charconv>
#include <cstdio>

namespace meshbot::radio {

std::string node_id(std::uint32_t num) {
    char buf[12];
    std::snprintf(buf, sizeof buf, "!%08x", num);
    return buf;
}

std::optional<std::uint32_t> parse_node_number(std::string_view text) {
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

}  // namespace meshbot::radio
