// Exercises a malformed plugin.toml (a TOML syntax error on line 3): the library itself is a
// valid plugin, but the host must report the manifest error with file:line:column and never
// open the library.

#include <meshbot/sdk.hpp>

namespace {

class BadManifestPlugin {
public:
    explicit BadManifestPlugin(meshbot::Host& host) {
        host.command({.name = "badmanifest",
                      .args = "",
                      .help = "answers from a plugin with a broken manifest"},
                     [](const meshbot::Command& cmd) { cmd.reply("bad manifest"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(BadManifestPlugin, "bad_manifest", "1.0.0")
