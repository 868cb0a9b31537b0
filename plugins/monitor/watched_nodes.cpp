#include "watched_nodes.hpp"

#include <algorithm>
#include <sstream>

namespace monitor {

std::string encode(const WatchMemory& memory) {
    std::ostringstream out;
    out << "v1 " << (memory.reported_offline ? 1 : 0) << ' ' << memory.last_offline << ' '
        << memory.last_back << ' ' << memory.last_reboot;
    return out.str();
}

std::optional<WatchMemory> decode_watch_memory(const std::string& text) {
    std::istringstream in(text);
    std::string version;
    int offline = 0;
    WatchMemory m;
    if (!(in >> version >> offline >> m.last_offline >> m.last_back >> m.last_reboot) ||
        version != "v1") {
        return std::nullopt;
    }
    m.reported_offline = offline != 0;
    return m;
}

WatchedNodes::WatchedNodes(WatchSettings settings, const std::vector<std::uint32_t>& nodes,
                           std::int64_t now)
    : settings_(settings) {
    // A node never heard is judged from the moment watching began, not from the epoch.
    for (const auto node : nodes)
        nodes_[node].last_heard = now;
}

void WatchedNodes::restore(std::uint32_t node, const WatchMemory& memory) {
    auto it = nodes_.find(node);
    if (it == nodes_.end()) return;
    it->second.memory = memory;
    it->second.offline = memory.reported_offline;
}

std::vector<WatchEvent> WatchedNodes::heard(std::uint32_t node, std::int64_t at, std::int64_t now,
                                            std::optional<std::uint32_t> uptime) {
    std::vector<WatchEvent> out;
    auto it = nodes_.find(node);
    if (it == nodes_.end()) return out;
    State& s = it->second;
    at = std::min(at, now);

    const bool news = !s.heard_ever || at > s.last_heard;
    if (news) {
        const std::int64_t silent_for = at - s.last_heard;
        s.last_heard = at;
        s.heard_ever = true;
        // Back only if this sighting is recent: a late copy of an old record is not a return.
        if (s.offline && now - at < settings_.offline_after) {
            s.offline = false;
            if (s.memory.reported_offline) {
                s.memory.reported_offline = false;
                if (cooled(s.memory.last_back, now)) {
                    s.memory.last_back = now;
                    out.push_back({WatchEvent::Kind::back_online, node,
                                   std::max<std::int64_t>(silent_for, 0), 0, 0, false});
                }
            }
        }
    }
    if (uptime) note_uptime(s, node, *uptime, at, now, out);
    return out;
}

void WatchedNodes::note_uptime(State& s, std::uint32_t node, std::uint32_t uptime, std::int64_t at,
                               std::int64_t now, std::vector<WatchEvent>& out) {
    if (s.uptime && uptime == *s.uptime) return;  // the same report seen again
    if (s.uptime && uptime < *s.uptime) {
        // A restart since the previous report fits the time since then; a smaller uptime that
        // does not is an old report delivered late, and tells nothing.
        const std::int64_t since = std::max<std::int64_t>(at - s.uptime_at, 0);
        if (uptime > since + settings_.reboot_slack) return;
        const bool quiet = !cooled(s.memory.last_reboot, now);
        if (!quiet) s.memory.last_reboot = now;
        out.push_back({WatchEvent::Kind::rebooted, node, 0, uptime, *s.uptime, quiet});
    }
    s.uptime = uptime;
    s.uptime_at = at;
}

std::vector<WatchEvent> WatchedNodes::check(std::int64_t now) {
    std::vector<WatchEvent> out;
    for (auto& [node, s] : nodes_) {
        const std::int64_t silent_for = now - s.last_heard;
        if (silent_for < settings_.offline_after) continue;
        const bool entering = !s.offline;
        s.offline = true;
        if (s.memory.reported_offline) continue;
        if (cooled(s.memory.last_offline, now)) {
            s.memory.reported_offline = true;
            s.memory.last_offline = now;
            out.push_back({WatchEvent::Kind::offline, node, silent_for, 0, 0, false});
        } else if (entering) {
            // Still silent when the cooldown ends, it is reported then: the operators may have
            // seen "back online" last.
            out.push_back({WatchEvent::Kind::offline, node, silent_for, 0, 0, true});
        }
    }
    return out;
}

std::vector<WatchedNodes::View> WatchedNodes::view() const {
    std::vector<View> out;
    for (const auto& [node, s] : nodes_)
        out.push_back({node, s.last_heard, s.heard_ever, s.offline, s.uptime});
    return out;
}

std::optional<std::int64_t> WatchedNodes::last_heard(std::uint32_t node) const {
    auto it = nodes_.find(node);
    if (it == nodes_.end() || !it->second.heard_ever) return std::nullopt;
    return it->second.last_heard;
}

WatchMemory WatchedNodes::memory(std::uint32_t node) const {
    auto it = nodes_.find(node);
    return it == nodes_.end() ? WatchMemory{} : it->second.memory;
}

}  // namespace monitor
