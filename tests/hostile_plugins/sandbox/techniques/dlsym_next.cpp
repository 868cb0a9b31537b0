// attack_dlsym_next: socket() and connect() looked up with dlsym(RTLD_NEXT, ...), libc's own
// definitions, so the library imports neither and no interposed connect() sees the call.
#include "../attack.hpp"

void attack::run(const Targets& targets) {
    for (const auto& [target, address] : tcp_targets(targets))
        report(target, dial(address));
}
