#pragma once
// How /info and the requests word a name that matches several nodes. Which nodes a name
// matches is the SDK's rule (meshbot/sdk/node_match.hpp), the bot's own too. Header-only so
// unit tests can use it.

#include <meshbot/sdk/node_match.hpp>
#include <meshbot/sdk/values.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text.hpp"

namespace remote {

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
