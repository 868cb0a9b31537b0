// The remote plugin: what the bot knows about other nodes (/nodes, /info, from the node store)
// and what it can ask them over the mesh (/trace, /tele, /pos, as want_response requests sent
// through the host). Each kind of request is paced to the firmware's per-connection throttle
// and queued briefly in front of it, because the radio silently drops a request that comes too
// soon after the previous one of its kind: a user's request is answered, refused with a reason,
// or timed out with a message, never lost.

#include <meshbot/sdk.hpp>
#include <meshbot/sdk/wire.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <string>

#include "answers.hpp"
#include "info_text.hpp"
#include "node_match.hpp"
#include "node_pages.hpp"
#include "request_lane.hpp"
#include "text.hpp"

namespace {

namespace wire = meshbot::wire;
using Clock = std::chrono::steady_clock;
using remote::RequestKind;
using remote::RequestLane;

// The firmware's per-connection limits (PhoneAPI::handleToRadioPacket): one TRACEROUTE per
// 30 s, one POSITION and one TELEMETRY per 10 s each. The margin covers the time a request may
// wait in the host's outbox behind other packets before it reaches the radio.
constexpr auto kTraceGap = std::chrono::seconds(30);
constexpr auto kTenSecondGap = std::chrono::seconds(10);
constexpr auto kGapMargin = std::chrono::seconds(1);

std::uint32_t epoch_now() {
    return static_cast<std::uint32_t>(std::time(nullptr));
}

// The plugin's [plugins.remote] keys, checked once: a bad value stops the plugin from loading
// with a message naming the key.
struct Settings {
    std::uint32_t window = 3 * 86400;  // /nodes: seconds since last heard
    std::size_t page_bytes = 200;      // /nodes: bytes per page, header included
    bool long_names = false;           // /nodes: long names instead of short ones
    std::size_t name_bytes = 16;       // /nodes: longest name, in bytes
    std::chrono::seconds timeout{60};  // /trace, /tele, /pos: how long to wait for an answer
    std::array<std::size_t, 3> queue{2, 2, 2};  // per RequestKind: requests that may wait

    explicit Settings(const meshbot::Config& c) {
        window = static_cast<std::uint32_t>(ranged(c, "window", window, 60, 365 * 86400));
        const auto as_int = [](std::size_t v) { return static_cast<std::int64_t>(v); };
        page_bytes = static_cast<std::size_t>(ranged(c, "page_bytes", as_int(page_bytes), 64, 200));
        name_bytes = static_cast<std::size_t>(ranged(c, "name_bytes", as_int(name_bytes), 4, 40));
        timeout = std::chrono::seconds(ranged(c, "timeout", timeout.count(), 1, 3600));
        const char* queue_keys[] = {"trace_queue", "tele_queue", "pos_queue"};  // RequestKind order
        for (std::size_t i = 0; i < queue.size(); ++i)
            queue[i] = static_cast<std::size_t>(ranged(c, queue_keys[i], 2, 0, 10));
        const std::string names = c.get_or("names", "short");
        if (names != "short" && names != "long")
            throw std::runtime_error("config key 'names' must be \"short\" or \"long\"");
        long_names = names == "long";
    }

    static std::int64_t ranged(const meshbot::Config& c, const char* key, std::int64_t fallback,
                               std::int64_t lo, std::int64_t hi) {
        const auto v = c.get_or<std::int64_t>(key, fallback);
        if (v < lo || v > hi) {
            throw std::runtime_error("config key '" + std::string(key) + "' must be between " +
                                     std::to_string(lo) + " and " + std::to_string(hi));
        }
        return v;
    }
};

struct KindSpec {
    const char* command;
    const char* help;
    std::uint32_t portnum;
    bool want_ack;  // the firmware forces want_ack on traceroutes anyway
};

const KindSpec& spec(RequestKind kind) {
    static const KindSpec specs[] = {
        {"trace", "traceroute to a node and back, with SNR per hop", wire::port::traceroute, true},
        {"tele", "ask a node for its battery, voltage, air use and uptime", wire::port::telemetry,
         false},
        {"pos", "ask a node for its position", wire::port::position, false},
    };
    return specs[static_cast<std::size_t>(kind)];
}

std::string request_payload(RequestKind kind) {
    switch (kind) {
        case RequestKind::trace:
            return wire::encode_route_discovery({});  // empty: the nodes on the way fill it in
        case RequestKind::telemetry:
            return wire::telemetry_request_device_metrics();
        case RequestKind::position:
            return wire::encode_position({});  // empty: asks without telling ours
    }
    return {};
}

// Owns the five commands, the three request lanes and their wake-up timers; every member runs
// on the host's event-loop thread.
class RemotePlugin {
public:
    explicit RemotePlugin(meshbot::Host& host)
        : host_(host),
          settings_(host.config()),
          lanes_{lane_for(RequestKind::trace, kTraceGap),
                 lane_for(RequestKind::telemetry, kTenSecondGap),
                 lane_for(RequestKind::position, kTenSecondGap)} {
        host_.command({.name = "nodes",
                       .args = "[page]",
                       .help = "nodes heard directly, best SNR first",
                       .scope = meshbot::Scope::dm},
                      [this](const meshbot::Command& cmd) { on_nodes(cmd); });
        host_.command({.name = "info",
                       .args = "<node>",
                       .help = "what the bot knows about a node",
                       .scope = meshbot::Scope::both},
                      [this](const meshbot::Command& cmd) { on_info(cmd); });
        for (const RequestKind kind :
             {RequestKind::trace, RequestKind::telemetry, RequestKind::position}) {
            host_.command({.name = spec(kind).command,
                           .args = "<node>",
                           .help = spec(kind).help,
                           .scope = meshbot::Scope::dm},
                          [this, kind](const meshbot::Command& cmd) { on_request(kind, cmd); });
        }
    }

private:
    struct Lane {
        RequestLane lane;
        meshbot::Timer wake;
    };

    Lane lane_for(RequestKind kind, Clock::duration firmware_gap) const {
        return Lane{
            RequestLane(firmware_gap + kGapMargin, settings_.queue[static_cast<std::size_t>(kind)]),
            {}};
    }
    Lane& lane(RequestKind kind) { return lanes_[static_cast<std::size_t>(kind)]; }

    // ---- /nodes [page]
    void on_nodes(const meshbot::Command& cmd) {
        std::size_t page = 1;
        if (const std::string_view arg = cmd.args(); !arg.empty()) {
            const bool digits =
                arg.size() <= 4 && arg.find_first_not_of("0123456789") == std::string_view::npos;
            page = digits ? std::stoul(std::string(arg)) : 0;
            if (page == 0) return cmd.reply("usage: /nodes [page]");
        }
        const std::uint32_t now = epoch_now();
        const std::string window = remote::format_age(settings_.window);
        const auto nodes = remote::direct_nodes(host_.nodes(), now, settings_.window);
        if (nodes.empty()) return cmd.reply("no nodes heard directly in the last " + window);

        std::vector<std::string> lines;
        lines.reserve(nodes.size());
        for (const auto& n : nodes)
            lines.push_back(remote::node_line(n, now, settings_.long_names, settings_.name_bytes));
        const auto pages = remote::paginate(lines, window, settings_.page_bytes);
        if (page > pages.size()) {
            return cmd.reply("no page " + std::to_string(page) + ": there " +
                             (pages.size() == 1
                                  ? "is 1 page"
                                  : "are " + std::to_string(pages.size()) + " pages"));
        }
        cmd.reply(pages[page - 1]);
    }

    // ---- /info <node>
    void on_info(const meshbot::Command& cmd) {
        const auto node = resolve(cmd, "usage: /info <node> (!id, number, short or long name)");
        if (node) cmd.reply(remote::format_info(*node, host_.self(), epoch_now()));
    }

    // The one node the command's argument designates; otherwise replies why not.
    std::optional<meshbot::NodeInfo> resolve(const meshbot::Command& cmd,
                                             const std::string& usage) {
        const std::string_view query = cmd.args();
        if (query.empty()) {
            cmd.reply(usage);
            return std::nullopt;
        }
        auto matches = host_.nodes_matching(query);
        if (matches.size() == 1) return std::move(matches.front());
        if (matches.empty()) {
            cmd.reply("no node matches \"" + remote::clean_text(remote::utf8_prefix(query, 40)) +
                      "\"");
        } else {
            cmd.reply(remote::describe_candidates(query, matches));
        }
        return std::nullopt;
    }

    // ---- /trace, /tele, /pos <node>
    void on_request(RequestKind kind, const meshbot::Command& cmd) {
        const std::string noun = remote::kind_noun(kind);
        const auto node = resolve(cmd, "usage: /" + std::string(spec(kind).command) +
                                           " <node> (!id, number, short or long name)");
        if (!node) return;
        if (node->is_self) return cmd.reply("that is the bot's own radio");

        remote::RemoteRequest request{node->num, name_of(node->num), cmd.packet().from,
                                      cmd.event()};
        Lane& l = lane(kind);
        const auto now = Clock::now();
        const auto admission = l.lane.admit(request, now);
        const auto in = [](const std::optional<Clock::duration>& eta) {
            return eta ? "in ~" + std::to_string(remote::whole_seconds(*eta)) + " s"
                       : std::string("when the one in progress is answered");
        };
        switch (admission.verdict) {
            case RequestLane::Verdict::send_now:
                launch(kind, std::move(request));
                return;
            case RequestLane::Verdict::queued:
                cmd.reply("queued: " + noun + " to " + request.target_name + " " +
                          in(admission.eta));
                schedule(kind);
                return;
            case RequestLane::Verdict::full:
                cmd.reply("sorry, the " + noun + " queue is full; try again " + in(admission.eta));
                return;
            case RequestLane::Verdict::duplicate:
                cmd.reply("your " + noun + " request to " + request.target_name +
                          " is already pending");
                return;
        }
    }

    void launch(RequestKind kind, remote::RemoteRequest request) {
        Lane& l = lane(kind);
        const std::uint64_t token = ++next_token_;
        const std::uint32_t to = request.target;
        l.lane.start(token, std::move(request), Clock::now());
        // A refused send runs the callback before send_data returns; on_result copes with that.
        const std::uint32_t id = host_.send_data(
            {.to = to,
             .portnum = spec(kind).portnum,
             .payload = request_payload(kind),
             .want_ack = spec(kind).want_ack,
             .want_response = true,
             .timeout = settings_.timeout},
            [this, kind, token](const meshbot::SendResult& r) { on_result(kind, token, r); });
        if (id != 0) l.lane.set_packet_id(token, id);
    }

    void on_result(RequestKind kind, std::uint64_t token, const meshbot::SendResult& r) {
        Lane& l = lane(kind);
        if (l.lane.in_flight_token() != token) return;  // already answered (late timeout)
        const auto waited = Clock::now() - l.lane.in_flight_since().value_or(Clock::now());
        const bool reached_radio = r.status != meshbot::SendResult::Status::rejected;
        const auto request = l.lane.finish(token, reached_radio);
        const std::string text = r.status == meshbot::SendResult::Status::response && r.response
                                     ? answer_text(kind, *request, *r.response)
                                     : remote::describe_failure(kind, request->target_name, r,
                                                                waited, settings_.timeout);
        if (!text.empty()) answer(*request, text);
        pump(kind);
    }

    std::string answer_text(RequestKind kind, const remote::RemoteRequest& request,
                            const meshbot::Packet& response) {
        const std::string& who = request.target_name;
        const std::string unreadable = who + " sent an answer the bot cannot read";
        switch (kind) {
            case RequestKind::trace: {
                const auto route = wire::decode_route_discovery(response.payload);
                if (!route) return unreadable;
                const auto self = host_.self();
                return remote::format_trace(*route, self ? self->num : 0, request.target,
                                            [this](std::uint32_t n) { return name_of(n); });
            }
            case RequestKind::telemetry: {
                const auto t = wire::decode_telemetry(response.payload);
                if (!t) return unreadable;
                if (!t->device_metrics) return who + " answered without device metrics";
                return remote::format_telemetry(who, *t->device_metrics);
            }
            case RequestKind::position: {
                const auto p = wire::decode_position(response.payload);
                if (!p) return unreadable;
                const auto self = host_.self();
                return remote::format_position(who, *p, self ? self->position : std::nullopt);
            }
        }
        return unreadable;
    }

    // Sends the next queued request if its time has come, else wakes up when it will have.
    void pump(RequestKind kind) {
        Lane& l = lane(kind);
        if (auto next = l.lane.take_ready(Clock::now())) launch(kind, std::move(*next));
        schedule(kind);
    }

    void schedule(RequestKind kind) {
        Lane& l = lane(kind);
        const auto at = l.lane.wake_at();
        if (!at) {
            l.wake.reset();
            return;
        }
        const auto delay = std::chrono::ceil<std::chrono::milliseconds>(*at - Clock::now());
        l.wake = host_.after(std::max(delay, std::chrono::milliseconds(0)),
                             [this, kind] { pump(kind); });
    }

    // Answers where the command came from; after 1,024 newer events the host has forgotten
    // it, and a DM to the asker does instead.
    void answer(const remote::RemoteRequest& request, const std::string& text) {
        if (!host_.reply(request.event, text)) host_.send_text(meshbot::To{request.asker}, text);
    }

    std::string name_of(std::uint32_t num) const {
        if (const auto n = host_.node(num)) return remote::clean_text(n->display_name());
        return meshbot::default_short_name(num);
    }

    meshbot::Host& host_;
    Settings settings_;
    std::array<Lane, 3> lanes_;  // indexed by RequestKind
    std::uint64_t next_token_ = 0;
};

}  // namespace

MESHBOT_PLUGIN(RemotePlugin, "remote", "1.0.0")
