// Exercises a command handler that throws: /boom throws std::runtime_error("boom"), which the
// SDK catches and reports through report_fault. The host counts the faults (and moves the
// plugin to faulted after [plugins] max_faults); until then /ok keeps answering "ok".

#include <meshbot/sdk.hpp>

#include <stdexcept>

namespace {

class ThrowsCallbackPlugin {
public:
    explicit ThrowsCallbackPlugin(meshbot::Host& host) {
        host.command({.name = "boom", .args = "", .help = "throws std::runtime_error(\"boom\")"},
                     [](const meshbot::Command&) { throw std::runtime_error("boom"); });
        host.command({.name = "ok", .args = "", .help = "answers ok"},
                     [](const meshbot::Command& cmd) { cmd.reply("ok"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(ThrowsCallbackPlugin, "throws_callback", "1.0.0")
