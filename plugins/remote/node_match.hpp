#pragma once
// Which node a user means by "<node>": an id or number, a short name, a long name or its
// beginning, or the four hex digits /nodes shows. Pure functions, header-only so unit tests can
// use them.

#include <meshbot/sdk/values.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text.hpp"

namespace remote {

// "!0badc0de", "0x0badc0de" (hex) or "195936478" (decimal) as a node number.
inline std::optional<std::uint32_t> parse_node_number(std::string_view s) {
    int base = 10;
    if (!s.empty() && s.front() == '!') {
        s.remove_prefix(1);
        base = 16;
    } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    if (s.empty() || s.size() > (base == 16 ? 8u : 10u)) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    if (ec != std::errc() || end != s.data() + s.size() || value > 0xFFFFFFFFu) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

inline bool is_hex4(std::string_view s) {
    return s.size() == 4 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

// The nodes `query` designates, by the first rule that finds any: node number or id; short name
// (exact, any case); long name (exact, any case); long name prefix; last four hex digits of the
// id. One node: found; several: ambiguous (sorted by short name, then number); none: no match.
inline std::vector<meshbot::NodeInfo> match_nodes(std::string_view query,
                                                  const std::vector<meshbot::NodeInfo>& all) {
    using Rule = bool (*)(const meshbot::NodeInfo&, std::string_view);
    std::vector<meshbot::NodeInfo> found;
    const auto apply = [&](Rule rule) {
        for (const auto& n : all) {
            if (rule(n, query)) found.push_back(n);
        }
        return !found.empty();
    };
    if (query.empty()) return found;
    if (const auto num = parse_node_number(query)) {
        for (const auto& n : all) {
            if (n.num == *num) return {n};
        }
    }
    const Rule rules[] = {
        [](const meshbot::NodeInfo& n, std::string_view q) { return iequals(n.short_name, q); },
        [](const meshbot::NodeInfo& n, std::string_view q) { return iequals(n.long_name, q); },
        [](const meshbot::NodeInfo& n, std::string_view q) { return istarts_with(n.long_name, q); },
        [](const meshbot::NodeInfo& n, std::string_view q) {
            const std::string id = meshbot::node_id(n.num);
            return is_hex4(q) && iequals(std::string_view(id).substr(id.size() - 4), q);
        },
    };
    for (const Rule rule : rules) {
        if (apply(rule)) break;
    }
    std::sort(found.begin(), found.end(),
              [](const meshbot::NodeInfo& a, const meshbot::NodeInfo& b) {
                  if (a.short_name != b.short_name) return a.short_name < b.short_name;
                  return a.num < b.num;
              });
    return found;
}

// "3 nodes match "N0": !10000001 N001, !10000002 N002, ..." listing at most `shown`.
inline std::string describe_candidates(std::string_view query,
                                       const std::vector<meshbot::NodeInfo>& candidates,
                                       std::size_t shown = 8) {
    std::string out = std::to_string(candidates.size()) + " nodes match \"" +
                      clean_text(utf8_prefix(query, 40)) + "\":";
    for (std::size_t i = 0; i < candidates.size() && i < shown; ++i) {
        out += (i == 0 ? " " : ", ") + meshbot::node_id(candidates[i].num) + " " +
               clean_text(candidates[i].display_name());
    }
    if (candidates.size() > shown)
        out += ", +" + std::to_string(candidates.size() - shown) + " more";
    return out + ". Use the !id.";
}

}  // namespace remote
