#pragma once
// The runner's connect() guard: the radio's API port on this machine or at the radio's own
// address is refused to the plugin, however the address is spelt (loopback, unspecified,
// IPv4-mapped). An early warning that keeps an honest plugin granted the network from knocking
// the bot off the radio; the kernel-enforced containment is the sandbox's (docs/abi.md).

#include <string>

namespace meshbot::runner {

// Called once, before the plugin is loaded.
void guard_radio_endpoint(const std::string& host, unsigned port);

}  // namespace meshbot::runner
