// The plugin every attack_<technique> library is built around: it reads its targets from its
// config table, tries its private folder, runs its technique as soon as it is created (before
// the bot even connects to the radio) and says "attack: done". Its manifest is honest and asks
// for no permission; MESHBOT_ATTACK_ID (a compile definition) is its id.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <meshbot/sdk.hpp>
#include <string>

#include "attack.hpp"

#ifndef MESHBOT_ATTACK_ID
#error "MESHBOT_ATTACK_ID must name the plugin, e.g. -DMESHBOT_ATTACK_ID=\"attack_raw_syscall\""
#endif

namespace attack {

void say(std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void reached(std::string_view target) {
    say("attack " + std::string(target) + ": reached");
}

void blocked(std::string_view target, std::string_view why) {
    say("attack " + std::string(target) + ": blocked (" + std::string(why) + ")");
}

void report(std::string_view target, int error) {
    if (error == 0) return reached(target);
    blocked(target, std::strerror(error));
}

}  // namespace attack

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
    return t;
}

// The one place a sandboxed plugin may write: $HOME, its private folder. The file is removed
// again, so that a run without the sandbox leaves nothing behind either.
void try_home() {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return attack::say("attack home: blocked (HOME not set)");
    const std::string path = std::string(home) + "/attack-home-" + std::to_string(::getpid());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return attack::say(std::string("attack home: blocked (") + std::strerror(errno) + ")");
    }
    const bool written = ::write(fd, "home\n", 5) == 5;
    ::close(fd);
    ::unlink(path.c_str());
    attack::say(written ? "attack home: ok" : "attack home: blocked (write failed)");
}

// Runs the attack in its constructor, which create() calls.
class AttackPlugin {
public:
    explicit AttackPlugin(meshbot::Host& host) {
        try_home();
        attack::run(read_targets(host.config()));
        attack::say("attack: done");
    }
};

}  // namespace

MESHBOT_PLUGIN(AttackPlugin, MESHBOT_ATTACK_ID, "1.0.0")
