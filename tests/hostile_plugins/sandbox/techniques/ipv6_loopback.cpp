// attack_ipv6_loopback: the radio's port through IPv6 spellings of this machine: [::1], [::]
// (taken to mean [::1]) and the IPv4-mapped [::ffff:127.0.0.1], which an IPv6 socket delivers
// to an IPv4 listener. The simulator listens on 127.0.0.1 only, so [::1] and [::] are refused
// by the kernel even without a sandbox; the line says which errno came back.
#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (!targets.radio_port) return;
    const std::pair<const char*, const char*> spellings[] = {
        {"radio6", "::1"}, {"radio_any6", "::"}, {"radio_mapped", "::ffff:127.0.0.1"}};
    for (const auto& [target, host] : spellings) {
        if (auto address = ip_address(host, *targets.radio_port)) report(target, dial(*address));
    }
}
