// The echo plugin: `/echo <text>` repeats the sender's text on the mesh as "<short name>: <text>".
// It is the tutorial plugin, so it shows the whole SDK surface a command plugin needs:
// reading its config, registering a command, replying, and sending through the host.

#include <meshbot/sdk.hpp>

#include <chrono>
#include <string>
#include <unordered_map>

namespace {

using Clock = std::chrono::steady_clock;

// Owns the echo command and the memory of recent echoes; runs on the host's event loop.
class EchoPlugin {
public:
    explicit EchoPlugin(meshbot::Host& host) : host_(host) {
        // A value out of range stops the plugin from loading, with the value's file:line:column
        // (the SDK's error); meshbot plugins shows it.
        const auto& config = host_.config();
        channel_ = config.get_in<std::uint32_t>("channel", 0, 0, 7);
        reply_mode_ = config.get_one_of("mode", "broadcast", {"broadcast", "reply"}) == "reply";
        repeat_window_ = std::chrono::seconds(config.get_in<int>("repeat_window", 5, 0, 86400));

        host_.command(
            {.name = "echo",
             .args = "<text>",
             .help = reply_mode_ ? "send your text back to you" : "repeat your text on the channel",
             .scope = meshbot::Scope::both},
            [this](const meshbot::Command& cmd) { on_echo(cmd); });
    }

private:
    void on_echo(const meshbot::Command& cmd) {
        const std::string text(cmd.args());
        if (text.empty()) return cmd.reply("usage: /echo <text>");
        if (is_repeat(cmd.packet().from, text)) return;

        const std::string line = cmd.sender().display_name() + ": " + text;
        if (reply_mode_) {
            cmd.reply(line);
        } else {
            host_.send_text(meshbot::Channel{channel_}, line);
        }
    }

    // The same text from the same sender moments later is a resend, not a new request.
    bool is_repeat(std::uint32_t sender, const std::string& text) {
        const auto now = Clock::now();
        auto& last = last_echo_[sender];
        const bool repeat = last.text == text && now - last.at < repeat_window_;
        last = {text, now};
        return repeat;
    }

    struct LastEcho {
        std::string text;
        Clock::time_point at;
    };

    meshbot::Host& host_;
    std::uint32_t channel_ = 0;
    bool reply_mode_ = false;
    Clock::duration repeat_window_;
    std::unordered_map<std::uint32_t, LastEcho> last_echo_;
};

}  // namespace

MESHBOT_PLUGIN(EchoPlugin, "echo", "1.0.0")
