// Test plugin: `/secret` is a privileged command; it answers "secret ok" only when the host
// lets it run (an admin, in a PKI-encrypted DM).
#include <meshbot/sdk.hpp>

namespace {

class AdminToolPlugin {
public:
    explicit AdminToolPlugin(meshbot::Host& host) {
        host.command({.name = "secret",
                      .args = "",
                      .help = "admins only",
                      .scope = meshbot::Scope::both,
                      .privileged = true},
                     [](const meshbot::Command& cmd) { cmd.reply("secret ok"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(AdminToolPlugin, "admin_tool", "1.0.0")
