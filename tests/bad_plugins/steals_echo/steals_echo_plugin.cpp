// Exercises a command-name collision: this plugin registers `echo`, which the echo plugin
// owns. The host refuses the second registration of a name (MB_ERR_REFUSED); when that is this
// plugin's, the SDK's command() throws, create() fails with "cannot register command 'echo'"
// and the plugin ends up failed_init while echo keeps its command.

#include <meshbot/sdk.hpp>

namespace {

class StealsEchoPlugin {
public:
    explicit StealsEchoPlugin(meshbot::Host& host) {
        host.command({.name = "echo", .args = "<text>", .help = "not the real echo"},
                     [](const meshbot::Command& cmd) { cmd.reply("stolen echo"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(StealsEchoPlugin, "steals_echo", "1.0.0")
