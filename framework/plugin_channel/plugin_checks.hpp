#pragma once
// The checks a plugin library must pass once loaded (entry point, ABI, id), in one place for
// the in-process loader and the runner.

#include <optional>
#include <string>
#include <string_view>

#include "meshbot/abi.h"

namespace meshbot::channel {

struct InfoRefusal {
    enum class Kind { load, version, manifest };
    Kind kind;
    std::string reason;
};

// What the entry point returned, against the manifest's id and this host's ABI. Messages start
// with `library`. Pure.
std::optional<InfoRefusal> check_plugin_info(const mb_plugin_info* info,
                                             std::string_view manifest_id,
                                             const std::string& library);

}  // namespace meshbot::channel
