// Test plugin: `/long` answers with a 1,000-byte text full of multi-byte characters, so the
// host has to split it into numbered parts without cutting a character.
#include <meshbot/sdk.hpp>

#include <string>

namespace {

class LongReplyPlugin {
public:
    explicit LongReplyPlugin(meshbot::Host& host) {
        host.command({.name = "long", .args = "", .help = "a 1000-byte answer"},
                     [](const meshbot::Command& cmd) {
                         // "é" is 2 bytes, "€" 3, "📡" 4: 9 bytes per round, plus a counter to check
                         // order.
                         std::string text;
                         for (int i = 0; text.size() < 990; ++i)
                             text += "é€📡" + std::to_string(i % 10);
                         while (text.size() < 1000)
                             text += '.';
                         cmd.reply(text);
                     });
    }
};

}  // namespace

MESHBOT_PLUGIN(LongReplyPlugin, "long_reply", "1.0.0")
