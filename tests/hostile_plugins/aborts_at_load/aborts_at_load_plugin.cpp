// A static constructor that aborts: it runs at dlopen, before any check of the plugin's id or
// ABI. Loaded into the bot (or into `meshbot plugins`) it ends that process; in a runner it
// ends the runner, and the plugin is reported as crashed while starting.

#include <cstdlib>
#include <meshbot/sdk.hpp>

namespace {

[[maybe_unused]] const int kDies = [] {
    std::abort();
    return 0;
}();

class AbortsAtLoadPlugin {
public:
    explicit AbortsAtLoadPlugin(meshbot::Host&) {}
};

}  // namespace

MESHBOT_PLUGIN(AbortsAtLoadPlugin, "aborts_at_load", "1.0.0")
