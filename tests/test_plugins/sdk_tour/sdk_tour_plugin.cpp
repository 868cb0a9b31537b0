// Test plugin: touches every part of the Host handle once, so an end-to-end test can check
// that each one reaches the host and comes back: store, text events, timers, send_data with a
// completion, node queries, post_work, link and key events and typed config.
#include <meshbot/sdk.hpp>

#include <string>

namespace {

class SdkTourPlugin {
public:
    explicit SdkTourPlugin(meshbot::Host& host) : host_(host) {
        greeting_ = host_.config().get_or("greeting", "pong");
        host_.command({.name = "remember", .args = "<text>"}, [this](const meshbot::Command& cmd) {
            cmd.reply(host_.store().set("note", cmd.args()) ? "remembered" : "store failed");
        });
        host_.command({.name = "recall"}, [this](const meshbot::Command& cmd) {
            cmd.reply("note: " + host_.store().get("note").value_or("(none)"));
        });
        host_.command({.name = "later"}, [this](const meshbot::Command& cmd) {
            const auto event = cmd.event();
            later_ = host_.after(std::chrono::milliseconds(200),
                                 [this, event] { host_.reply(event, "later"); });
        });
        host_.command({.name = "whois", .args = "<node>"}, [this](const meshbot::Command& cmd) {
            const auto node = host_.node(cmd.args());
            cmd.reply(node ? node->id + " " + node->long_name : "unknown node");
        });
        host_.command({.name = "work"}, [this](const meshbot::Command& cmd) {
            const auto event = cmd.event();
            host_.post_work([] { return 6 * 7; },
                            [this, event](int answer) {
                                host_.reply(event, "work " + std::to_string(answer));
                            });
        });
        host_.command({.name = "ask", .args = "<node>"}, [this](const meshbot::Command& cmd) {
            const auto node = host_.node(cmd.args());
            if (!node) return cmd.reply("unknown node");
            const auto event = cmd.event();
            meshbot::DataRequest request{.to = node->num,
                                         .portnum = 67,
                                         .payload = std::string("\x12\x00", 2),
                                         .want_response = true,
                                         .timeout = std::chrono::milliseconds(500)};
            host_.send_data(request, [this, event](const meshbot::SendResult& r) {
                using S = meshbot::SendResult::Status;
                host_.reply(event, r.status == S::timeout    ? "ask: timeout"
                                   : r.status == S::response ? "ask: answered"
                                                             : "ask: failed: " + r.message);
            });
        });
        host_.command({.name = "links"}, [this](const meshbot::Command& cmd) {
            cmd.reply("links up " + std::to_string(ups_));
        });
        text_ = host_.on_text([this](const meshbot::TextMessage& m) {
            if (m.text() == "ping" && !m.packet().replayed) m.reply(greeting_);
        });
        up_ = host_.on_link_up([this] { ++ups_; });
        key_changed_ = host_.on_key_changed([this](const meshbot::NodeInfo& node) {
            host_.info("sdk_tour: key changed for " + node.id);
        });
    }

private:
    meshbot::Host& host_;
    std::string greeting_;
    int ups_ = 0;
    meshbot::Timer later_;
    meshbot::Subscription text_;
    meshbot::Subscription up_;
    meshbot::Subscription key_changed_;
};

}  // namespace

MESHBOT_PLUGIN(SdkTourPlugin, "sdk_tour", "1.0.0")
