#pragma once
// What this machine's kernel offers a plugin sandbox, found independently of meshbot, so that a
// test can insist that every layer the kernel offers was applied.

#include <string>
#include <vector>

namespace meshbot::testing {

// The sandbox layers this kernel offers, by the names the bot logs, in the bot's order:
// "nnp" (always), "userns" and "netns" (a child process could unshare a user and a network
// namespace; "netns" alone when only the network namespace works), "seccomp" (seccomp with
// user notification), "landlock" (Landlock ABI 1 or later), "rlimits" (always). Computed once.
const std::vector<std::string>& offered_layers();

// The first non-loopback IPv4 address of an interface that is up, as text; "" when none.
std::string lan_ipv4();

}  // namespace meshbot::testing
