// Exercises the callback budget and what the host does around a plugin's blocking code:
//   /slow   blocks the host's event loop for one second (what post_work exists to avoid) before
//           replying "done": the host must log the overrun and attribute it to this plugin.
//   /hang   never returns: in the bot's process (isolation = "none") the host's watchdog must
//           name the plugin, and a second SIGTERM must end the bot.
//   /work   a post_work job of two seconds, still running when a test stops the bot: shutdown
//           must wait for it without calling into an unloaded library.

#include <meshbot/sdk.hpp>

#include <chrono>
#include <thread>

namespace {

class BlocksLoopPlugin {
public:
    explicit BlocksLoopPlugin(meshbot::Host& host) : host_(host) {
        host.command(
            {.name = "slow", .args = "", .help = "blocks the event loop for 1 s, then says done"},
            [](const meshbot::Command& cmd) {
                std::this_thread::sleep_for(std::chrono::seconds(1));
                cmd.reply("done");
            });
        host.command({.name = "hang", .args = "", .help = "never returns"},
                     [this](const meshbot::Command&) {
                         host_.log(meshbot::LogLevel::info, "hanging now");
                         for (;;)
                             std::this_thread::sleep_for(std::chrono::hours(1));
                     });
        host.command({.name = "work", .args = "", .help = "two seconds of work, then says worked"},
                     [this](const meshbot::Command& cmd) {
                         const auto event = cmd.event();
                         host_.post_work(
                             [] {
                                 std::this_thread::sleep_for(std::chrono::seconds(2));
                                 return 42;
                             },
                             [this, event](int) { host_.reply(event, "worked"); });
                         host_.log(meshbot::LogLevel::info, "work posted");
                     });
    }

private:
    meshbot::Host& host_;
};

}  // namespace

MESHBOT_PLUGIN(BlocksLoopPlugin, "blocks_loop", "1.0.0")
