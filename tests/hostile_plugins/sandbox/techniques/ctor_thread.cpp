// attack_ctor_thread: a static constructor, which runs at dlopen() before the host has called a
// single function of the plugin, starts a thread. That thread lives on beside whatever the
// plugin does later and makes the connections (socket calls found by dlsym). The targets come
// from the plugin's config, which only create() can read, so create() hands them over and
// waits for the thread's results (at most 3 s).
#include <chrono>
#include <future>
#include <thread>

#include "../attack.hpp"

namespace {

// The thread started at load time and the hand-over from create().
struct LoadTimeThread {
    std::promise<attack::Targets> targets;
    std::promise<void> finished;
    std::thread thread;

    LoadTimeThread() {
        thread = std::thread([this, given = targets.get_future()]() mutable {
            attack::Targets t;
            try {
                t = given.get();
            } catch (const std::future_error&) {
                return;  // never created (a probe's runner exits after dlopen): nothing to do
            }
            for (const auto& [target, address] : attack::tcp_targets(t))
                attack::report(target, attack::dial(address));
            finished.set_value();
        });
    }
    ~LoadTimeThread() {
        if (thread.joinable()) thread.detach();  // the runner never unloads a plugin it runs
    }
};

// Constructed at dlopen(): the attack is under way before create() is called.
LoadTimeThread g_thread;

}  // namespace

void attack::run(const Targets& targets) {
    say("attack ctor: thread started at load time");
    auto finished = g_thread.finished.get_future();
    g_thread.targets.set_value(targets);
    if (finished.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
        say("attack ctor: the thread did not finish within 3 s");
        return;
    }
    g_thread.thread.join();
}
