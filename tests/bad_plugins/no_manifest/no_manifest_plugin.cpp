// Exercises a plugin folder without plugin.toml: the library itself is a valid plugin, but the
// host decides everything from the manifest before dlopen, so without one the folder is
// reported and the library is never opened.

#include <meshbot/sdk.hpp>

namespace {

class NoManifestPlugin {
public:
    explicit NoManifestPlugin(meshbot::Host& host) {
        host.command(
            {.name = "nomanifest", .args = "", .help = "answers from a plugin without a manifest"},
            [](const meshbot::Command& cmd) { cmd.reply("no manifest"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(NoManifestPlugin, "no_manifest", "1.0.0")
