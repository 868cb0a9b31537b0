#pragma once
// Turns text messages into command calls: prefix, DM/channel policy, permissions, per-sender
// rate limit, the built-in help, and the hints a user gets when something is refused.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/app_config.hpp"
#include "mesh.pb.h"
#include "meshbot/abi.h"
#include "plugin_host/rate_limiter.hpp"

namespace meshbot::plugins {

using Clock = std::chrono::steady_clock;

struct CommandCall {
    const pb::MeshPacket& packet;
    std::string_view name;
    std::string_view args;
    std::uint64_t event;  // for replies
};

struct CommandEntry {
    std::string name;
    std::string args;
    std::string help;
    mb_scope scope = MB_SCOPE_BOTH;
    bool privileged = false;
    std::string owner;  // plugin id
    std::function<void(const CommandCall&)> handler;
};

// What the router did since start, for /metrics and the status page. Plain data.
struct CommandActivity {
    // One command someone sent: which, who, what became of it. No message text: a status page
    // must not become a copy of people's messages.
    struct Recent {
        std::uint64_t at = 0;  // epoch seconds
        std::string command;
        std::uint32_t sender = 0;
        const char* outcome = "";  // "ran", "refused", "rate limited", "ignored", "backlog"
    };
    static constexpr std::size_t kRecent = 50;
    std::map<std::string, std::uint64_t, std::less<>> runs;  // per command that ran, help too
    std::uint64_t rate_limited = 0;
    std::uint64_t refused = 0;  // unknown, not allowed here, privileged without rights
    std::deque<Recent> recent;  // oldest first, at most kRecent
};

// Owns the command table and the per-sender limits; io_context thread only.
class CommandRouter {
public:
    // Sends a text to a node (as a DM) on a channel index; the bot splits and paces it.
    using Reply =
        std::function<void(std::uint32_t to, std::uint32_t channel, std::string_view text)>;

    // Whether a PKI-encrypted packet's key is the sender's pinned, unchanged key.
    using KeyCheck = std::function<bool(std::uint32_t sender, std::string_view packet_key)>;

    CommandRouter(const config::CommandsConfig& config, Reply reply, KeyCheck key_trusted = {});

    // New [commands] settings (a SIGHUP reload): from the next text on. A changed rate limit
    // starts counting afresh.
    void apply(const config::CommandsConfig& config);

    // Returns "" when added, otherwise why not (name taken, invalid, reserved).
    std::string add(CommandEntry entry);
    void remove_owner(std::string_view owner);
    // Removes one command, if `owner` registered it.
    void remove(std::string_view name, std::string_view owner);
    const std::map<std::string, CommandEntry, std::less<>>& commands() const { return commands_; }

    enum class Outcome {
        not_a_command,    // an ordinary text
        ran,              // a handler ran (or help answered)
        refused,          // a command we answered with a refusal, or rate limited
        ignored,          // a command we must not act on (own, disallowed channel)
        skipped_backlog,  // from the radio's backlog and older than commands.answer_backlog
    };
    Outcome on_text(const pb::MeshPacket& packet, bool replayed, std::uint32_t my_node,
                    std::uint64_t event, Clock::time_point now);
    const CommandActivity& activity() const { return activity_; }

    // Logs how many backlog commands were skipped since the last report, once, if any.
    void report_skipped_backlog();
    std::uint64_t skipped_backlog() const { return skipped_backlog_; }

    // "/echo <text>: repeat your text on the channel"
    std::string usage(const CommandEntry& entry) const;

private:
    Outcome route(const pb::MeshPacket& packet, bool replayed, std::uint32_t my_node,
                  std::uint64_t event, Clock::time_point now);
    void help(const pb::MeshPacket& packet, std::string_view topic, bool is_dm);
    void answer(const pb::MeshPacket& packet, std::string_view text);
    bool may_hint(std::uint32_t sender, Clock::time_point now);
    bool channel_allowed(std::uint32_t channel) const;

    config::CommandsConfig config_;
    Reply reply_;
    KeyCheck key_trusted_;
    RateLimiter limiter_;
    std::map<std::string, CommandEntry, std::less<>> commands_;
    std::unordered_map<std::uint32_t, Clock::time_point> last_hint_;
    std::uint64_t skipped_backlog_ = 0;  // since the last report
    CommandActivity activity_;
    bool rate_limited_now_ = false;  // the last route() refused a sender over the limit
};

// Splits "/echo  hello there " into ("echo", "hello there"); false when `text` is no command.
bool parse_command(std::string_view text, std::string_view prefix, std::string& name,
                   std::string_view& args);

}  // namespace meshbot::plugins
