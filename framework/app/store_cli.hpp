#pragma once
// The operator's view of the node store from the command line, without the radio:
//   meshbot nodes --config FILE [--json]        the nodes the bot has heard
//   meshbot keys --config FILE [--json]         their pinned keys and key changes
//   meshbot keys accept NODE --config FILE      trust the key NODE now presents
// Listing reads the store files read-only (the daemon may be running). Accepting goes through
// the running daemon's control socket, or, when no daemon holds the data directory, locks it
// and changes the store itself.

#include <optional>
#include <string>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // node not found, nothing to accept, daemon unreachable
inline constexpr int kExitUsage = 2;

// One parsed store command line.
struct StoreCommand {
    enum class Kind { nodes, keys, accept };
    Kind kind = Kind::nodes;
    std::string node;  // accept: the node as the operator wrote it
    bool json = false;
};

// The positional words of the command line ({"keys", "accept", "!10000002"}), or nullopt
// with `error` set for a usage error. The words of a node name are joined with blanks.
std::optional<StoreCommand> parse_store_command(const std::vector<std::string>& words, bool json,
                                                std::string& error);

// Runs the command; prints to stdout (the listing, the answer) and stderr (problems). Returns
// the process exit code. Main thread; never touches the radio.
int run_store_command(const StoreCommand& command, const config::AppConfig& config);

}  // namespace meshbot::app
