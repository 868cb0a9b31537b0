// Exercises "disabled means never opened": a namespace-scope object's constructor runs when the
// library is dlopen'ed and appends a line to the file named by $MESHBOT_TEST_MARK (if set). A
// test disables the plugin by config and checks the file does not exist; enabled, the plugin
// behaves well and answers /mark with "mark".

#include <meshbot/sdk.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

// Runs at dlopen (static initialisation), before the host ever calls the entry point.
struct MarkOnLoad {
    MarkOnLoad() {
        const char* path = std::getenv("MESHBOT_TEST_MARK");
        if (path == nullptr || *path == '\0') return;
        if (std::FILE* file = std::fopen(path, "a")) {
            std::fputs("static_mark: loaded\n", file);
            std::fclose(file);
        }
    }
};
const MarkOnLoad mark_on_load;

class StaticMarkPlugin {
public:
    explicit StaticMarkPlugin(meshbot::Host& host) {
        host.command({.name = "mark", .args = "", .help = "answers mark"},
                     [](const meshbot::Command& cmd) { cmd.reply("mark"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(StaticMarkPlugin, "static_mark", "1.0.0")
