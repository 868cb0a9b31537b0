#include "sim_commands.hpp"

#include <charconv>
#include <ctime>
#include <map>
#include <set>
#include <vector>

#include "telemetry.pb.h"

namespace meshbot::sim {

namespace {

constexpr std::string_view kSpaces = " \t\r\n";

std::string_view trim(std::string_view s) {
    const auto begin = s.find_first_not_of(kSpaces);
    if (begin == std::string_view::npos) return {};
    return s.substr(begin, s.find_last_not_of(kSpaces) - begin + 1);
}

// Splits off the next whitespace-separated token; `rest` keeps the unparsed tail verbatim.
// A value written key="with spaces" runs to the closing quote (quotes kept, see unquote).
std::string_view next_token(std::string_view& rest) {
    rest = rest.substr(std::min(rest.size(), rest.find_first_not_of(kSpaces)));
    std::size_t end = std::min(rest.size(), rest.find_first_of(kSpaces));
    const auto eq = rest.find('=');
    if (eq != std::string_view::npos && eq < end && eq + 1 < rest.size() && rest[eq + 1] == '"') {
        const auto close = rest.find('"', eq + 2);
        if (close != std::string_view::npos) end = close + 1;
    }
    const std::string_view token = rest.substr(0, end);
    rest = rest.substr(end);
    return token;
}

std::string unquote(std::string_view value) {
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
}

struct Args {
    std::map<std::string, std::string, std::less<>> named;
    std::vector<std::string> positional;
    std::string text;  // verbatim tail, for text and notify
};

template <typename T>
std::optional<T> parse_number(std::string_view s) {
    T value{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// Reports the first problem; the parse_* helpers below set it and return defaults.
struct Checker {
    const Args& args;
    std::string error;

    std::optional<std::string_view> raw(std::string_view key) const {
        const auto it = args.named.find(key);
        if (it == args.named.end()) return std::nullopt;
        return std::string_view(it->second);
    }
    std::optional<std::uint32_t> node(std::string_view key, bool allow_broadcast = false) {
        const auto value = raw(key);
        if (!value) return std::nullopt;
        if (allow_broadcast && (*value == "broadcast" || *value == "all" || *value == "^all")) {
            return kBroadcast;
        }
        if (auto num = radio::parse_node_number(*value)) return num;
        fail(std::string(key) + "=" + std::string(*value) + " is not a node number");
        return std::nullopt;
    }
    template <typename T>
    std::optional<T> number(std::string_view key) {
        const auto value = raw(key);
        if (!value) return std::nullopt;
        if (auto n = parse_number<T>(*value)) return n;
        fail(std::string(key) + "=" + std::string(*value) + " is not a number");
        return std::nullopt;
    }
    std::optional<std::string> key(std::string_view name) {
        const auto value = raw(name);
        if (!value) return std::nullopt;
        auto bytes = from_hex(*value);
        if (!bytes || bytes->size() != 32) {
            fail(std::string(name) + "= needs 64 hex digits");
            return std::nullopt;
        }
        return bytes;
    }
    // A comma-separated list of node numbers.
    std::vector<std::uint32_t> nodes(std::string_view name) {
        std::vector<std::uint32_t> out;
        std::string_view rest = raw(name).value_or(std::string_view());
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string_view item = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            if (item.empty()) continue;
            if (auto num = radio::parse_node_number(item)) {
                out.push_back(*num);
            } else {
                fail(std::string(name) + ": " + std::string(item) + " is not a node number");
            }
        }
        return out;
    }
    void fail(std::string message) {
        if (error.empty()) error = std::move(message);
    }
    void allow(std::initializer_list<std::string_view> keys) {
        for (const auto& [key, value] : args.named) {
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                fail("unknown option " + key + "=");
            }
        }
    }
};

ParseResult error(std::string message) {
    return ParseResult{std::nullopt, std::move(message)};
}

// Reads key=value tokens; for commands with free text, stops at the first other token.
Args split_args(std::string_view rest, bool free_text, const std::set<std::string_view>& keys) {
    Args args;
    for (;;) {
        std::string_view before = rest;
        const std::string_view token = next_token(rest);
        if (token.empty()) break;
        const auto eq = token.find('=');
        const bool is_option = eq != std::string_view::npos && eq > 0 &&
                               (!free_text || keys.count(token.substr(0, eq)) != 0);
        if (is_option) {
            args.named.emplace(std::string(token.substr(0, eq)), unquote(token.substr(eq + 1)));
        } else if (free_text) {
            args.text = std::string(trim(before));
            break;
        } else {
            args.positional.emplace_back(token);
        }
    }
    return args;
}

std::uint32_t required_from(Checker& check) {
    auto from = check.node("from");
    if (!from && check.error.empty()) check.fail("from=NODE is required");
    return from.value_or(0);
}

ParseResult finish(Checker& check, Command command) {
    if (!check.error.empty()) return error(check.error);
    return ParseResult{std::move(command), {}};
}

}  // namespace

ParseResult parse_command(std::string_view line) {
    line = trim(line);
    if (line.empty() || line.front() == '#') return {};
    std::string_view rest = line;
    const std::string verb(next_token(rest));

    static const std::set<std::string_view> kTextKeys = {"from", "to",   "channel", "pki",  "key",
                                                         "id",   "hops", "rx_time", "reply"};
    const bool free_text = verb == "text" || verb == "notify";
    const Args args =
        split_args(rest, free_text, verb == "text" ? kTextKeys : std::set<std::string_view>{});
    Checker check{args, {}};
    const auto positional_count = [&](std::size_t max) {
        if (args.positional.size() > max) check.fail("too many arguments");
    };

    if (verb == "text") {
        check.allow({"from", "to", "channel", "pki", "key", "id", "hops", "rx_time", "reply"});
        TextCmd cmd;
        cmd.from = required_from(check);
        cmd.to = check.node("to", true).value_or(kBroadcast);
        cmd.channel = check.number<std::uint32_t>("channel").value_or(0);
        if (cmd.channel > 7) check.fail("channel must be 0..7");
        cmd.pki = check.number<int>("pki").value_or(0) != 0;
        cmd.key = check.key("key");
        if (cmd.key) cmd.pki = true;
        cmd.id = check.number<std::uint32_t>("id");
        cmd.hops = check.number<std::uint32_t>("hops");
        cmd.rx_time = check.number<std::uint32_t>("rx_time");
        cmd.reply_id = check.number<std::uint32_t>("reply");
        cmd.text = args.text;
        return finish(check, cmd);
    }
    if (verb == "nodeinfo") {
        check.allow({"from", "long", "short", "key"});
        positional_count(0);
        NodeInfoCmd cmd;
        cmd.from = required_from(check);
        if (auto v = check.raw("long")) cmd.long_name = std::string(*v);
        if (auto v = check.raw("short")) cmd.short_name = std::string(*v);
        cmd.key = check.key("key");
        return finish(check, cmd);
    }
    if (verb == "telemetry") {
        check.allow({"from", "battery", "voltage", "uptime", "chutil", "airutil"});
        positional_count(0);
        TelemetryCmd cmd;
        cmd.from = required_from(check);
        cmd.battery = check.number<std::uint32_t>("battery");
        cmd.voltage = check.number<float>("voltage");
        cmd.uptime = check.number<std::uint32_t>("uptime");
        cmd.chutil = check.number<float>("chutil");
        cmd.airutil = check.number<float>("airutil");
        return finish(check, cmd);
    }
    if (verb == "encrypted") {
        check.allow({"from", "to"});
        positional_count(0);
        EncryptedCmd cmd;
        cmd.from = required_from(check);
        cmd.to = check.node("to", true).value_or(kBroadcast);
        return finish(check, cmd);
    }
    if (verb == "notify") return ParseResult{NotifyCmd{args.text}, {}};
    if (verb == "forget" || verb == "forget-key" || verb == "silence" || verb == "return" ||
        verb == "node-reboot") {
        check.allow({"from"});
        positional_count(0);
        const std::uint32_t from = required_from(check);
        if (verb == "forget") return finish(check, ForgetCmd{from});
        if (verb == "forget-key") return finish(check, ForgetKeyCmd{from});
        if (verb == "silence") return finish(check, SilenceCmd{from});
        if (verb == "return") return finish(check, ReturnCmd{from});
        return finish(check, NodeRebootCmd{from});
    }
    if (verb == "beacon") {
        check.allow({"from", "every"});
        positional_count(0);
        BeaconCmd cmd;
        cmd.from = required_from(check);
        const auto every = check.number<double>("every");
        if (!every && check.error.empty()) check.fail("every=SECS is required");
        if (every && (*every < 0 || *every > 86400)) check.fail("every= out of range");
        if (every && *every > 0 && *every < 0.05) check.fail("every= below 0.05 s");
        cmd.every = every.value_or(0);
        return finish(check, cmd);
    }

    // The remaining commands take at most one positional number.
    const std::string first = args.positional.empty() ? std::string() : args.positional.front();
    if (verb == "drop" || verb == "oversize" || verb == "truncated" || verb == "undecodable" ||
        verb == "rebooted-frame" || verb == "quit") {
        check.allow({});
        positional_count(0);
        if (!check.error.empty()) return error(check.error);
        if (verb == "drop") return ParseResult{DropCmd{}, {}};
        if (verb == "oversize") return ParseResult{OversizeCmd{}, {}};
        if (verb == "truncated") return ParseResult{TruncatedCmd{}, {}};
        if (verb == "undecodable") return ParseResult{UndecodableCmd{}, {}};
        if (verb == "rebooted-frame") return ParseResult{RebootedFrameCmd{}, {}};
        return ParseResult{QuitCmd{}, {}};
    }
    if (verb == "reboot" || verb == "wait") {
        if (verb == "reboot") {
            check.allow({"secs", "lose"});
        } else {
            check.allow({"secs"});
        }
        positional_count(1);
        std::optional<double> secs = check.number<double>("secs");
        if (!first.empty()) {
            secs = parse_number<double>(first);
            if (!secs) check.fail(first + " is not a number of seconds");
        }
        if (verb == "wait" && !secs && check.error.empty()) check.fail("wait SECS");
        if (secs && (*secs < 0 || *secs > 86400)) check.fail("seconds out of range");
        if (verb == "wait") return finish(check, WaitCmd{secs.value_or(0)});
        return finish(check, RebootCmd{secs.value_or(1.0), check.nodes("lose")});
    }
    if (verb == "garbage" || verb == "flood") {
        check.allow(verb == "flood" ? std::initializer_list<std::string_view>{"from"}
                                    : std::initializer_list<std::string_view>{});
        positional_count(1);
        const auto count = parse_number<std::size_t>(first);
        if (!count || *count > 100000) check.fail(verb + " N (a count up to 100000)");
        if (verb == "garbage") return finish(check, GarbageCmd{count.value_or(0)});
        return finish(check, FloodCmd{count.value_or(0), check.node("from")});
    }
    return error("unknown command '" + verb + "'");
}

std::optional<pb::MeshPacket> build_injection(const Command& command, FirmwareModel& model) {
    const auto now = static_cast<std::uint32_t>(std::time(nullptr));
    if (const auto* text = std::get_if<TextCmd>(&command)) {
        pb::MeshPacket p = model.make_received(text->from, text->to, text->channel, text->hops,
                                               text->rx_time.value_or(now));
        p.set_id(text->id.value_or(model.next_packet_id()));
        const SimNode* sender = model.find_node(text->from);
        const std::string stored = sender != nullptr ? sender->public_key : std::string();
        if (text->pki) p.set_channel(0);  // PKI packets carry no channel hash
        if (text->pki && !text->key && stored.empty()) {
            // Sender's key not in our NodeDB: forwarded undecrypted (docs/radio-protocol.md §5.4).
            std::string bytes(text->text.size() + 12, '\0');  // + auth tag and extra nonce
            for (char& c : bytes)
                c = static_cast<char>(model.rng()() & 0xFF);
            p.set_encrypted(bytes);
            return p;
        }
        p.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
        p.mutable_decoded()->set_payload(text->text);
        if (text->reply_id) p.mutable_decoded()->set_reply_id(*text->reply_id);
        if (text->pki) {
            // What the client sees for a PKI-decrypted DM (docs/radio-protocol.md §5.4); key=
            // stands in for a sender whose key differs from the stored one.
            p.set_pki_encrypted(true);
            p.set_public_key(text->key.value_or(stored));
        }
        return p;
    }
    if (const auto* info = std::get_if<NodeInfoCmd>(&command)) {
        // The node announces its own key; key= gives it a new one from now on.
        RemoteNode& remote = model.remote(info->from);
        if (info->key) remote.public_key = *info->key;
        const SimNode* known = model.find_node(info->from);
        const bool named = known != nullptr && known->has_user;
        const std::string id = radio::node_id(info->from);
        pb::User user;
        user.set_id(id);
        user.set_long_name(info->long_name.value_or(named ? known->long_name : ""));
        if (user.long_name().empty())
            user.set_long_name("Meshtastic " + meshbot::default_short_name(info->from));
        user.set_short_name(info->short_name.value_or(named ? known->short_name : ""));
        if (user.short_name().empty()) user.set_short_name(meshbot::default_short_name(info->from));
        user.set_hw_model(kHwModel);
        user.set_public_key(remote.public_key);
        pb::MeshPacket p = model.make_received(info->from, kBroadcast, 0, std::nullopt, now);
        p.set_id(model.next_packet_id());
        p.mutable_decoded()->set_portnum(pb::NODEINFO_APP);
        p.mutable_decoded()->set_payload(user.SerializeAsString());
        return p;
    }
    if (const auto* tele = std::get_if<TelemetryCmd>(&command)) {
        // What the node says is what it is: later beacons and replies continue from it.
        RemoteNode& remote = model.remote(tele->from);
        if (tele->battery) remote.battery = *tele->battery;
        if (tele->uptime) remote.booted_at = wall_now() - *tele->uptime;
        if (tele->chutil) remote.channel_util = *tele->chutil;
        if (tele->airutil) remote.air_util_tx = *tele->airutil;
        pb::Telemetry telemetry;
        telemetry.set_time(now);
        pb::DeviceMetrics* m = telemetry.mutable_device_metrics();
        if (tele->battery) m->set_battery_level(*tele->battery);
        if (tele->voltage) m->set_voltage(*tele->voltage);
        if (tele->uptime) m->set_uptime_seconds(*tele->uptime);
        if (tele->chutil) m->set_channel_utilization(*tele->chutil);
        if (tele->airutil) m->set_air_util_tx(*tele->airutil);
        pb::MeshPacket p = model.make_received(tele->from, kBroadcast, 0, std::nullopt, now);
        p.set_id(model.next_packet_id());
        p.mutable_decoded()->set_portnum(pb::TELEMETRY_APP);
        p.mutable_decoded()->set_payload(telemetry.SerializeAsString());
        return p;
    }
    if (const auto* enc = std::get_if<EncryptedCmd>(&command)) {
        pb::MeshPacket p = model.make_received(enc->from, enc->to, 0, std::nullopt, now);
        p.set_id(model.next_packet_id());
        std::string bytes(48, '\0');
        for (char& c : bytes)
            c = static_cast<char>(model.rng()() & 0xFF);
        p.set_encrypted(bytes);
        return p;
    }
    return std::nullopt;
}

std::string_view command_help() {
    return R"(Commands (stdin, or --script FILE; '#' starts a comment). NODE is !xxxxxxxx, 0x... or decimal.
Packets from other nodes are heard by the radio: the NodeDB adds the sender (evicting when
full) and refreshes its last-heard time before the client gets the packet.
  text from=NODE [to=NODE|broadcast] [channel=N] [pki=1] [key=HEX64] [id=N] [hops=N]
       [rx_time=N] [reply=ID] TEXT...  pki=1: a PKI DM (channel 0, pki_encrypted, public_key =
                                    the sender's stored key; if the NodeDB has no key for the
                                    sender it arrives as the `encrypted` variant). key= forces
                                    public_key (a sender using another key) and implies pki=1.
                                    reply=: a reply (or reaction) to the packet ID
  nodeinfo from=NODE [long=NAME] [short=NAME] [key=HEX64]   the node announces its User with
                                    its own key (key= gives it a new one). The NodeDB stores
                                    it, unless it holds a different key: then the whole update
                                    is dropped (record key_mismatch); the client still gets it.
                                    Write long="two words" for names with spaces
  telemetry from=NODE [battery=N] [voltage=F] [uptime=N] [chutil=F] [airutil=F]
                                    also sets that node's state for later beacons and replies
  encrypted from=NODE [to=NODE]     a packet the radio could not decrypt
  notify TEXT...                    a clientNotification
  flood N [from=NODE]               N text packets
  drop                              close the client without notice
  reboot [SECS=1] [lose=NODE,NODE...]   drop the client, refuse connections for SECS, come
                                    back; the NodeDB (keys included) survives except the
                                    nodes listed in lose=
  forget from=NODE                  remove the node from the NodeDB (like remove_by_nodenum)
  forget-key from=NODE              erase only the stored key
  beacon from=NODE every=SECS       the node broadcasts TELEMETRY device_metrics (uptime,
                                    battery, channel/air utilisation) now and every SECS;
                                    every=0 stops it
  silence from=NODE                 the node goes off the air: no beacons, no auto-replies, no
                                    ACKs (DMs to it end in MAX_RETRANSMIT)
  return from=NODE                  back on the air: one telemetry packet at once, and its
                                    beacon again if it had one
  node-reboot from=NODE             the node restarts: uptime begins again near 0, it is back
                                    on the air and sends a telemetry packet at once
  rebooted-frame                    send FromRadio{rebooted=true}
  garbage N                         N random bytes (never 0x94)
  oversize                          a header announcing 600 bytes, then 600 bytes
  truncated                         a header announcing 100 bytes, then only 10
  undecodable                       a well-framed payload that is not protobuf
  wait SECS                         pause the command stream
  quit                              exit
Injected packets wait (max 8, texts evict the oldest) while no client has completed the handshake.

What the radio does with client packets (fw 2.7):
  - DMs whose portnum is not TRACEROUTE/NODEINFO/ROUTING/POSITION need the destination's key
    in the NodeDB, else ROUTING NAK PKI_SEND_FAIL_PUBLIC_KEY (39) from the own node; a client
    public_key that differs from the stored one gives PKI_FAILED (34).
  - want_ack (forced on for traceroute DMs): ACK from the destination (from the own node for
    broadcasts and local packets), MAX_RETRANSMIT for unknown or silent destinations.
  - A DM with want_response to a NodeDB node gets an answer after --reply-delay: TELEMETRY
    device_metrics{} / local_stats{} (PKI, the node's key), POSITION (NO_RESPONSE without a
    position), NODEINFO (its User; the NodeDB learns from it), TRACEROUTE (route/snr_towards/
    route_back/snr_back through hops-many other NodeDB nodes), anything else NO_RESPONSE (8).
  - Local ADMIN_APP (to the own node): add_contact stores the User and key (an empty key
    erases the stored one), marks the node favourite and writes flash; set_favorite_node,
    remove_favorite_node and remove_by_nodenum are modelled too.
  - Limits per connection: texts --text-gap apart (else NAK RATE_LIMIT_EXCEEDED), POSITION/
    WAYPOINT/ALERT/TELEMETRY 10 s apart (else dropped, queueStatus only), TRACEROUTE 30 s
    apart (else dropped, queueStatus + clientNotification); --no-throttle lifts the last two.
)";
}

}  // namespace meshbot::sim
