#pragma once
// The words of the remote plugin's answers: a traceroute's two routes, a node's telemetry or
// position, and every way a request can fail, told so that the user knows what to do next.
// Pure functions, header-only so unit tests can use them.

#include <meshbot/sdk/values.hpp>
#include <meshbot/sdk/wire.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text.hpp"

namespace remote {

enum class RequestKind { trace, telemetry, position };

inline const char* kind_noun(RequestKind kind) {
    switch (kind) {
        case RequestKind::trace:
            return "traceroute";
        case RequestKind::telemetry:
            return "telemetry";
        case RequestKind::position:
            return "position";
    }
    return "request";
}

// How replies name a node number (its short name when known, else the last 4 hex digits).
using NameOf = std::function<std::string(std::uint32_t)>;

// One direction of a traceroute: "SIM > N004 (6.0dB) > N002 (5.25dB)". `snr` holds one entry
// per hop (dB * 4, RouteDiscovery::kUnknownSnr for unknown); missing entries show no SNR.
inline std::string format_path(std::uint32_t from, const std::vector<std::uint32_t>& hops,
                               std::uint32_t to, const std::vector<std::int32_t>& snr,
                               const NameOf& name) {
    std::string out = name(from);
    for (std::size_t i = 0; i <= hops.size(); ++i) {
        const std::uint32_t node = i < hops.size() ? hops[i] : to;
        out += " > ";
        out += node == meshbot::wire::RouteDiscovery::kUnknownHop ? "?" : name(node);
        if (i < snr.size()) {
            const auto db = meshbot::wire::snr_db(snr[i]);
            out += db ? " (" + format_db(*db) + "dB)" : " (?dB)";
        }
    }
    return out;
}

// "SIM > N004 (6.0dB) > N002 (5.25dB)\nback: N002 > N004 (3.0dB) > SIM (5.5dB)". Older firmware
// reports no way back; then "back: not reported".
inline std::string format_trace(const meshbot::wire::RouteDiscovery& r, std::uint32_t self,
                                std::uint32_t target, const NameOf& name) {
    std::string out = format_path(self, r.route, target, r.snr_towards, name);
    if (r.route_back.empty() && r.snr_back.empty()) return out + "\nback: not reported";
    return out + "\nback: " + format_path(target, r.route_back, self, r.snr_back, name);
}

// "N002: battery 80%, 4.05V, channel util 12.5%, air tx 1.2%, up 3d4h" with what the node sent.
inline std::string format_telemetry(std::string_view who, const meshbot::wire::DeviceMetrics& m) {
    std::vector<std::string> parts;
    if (m.battery_level) {
        parts.push_back(*m.battery_level > 100
                            ? "external power"
                            : "battery " + std::to_string(*m.battery_level) + "%");
    }
    if (m.voltage && *m.voltage > 0) parts.push_back(format_fixed(*m.voltage, 2) + "V");
    if (m.channel_utilization)
        parts.push_back("channel util " + format_fixed(*m.channel_utilization, 1) + "%");
    if (m.air_util_tx) parts.push_back("air tx " + format_fixed(*m.air_util_tx, 1) + "%");
    if (m.uptime_seconds) parts.push_back("up " + format_duration(*m.uptime_seconds));
    if (parts.empty()) return std::string(who) + " sent empty device metrics";
    std::string out = std::string(who) + ":";
    for (std::size_t i = 0; i < parts.size(); ++i)
        out += (i == 0 ? " " : ", ") + parts[i];
    return out;
}

// "N002: 48.85660, 2.35220, alt 35 m, 12.3 km away", or that it shares no position.
inline std::string format_position(std::string_view who, const meshbot::wire::Position& p,
                                   const std::optional<meshbot::Position>& ours) {
    if (!p.has_location() || (p.latitude_i == 0 && p.longitude_i == 0)) {
        return std::string(who) + " does not share its position";
    }
    std::string out = std::string(who) + ": " + format_fixed(p.latitude(), 5) + ", " +
                      format_fixed(p.longitude(), 5);
    if (p.altitude) out += ", alt " + std::to_string(*p.altitude) + " m";
    if (p.precision_bits > 0 && p.precision_bits < 32) out += " (approximate)";
    if (ours && (ours->latitude != 0 || ours->longitude != 0)) {
        out +=
            ", " +
            format_km(haversine_km(ours->latitude, ours->longitude, p.latitude(), p.longitude())) +
            " away";
    }
    return out;
}

// Whole seconds, at least 1, for "in N s".
inline long whole_seconds(std::chrono::steady_clock::duration d) {
    const auto s =
        std::chrono::duration_cast<std::chrono::seconds>(d + std::chrono::milliseconds(500));
    return std::max<long>(1, static_cast<long>(s.count()));
}

inline std::string no_public_key(std::string_view who) {
    return "no public key for " + std::string(who) + "; it has to send its node info first";
}

// What to tell the user when a request ended without an answer. `waited` is how long it was
// out; `timeout` the configured limit. Empty for outcomes the user needs no word about.
inline std::string describe_failure(RequestKind kind, std::string_view who,
                                    const meshbot::SendResult& r,
                                    std::chrono::steady_clock::duration waited,
                                    std::chrono::seconds timeout) {
    using Status = meshbot::SendResult::Status;
    namespace routing = meshbot::wire::routing;
    const std::string name(who);
    const std::string noun = kind_noun(kind);
    switch (r.status) {
        case Status::timeout:
            return "no answer from " + name + " in " + std::to_string(timeout.count()) + " s";
        case Status::expired:
            return "the radio link was down too long; the " + noun + " request to " + name +
                   " was dropped";
        case Status::cancelled:
            return {};  // the bot is stopping
        case Status::rejected: {
            std::string why = r.message;
            for (auto& c : why)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (why.find("key") != std::string::npos) return no_public_key(who);
            return "could not send the " + noun + " request to " + name +
                   (r.message.empty() ? "" : ": " + clean_text(r.message));
        }
        case Status::acked:
        case Status::sent:
        case Status::response:
            return name + " sent no " + noun;
        case Status::nak:
            break;
    }
    switch (r.routing_error) {
        case routing::no_response:
            if (kind == RequestKind::position) return name + " does not share its position";
            if (kind == RequestKind::telemetry) return name + " does not answer telemetry requests";
            return name + " does not answer traceroutes";
        case routing::max_retransmit:
        case routing::timeout:
            return "no answer from " + name + " in " + std::to_string(whole_seconds(waited)) + " s";
        case routing::pki_send_fail_public_key:
            return no_public_key(who);
        case routing::pki_unknown_pubkey:
            return name + " does not know the bot's public key yet; try again later";
        case routing::pki_failed:
            return "encryption to " + name + " failed; its key may have changed";
        case routing::no_route:
            return "no route to " + name;
        case routing::duty_cycle_limit:
            return "the radio is at its duty-cycle limit; try again later";
        case routing::rate_limit_exceeded:
            return "the radio is rate limiting; try again later";
        default:
            return "the " + noun + " request to " + name + " failed (" +
                   meshbot::wire::routing_error_name(r.routing_error) + ")";
    }
}

}  // namespace remote
