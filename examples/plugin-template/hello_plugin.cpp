// The plugin template: `/hello [name]` answers "hello <name>", or greets the sender by name.
// A whole plugin is this one file: a class whose constructor registers what it offers, and one
// macro that turns the class into the library's C entry point.

#include <meshbot/sdk.hpp>

#include <string>

namespace {

// Owns the /hello command; the host calls it on its event-loop thread only.
class HelloPlugin {
public:
    explicit HelloPlugin(meshbot::Host& host) : host_(host) {
        // [plugins.hello] greeting = "hi": the plugin's own config keys, with a default.
        greeting_ = host_.config().get_or("greeting", "hello");

        host_.command({.name = "hello",
                       .args = "[name]",
                       .help = "say " + greeting_ + " to someone, or to you",
                       .scope = meshbot::Scope::both},
                      [this](const meshbot::Command& cmd) { on_hello(cmd); });
        host_.info("ready, greeting with \"" + greeting_ + "\"");
    }

private:
    void on_hello(const meshbot::Command& cmd) {
        // No name given: greet the sender by the name the mesh knows them by.
        const std::string name =
            cmd.args().empty() ? cmd.sender().display_name() : std::string(cmd.args());
        cmd.reply(greeting_ + " " + name);
    }

    meshbot::Host& host_;
    std::string greeting_;
};

}  // namespace

MESHBOT_PLUGIN(HelloPlugin, "hello", "1.0.0")
