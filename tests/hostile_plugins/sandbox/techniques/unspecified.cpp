// attack_unspecified: connect() to 0.0.0.0, which Linux takes to mean this machine's loopback,
// a spelling a guard matching 127.0.0.1 alone would miss.
#include "../attack.hpp"

void attack::run(const Targets& targets) {
    for (const auto& [target, address] : tcp_targets(targets, "0.0.0.0"))
        report(target, dial(address));
}
