// The plugin every attack_<technique> library is built around: it reads its targets from its
// config table, tries its private folder, runs its technique as soon as it is created (before
// the bot even connects to the radio) and says "attack: done". Its manifest is honest and asks
// for no permission; MESHBOT_ATTACK_ID (a compile definition) is its id. The lines it prints
// come from attack_output.cpp.
#include <meshbot/sdk.hpp>
#include <string>

#include "attack.hpp"

#ifndef MESHBOT_ATTACK_ID
#error "MESHBOT_ATTACK_ID must name the plugin, e.g. -DMESHBOT_ATTACK_ID=\"attack_raw_syscall\""
#endif

namespace {

attack::Targets read_targets(const meshbot::Config& config) {
    attack::Targets t;
    t.radio_port = config.get<int>("radio_port");
    t.listener_port = config.get<int>("listener_port");
    t.udp_port = config.get<int>("udp_port");
    t.lan_address = config.get_or("lan_address", "");
    t.store_path = config.get_or("store_path", "");
    t.control_socket = config.get_or("control_socket", "");
    t.config_path = config.get_or("config_path", "");
    t.serial_path = config.get_or("serial_path", "");
    t.outside_path = config.get_or("outside_path", "");
    t.unix_path = config.get_or("unix_path", "");
    t.signal_pid = config.get<int>("signal_pid");
    t.ipc_key = config.get<int>("ipc_key");
    return t;
}

// Runs the attack in its constructor, which create() calls.
class AttackPlugin {
public:
    explicit AttackPlugin(meshbot::Host& host) {
        attack::try_home();
        attack::run(read_targets(host.config()));
        attack::say("attack: done");
    }
};

}  // namespace

MESHBOT_PLUGIN(AttackPlugin, MESHBOT_ATTACK_ID, "1.0.0")
