#pragma once
// Which node a person means by "<node>": one rule for the bot (`meshbot keys accept NAME`, the
// host's node_find) and for plugins (`host.node(...)`, `/info`). Header-only and pure, so the
// bot and every plugin compile the same rule; any thread.

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "meshbot/sdk/node_id.hpp"
#include "meshbot/sdk/values.hpp"

namespace meshbot {

namespace detail {

// ASCII-only case folding: enough for names typed on a radio's keyboard.
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

inline bool is_hex4(std::string_view s) {
    return s.size() == 4 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

}  // namespace detail

// What the rule looks at in a node, whatever type holds it.
struct NodeNames {
    std::uint32_t num = 0;
    std::string_view short_name;
    std::string_view long_name;
};

// The nodes `query` designates, by the first rule that finds any: node number or id; short name
// (exact, any case); long name (exact, any case); the beginning of a long name; the last four hex
// digits of the id. One node: found; several: ambiguous (sorted by short name, then number);
// none: no match. `names(node)` gives a node's NodeNames.
template <typename Node, typename Names>
std::vector<Node> match_nodes(std::string_view query, const std::vector<Node>& all, Names names) {
    std::vector<Node> found;
    if (query.empty()) return found;
    if (const auto num = parse_node_number(query)) {
        for (const auto& n : all) {
            if (names(n).num == *num) return {n};
        }
    }
    using Rule = bool (*)(const NodeNames&, std::string_view);
    const Rule rules[] = {
        [](const NodeNames& n, std::string_view q) { return detail::iequals(n.short_name, q); },
        [](const NodeNames& n, std::string_view q) { return detail::iequals(n.long_name, q); },
        [](const NodeNames& n, std::string_view q) {
            return n.long_name.size() >= q.size() &&
                   detail::iequals(n.long_name.substr(0, q.size()), q);
        },
        [](const NodeNames& n, std::string_view q) {
            return detail::is_hex4(q) && detail::iequals(default_short_name(n.num), q);
        },
    };
    for (const Rule rule : rules) {
        for (const auto& n : all) {
            if (rule(names(n), query)) found.push_back(n);
        }
        if (!found.empty()) break;
    }
    std::sort(found.begin(), found.end(), [&](const Node& a, const Node& b) {
        const NodeNames x = names(a);
        const NodeNames y = names(b);
        return x.short_name != y.short_name ? x.short_name < y.short_name : x.num < y.num;
    });
    return found;
}

// The same for the SDK's NodeInfo (host.nodes()).
inline std::vector<NodeInfo> match_nodes(std::string_view query, const std::vector<NodeInfo>& all) {
    return match_nodes(query, all, [](const NodeInfo& n) {
        return NodeNames{n.num, n.short_name, n.long_name};
    });
}

}  // namespace meshbot
