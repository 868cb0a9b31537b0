// attack_lan_address: this machine's own LAN address instead of a loopback one: "lan" at the
// radio's port, "lan_listener" at the test's listener (which the test binds on every address).
#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (targets.lan_address.empty()) return;
    const std::pair<const char*, const std::optional<int>*> ports[] = {
        {"lan", &targets.radio_port}, {"lan_listener", &targets.listener_port}};
    for (const auto& [target, port] : ports) {
        if (!port->has_value()) continue;
        if (auto address = ip_address(targets.lan_address, **port)) report(target, dial(*address));
    }
}
