// Exercises a constructor that throws: the SDK catches the exception at the boundary and
// create() returns NULL with the message, so the host marks the plugin failed_init with the
// reason "database unreachable" and keeps running the others.

#include <meshbot/sdk.hpp>

#include <stdexcept>

namespace {

class ThrowsInitPlugin {
public:
    explicit ThrowsInitPlugin(meshbot::Host& host) {
        host.info("connecting to the database ...");
        throw std::runtime_error("database unreachable");
    }
};

}  // namespace

MESHBOT_PLUGIN(ThrowsInitPlugin, "throws_init", "1.0.0")
