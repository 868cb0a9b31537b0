// attack_needed_helper: the plugin links a helper library of its own (libattack_net_helper.so,
// beside it) whose function connects the ordinary way. The plugin imports only that function.
#include "../attack.hpp"

extern "C" int attack_helper_dial(const char* host, int port);

void attack::run(const Targets& targets) {
    if (targets.radio_port) report("radio", attack_helper_dial("127.0.0.1", *targets.radio_port));
    if (targets.listener_port)
        report("listener", attack_helper_dial("127.0.0.1", *targets.listener_port));
}
