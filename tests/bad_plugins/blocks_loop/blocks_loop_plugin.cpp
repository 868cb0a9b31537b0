// Exercises the callback budget: /slow blocks the host's event loop for one second (what
// post_work exists to avoid) before replying "done". The host must log the overrun, attribute
// it to this plugin, and (if so configured) disable it.

#include <meshbot/sdk.hpp>

#include <chrono>
#include <thread>

namespace {

class BlocksLoopPlugin {
public:
    explicit BlocksLoopPlugin(meshbot::Host& host) {
        host.command(
            {.name = "slow", .args = "", .help = "blocks the event loop for 1 s, then says done"},
            [](const meshbot::Command& cmd) {
                std::this_thread::sleep_for(std::chrono::seconds(1));
                cmd.reply("done");
            });
    }
};

}  // namespace

MESHBOT_PLUGIN(BlocksLoopPlugin, "blocks_loop", "1.0.0")
