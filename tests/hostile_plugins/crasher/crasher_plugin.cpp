// Crashes, hangs and exhausts memory on command, as a buggy plugin would. In its own runner
// process each costs that runner only: the bot keeps its radio link and its other plugins.
//   /abort /segv /exit3      die by abort(), a null-pointer write, exit(3)
//   /lastwords               replies "last words", then aborts (the reply goes out once)
//   /eat                     allocates until the memory limit
//   /hang /hang_timer        never return, from a command handler or a timer
//   /hang_done               post_work whose done() never returns
//   /sleepwork               post_work whose work() never returns (the runner stays responsive)
//   /keep TEXT, /kept        its key-value store, which outlives a crash
//   /alive                   "alive"
//   /unsubscribe_all         unsubscribe(id) for every id up to 10,000: ids it does not own, or
//                            that are not subscriptions, must change nothing

#include <meshbot/sdk.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void spin() {
    volatile unsigned long turns = 0;
    for (;;)
        turns = turns + 1;
}

class CrasherPlugin {
public:
    explicit CrasherPlugin(meshbot::Host& host) : host_(host) {
        add("alive", [](const meshbot::Command& cmd) { cmd.reply("alive"); });
        add("abort", [](const meshbot::Command&) { std::abort(); });
        add("segv", [](const meshbot::Command&) {
            volatile int* nowhere = nullptr;
            *nowhere = 1;
        });
        add("exit3", [](const meshbot::Command&) { std::exit(3); });
        add("lastwords", [](const meshbot::Command& cmd) {
            cmd.reply("last words");
            std::abort();
        });
        add("eat", [](const meshbot::Command&) {
            std::vector<std::unique_ptr<char[]>> blocks;
            for (;;) {
                blocks.push_back(std::make_unique<char[]>(1 << 20));
                std::memset(blocks.back().get(), 1, 1 << 20);
            }
        });
        add("hang", [](const meshbot::Command&) { spin(); });
        add("hang_timer", [this](const meshbot::Command&) {
            timer_ = host_.after(std::chrono::milliseconds(1), [] { spin(); });
        });
        add("hang_done", [this](const meshbot::Command&) {
            host_.post_work([] { return 1; }, [](int) { spin(); });
        });
        add("sleepwork", [this](const meshbot::Command& cmd) {
            host_.post_work(
                [] {
                    for (;;)
                        std::this_thread::sleep_for(std::chrono::seconds(1));
                    return 1;
                },
                [](int) {});
            cmd.reply("sleeping");
        });
        add("unsubscribe_all", [this](const meshbot::Command& cmd) {
            for (std::uint64_t id = 1; id <= 10000; ++id)
                host_.api()->unsubscribe(host_.handle(), id);
            cmd.reply("unsubscribed");
        });
        add("keep", [this](const meshbot::Command& cmd) {
            host_.store().set("kept", cmd.args());
            cmd.reply("kept");
        });
        add("kept", [this](const meshbot::Command& cmd) {
            cmd.reply("kept: " + host_.store().get("kept").value_or("nothing"));
        });
    }

private:
    template <typename Fn>
    void add(const char* name, Fn fn) {
        host_.command({.name = name, .args = "", .help = "misbehaves", .scope = meshbot::Scope::dm},
                      std::move(fn));
    }

    meshbot::Host& host_;
    meshbot::Timer timer_;
};

}  // namespace

MESHBOT_PLUGIN(CrasherPlugin, "crasher", "1.0.0")
