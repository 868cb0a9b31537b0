#pragma once
// /info: everything the bot's node store knows about one node, as a few short lines. A pure
// function, header-only so unit tests can use it.

#include <meshbot/sdk/values.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "device_names.hpp"
#include "text.hpp"

namespace remote {

inline bool has_fix(const std::optional<meshbot::Position>& p) {
    return p && (p->latitude != 0 || p->longitude != 0);
}

// "N001 Node 0001 !10000001\nrole CLIENT, hw TBEAM\nheard 5m ago, SNR 6.0dB, RSSI -84dBm,
// direct\nbattery 80%, 4.05V\n1.23 km away\nkey pinned, on the radio". `self` is the bot's own
// node (for the distance), `now` epoch seconds.
inline std::string format_info(const meshbot::NodeInfo& n,
                               const std::optional<meshbot::NodeInfo>& self, std::uint32_t now) {
    std::vector<std::string> lines;
    std::string names = clean_text(n.display_name());
    if (!n.long_name.empty()) names += " " + clean_text(n.long_name);
    lines.push_back(names + " " + meshbot::node_id(n.num) + (n.is_self ? " (this bot)" : ""));
    lines.push_back("role " + role_name(n.role) + ", hw " + hw_model_name(n.hw_model));

    if (!n.is_self) {
        std::string heard =
            n.last_heard == 0
                ? "never heard"
                : "heard " + format_age(static_cast<std::int64_t>(now) - n.last_heard) + " ago";
        if (n.last_heard != 0) heard += ", SNR " + format_db(n.snr) + "dB";
        if (n.rssi != 0) heard += ", RSSI " + std::to_string(n.rssi) + "dBm";
        if (n.hops_away == 0) {
            heard += ", direct";
        } else if (n.hops_away > 0) {
            heard += ", " + std::to_string(n.hops_away) + (n.hops_away == 1 ? " hop" : " hops");
        }
        lines.push_back(heard);
    }

    if (n.metrics) {
        std::string power;
        if (n.metrics->battery_level > 100) {
            power = "external power";
        } else if (n.metrics->battery_level > 0) {
            power = "battery " + std::to_string(n.metrics->battery_level) + "%";
        }
        if (n.metrics->voltage > 0) {
            power += (power.empty() ? "" : ", ") + format_fixed(n.metrics->voltage, 2) + "V";
        }
        if (!power.empty()) lines.push_back(power);
    }

    if (!n.is_self && has_fix(n.position) && self && has_fix(self->position)) {
        lines.push_back(format_km(haversine_km(self->position->latitude, self->position->longitude,
                                               n.position->latitude, n.position->longitude)) +
                        " away");
    }

    switch (n.key_state) {
        case meshbot::KeyState::unknown:
            lines.push_back("key none");
            break;
        case meshbot::KeyState::pinned:
            lines.push_back(std::string("key pinned") + (n.is_self         ? ""
                                                         : n.radio_has_key ? ", on the radio"
                                                                           : ", not on the radio"));
            break;
        case meshbot::KeyState::changed:
            lines.push_back(std::string("key CHANGED, admin rights suspended") +
                            (n.radio_has_key ? ", the radio holds the pinned one" : ""));
            break;
    }

    std::string out;
    for (const auto& line : lines)
        out += (out.empty() ? "" : "\n") + line;
    return out;
}

}  // namespace remote
