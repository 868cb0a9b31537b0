// Exercises "disabled means never opened": a namespace-scope object's constructor runs when the
// library is dlopen'ed and appends a line to static_mark.loaded in its private folder ($HOME in
// its runner, data_dir/plugin-data/static_mark/, the one folder its sandbox lets it write). A test
// disables the plugin by config and checks the file does not exist; enabled, the plugin behaves
// well and answers /mark with "mark".

#include <meshbot/sdk.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// Runs at dlopen (static initialisation), before the host ever calls the entry point.
struct MarkOnLoad {
    MarkOnLoad() {
        // Only in its private folder: in the bot's process (isolation = "none") $HOME is a
        // person's.
        const char* home = std::getenv("HOME");
        const std::string folder = home ? home : "";
        const std::string mine = "/plugin-data/static_mark";
        if (folder.size() < mine.size() ||
            folder.compare(folder.size() - mine.size(), mine.size(), mine) != 0)
            return;
        if (std::FILE* file = std::fopen((folder + "/static_mark.loaded").c_str(), "a")) {
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
