#include "plugin_host/command_router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

#include "config/duration_text.hpp"
#include "portnums.pb.h"
#include "radio/radio_info.hpp"

namespace meshbot::plugins {

namespace {

constexpr std::string_view kHelp = "help";

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 24 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool allows(mb_scope scope, bool is_dm) {
    return scope == MB_SCOPE_BOTH || (is_dm ? scope == MB_SCOPE_DM : scope == MB_SCOPE_CHANNEL);
}

}  // namespace

bool parse_command(std::string_view text, std::string_view prefix, std::string& name,
                   std::string_view& args) {
    text = trim(text);
    if (prefix.empty() || !text.starts_with(prefix)) return false;
    text.remove_prefix(prefix.size());
    const auto end = std::find_if(text.begin(), text.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c));
    });
    name.assign(text.begin(), end);
    if (name.empty()) return false;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    args = trim(text.substr(static_cast<std::size_t>(end - text.begin())));
    return true;
}

CommandRouter::CommandRouter(const config::CommandsConfig& config, Reply reply,
                             KeyCheck key_trusted)
    : config_(config),
      reply_(std::move(reply)),
      key_trusted_(std::move(key_trusted)),
      limiter_(config.rate_limit, std::chrono::duration_cast<Clock::duration>(config.rate_window)) {
}

void CommandRouter::apply(const config::CommandsConfig& config) {
    if (config.rate_limit != config_.rate_limit || config.rate_window != config_.rate_window) {
        limiter_ = RateLimiter(config.rate_limit,
                               std::chrono::duration_cast<Clock::duration>(config.rate_window));
    }
    config_ = config;
}

std::string CommandRouter::add(CommandEntry entry) {
    if (!valid_name(entry.name)) {
        return "invalid command name '" + entry.name + "' (use a-z, 0-9, _ and -, at most 24)";
    }
    if (entry.name == kHelp) return "'help' is built into the host";
    if (auto it = commands_.find(entry.name); it != commands_.end()) {
        return "command " + config_.prefix + entry.name + " is already registered by plugin '" +
               it->second.owner + "'";
    }
    if (entry.scope < MB_SCOPE_DM || entry.scope > MB_SCOPE_BOTH) return "invalid scope";
    const std::string name = entry.name;
    commands_.emplace(name, std::move(entry));
    return {};
}

void CommandRouter::remove_owner(std::string_view owner) {
    std::erase_if(commands_, [&](const auto& item) { return item.second.owner == owner; });
}

void CommandRouter::remove(std::string_view name, std::string_view owner) {
    const auto it = commands_.find(name);
    if (it != commands_.end() && it->second.owner == owner) commands_.erase(it);
}

void CommandRouter::report_skipped_backlog() {
    const auto skipped = std::exchange(skipped_backlog_, 0);
    if (skipped == 0) return;
    spdlog::info(
        "commands: skipped {} command{} from the radio's backlog older than {} "
        "(commands.answer_backlog)",
        skipped, skipped == 1 ? "" : "s", config::duration_text(config_.answer_backlog));
}

bool CommandRouter::channel_allowed(std::uint32_t channel) const {
    return std::find(config_.channels.begin(), config_.channels.end(), channel) !=
           config_.channels.end();
}

CommandRouter::Outcome CommandRouter::on_text(const pb::MeshPacket& packet, bool replayed,
                                              std::uint32_t my_node, std::uint64_t event,
                                              Clock::time_point now) {
    rate_limited_now_ = false;
    const Outcome outcome = route(packet, replayed, my_node, event, now);
    if (outcome == Outcome::not_a_command) return outcome;
    std::string name;
    std::string_view args;
    parse_command(packet.decoded().payload(), config_.prefix, name, args);
    const char* what = "ignored";
    switch (outcome) {
        case Outcome::ran:
            ++activity_.runs[name];
            what = "ran";
            break;
        case Outcome::refused:
            ++(rate_limited_now_ ? activity_.rate_limited : activity_.refused);
            what = rate_limited_now_ ? "rate limited" : "refused";
            break;
        case Outcome::skipped_backlog:
            what = "backlog";
            break;
        default:
            break;
    }
    // Whatever named a command is recorded, up to the length of a command name: a stranger's
    // long "/<garbage>" must not fill the status page.
    name.resize(std::min<std::size_t>(name.size(), 32));
    activity_.recent.push_back(
        {static_cast<std::uint64_t>(std::time(nullptr)), std::move(name), packet.from(), what});
    if (activity_.recent.size() > CommandActivity::kRecent) activity_.recent.pop_front();
    return outcome;
}

CommandRouter::Outcome CommandRouter::route(const pb::MeshPacket& packet, bool replayed,
                                            std::uint32_t my_node, std::uint64_t event,
                                            Clock::time_point now) {
    if (!packet.has_decoded() || packet.decoded().portnum() != pb::TEXT_MESSAGE_APP) {
        return Outcome::not_a_command;
    }
    std::string name;
    std::string_view args;
    if (!parse_command(packet.decoded().payload(), config_.prefix, name, args)) {
        return Outcome::not_a_command;
    }
    const std::uint32_t sender = packet.from();
    if (sender == my_node) {
        spdlog::debug("commands: ignored {}{} from {} (our own)", config_.prefix, name,
                      radio::node_id(sender));
        return Outcome::ignored;
    }
    const bool is_dm = packet.to() == my_node;
    if (is_dm ? !config_.dm
              : (packet.to() != radio::kBroadcast || !channel_allowed(packet.channel()))) {
        return Outcome::ignored;
    }
    if (replayed) {
        // Sent while the bot was away: still worth an answer while young, by its rx_time.
        const auto now_epoch = static_cast<std::int64_t>(std::time(nullptr));
        const auto age = config::Seconds(static_cast<double>(
            packet.rx_time() == 0 ? 0 : std::max<std::int64_t>(0, now_epoch - packet.rx_time())));
        if (packet.rx_time() == 0 || age > config_.answer_backlog) {
            ++skipped_backlog_;
            spdlog::debug("commands: skipped {}{} from {} from the radio's backlog ({} old)",
                          config_.prefix, name, radio::node_id(sender),
                          packet.rx_time() == 0 ? "age unknown" : config::duration_text(age));
            return Outcome::skipped_backlog;
        }
        spdlog::info("commands: {}{} from {} waited {} in the radio's backlog; answering it",
                     config_.prefix, name, radio::node_id(sender), config::duration_text(age));
    }

    const auto decision = limiter_.check(sender, now);
    if (decision.verdict != RateLimiter::Verdict::allow) {
        if (decision.verdict == RateLimiter::Verdict::deny_notify) {
            const auto secs = std::chrono::ceil<std::chrono::seconds>(decision.retry_after).count();
            answer(packet,
                   "slow down: retry in " + std::to_string(std::max<long long>(1, secs)) + " s");
        }
        spdlog::info("commands: rate limited {} ({}{})", radio::node_id(sender), config_.prefix,
                     name);
        rate_limited_now_ = true;
        return Outcome::refused;
    }

    if (name == kHelp) {
        spdlog::info("commands: {}help from {}", config_.prefix, radio::node_id(sender));
        help(packet, args, is_dm);
        return Outcome::ran;
    }
    auto it = commands_.find(name);
    if (it == commands_.end()) {
        // On a channel other bots' commands are normal traffic: say nothing there.
        if (is_dm && may_hint(sender, now)) {
            answer(packet, "unknown command " + config_.prefix + name + "; send " + config_.prefix +
                               "help");
        }
        return Outcome::refused;
    }
    const CommandEntry& entry = it->second;
    if (!allows(entry.scope, is_dm)) {
        if (is_dm) answer(packet, config_.prefix + name + " works on a channel only");
        return Outcome::ignored;
    }
    if (entry.privileged) {
        const bool admin =
            std::find(config_.admins.begin(), config_.admins.end(), sender) != config_.admins.end();
        if (!admin || !is_dm || !packet.pki_encrypted()) {
            spdlog::warn("commands: refused privileged {}{} from {} ({})", config_.prefix, name,
                         radio::node_id(sender),
                         !admin   ? "not an admin"
                         : !is_dm ? "not a DM"
                                  : "not PKI-encrypted");
            answer(packet, "refused: " + config_.prefix + name +
                               " is for admins, in an encrypted direct message");
            return Outcome::refused;
        }
        if (!key_trusted_ || !key_trusted_(sender, packet.public_key())) {
            spdlog::warn(
                "commands: refused privileged {}{} from {}: its key is not the pinned one (a "
                "changed key needs `meshbot keys accept {}`)",
                config_.prefix, name, radio::node_id(sender), radio::node_id(sender));
            answer(packet, "refused: " + config_.prefix + name +
                               ": your key changed; an operator must accept it first");
            return Outcome::refused;
        }
    }
    spdlog::info("commands: {}{} from {} ({})", config_.prefix, name, radio::node_id(sender),
                 is_dm ? "DM" : "channel " + std::to_string(packet.channel()));
    entry.handler(CommandCall{packet, name, args, event});
    return Outcome::ran;
}

std::string CommandRouter::usage(const CommandEntry& entry) const {
    std::string out = config_.prefix + entry.name;
    if (!entry.args.empty()) out += " " + entry.args;
    if (!entry.help.empty()) out += ": " + entry.help;
    if (entry.scope == MB_SCOPE_DM) out += " (DM only)";
    if (entry.scope == MB_SCOPE_CHANNEL) out += " (channel only)";
    return out;
}

void CommandRouter::help(const pb::MeshPacket& packet, std::string_view topic, bool is_dm) {
    if (!topic.empty()) {
        std::string name(topic.starts_with(config_.prefix) ? topic.substr(config_.prefix.size())
                                                           : topic);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (name == kHelp)
            return answer(packet,
                          config_.prefix + "help [command]: list commands or show one's usage");
        auto it = commands_.find(name);
        if (it == commands_.end()) return answer(packet, "no command " + config_.prefix + name);
        return answer(packet, usage(it->second));
    }
    std::string list = "commands:";
    for (const auto& [name, entry] : commands_) {
        if (!allows(entry.scope, is_dm)) continue;
        list += " " + config_.prefix + name;
    }
    list += " " + config_.prefix + "help. " + config_.prefix + "help <command> for usage";
    answer(packet, list);
}

void CommandRouter::answer(const pb::MeshPacket& packet, std::string_view text) {
    // Answers go to the sender as a DM, also for channel commands: they concern one person,
    // and a busy channel is everybody's airtime.
    reply_(packet.from(), packet.channel(), text);
}

bool CommandRouter::may_hint(std::uint32_t sender, Clock::time_point now) {
    if (last_hint_.size() > 10000) last_hint_.clear();  // bounded; a hint too many is harmless
    auto [it, inserted] = last_hint_.try_emplace(sender, now);
    if (inserted) return true;
    if (now - it->second < config_.rate_window) return false;
    it->second = now;
    return true;
}

}  // namespace meshbot::plugins
