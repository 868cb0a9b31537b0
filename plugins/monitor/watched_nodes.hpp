#pragma once
// Liveness of the nodes an operator asked to watch: "offline" after `offline_after` seconds of
// silence, "back online" when a node that was reported offline is heard again, "rebooted" when
// its reported uptime goes backwards; each at most once per `cooldown` per node and kind.
//
// Times are epoch seconds passed in by the caller (the node store's last_heard is epoch
// seconds too), so the logic is unit-tested without clocks. The original bot's "back online"
// could never fire because it refreshed last-seen before testing it; here hearing a node and
// judging its silence are separate steps, and "back online" hangs on the offline alert alone.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace monitor {

struct WatchSettings {
    std::int64_t offline_after = 900;  // seconds of silence before "offline"
    std::int64_t cooldown = 600;       // per node and kind
    // A report counts as a reboot only if the new uptime fits in the time since the previous
    // report (plus this slack for delivery delays); an older report arriving late does not.
    std::int64_t reboot_slack = 120;
};

struct WatchEvent {
    enum class Kind { offline, back_online, rebooted };
    Kind kind;
    std::uint32_t node;
    std::int64_t silent_for = 0;        // offline, back_online: seconds not heard
    std::uint32_t uptime = 0;           // rebooted: the new uptime
    std::uint32_t previous_uptime = 0;  // rebooted: the uptime it went back from
    bool quiet = false;  // it happened within the cooldown: worth a log line, not a message
};

// What one node's alerts were, as the plugin persists it across restarts.
struct WatchMemory {
    bool reported_offline = false;
    std::int64_t last_offline = 0;  // epoch seconds of the last alert of each kind, 0 = never
    std::int64_t last_back = 0;
    std::int64_t last_reboot = 0;
};

std::string encode(const WatchMemory& memory);
std::optional<WatchMemory> decode_watch_memory(const std::string& text);

// The watched nodes' state; owned by the plugin, used on the event loop only.
class WatchedNodes {
public:
    WatchedNodes(WatchSettings settings, const std::vector<std::uint32_t>& nodes, std::int64_t now);

    bool watches(std::uint32_t node) const { return nodes_.count(node) != 0; }

    // The alerts sent before this run (from the plugin's store): a node reported offline
    // stays offline, without a second alert, until it is heard.
    void restore(std::uint32_t node, const WatchMemory& memory);

    // The node was heard at `at` (epoch seconds, at most `now`); `uptime` is the uptime it
    // reports, if any. An `at` older than what is known only updates the uptime.
    std::vector<WatchEvent> heard(std::uint32_t node, std::int64_t at, std::int64_t now,
                                  std::optional<std::uint32_t> uptime);

    // Reports nodes whose silence just passed offline_after.
    std::vector<WatchEvent> check(std::int64_t now);

    struct View {
        std::uint32_t node;
        std::int64_t last_heard;  // epoch seconds (the start of watching when never heard)
        bool heard_ever;
        bool offline;
        std::optional<std::uint32_t> uptime;
    };
    std::vector<View> view() const;
    // Epoch seconds the node was last heard; nullopt when never heard (or not watched).
    std::optional<std::int64_t> last_heard(std::uint32_t node) const;
    WatchMemory memory(std::uint32_t node) const;
    const WatchSettings& settings() const { return settings_; }

private:
    struct State {
        std::int64_t last_heard = 0;
        bool heard_ever = false;
        bool offline = false;  // silent for offline_after, whether or not it was reported
        std::optional<std::uint32_t> uptime;
        std::int64_t uptime_at = 0;
        WatchMemory memory;
    };

    bool cooled(std::int64_t last, std::int64_t now) const {
        return last == 0 || now - last >= settings_.cooldown;
    }
    // `at`: when the node reported `uptime`; `now`: for the cooldown.
    void note_uptime(State& s, std::uint32_t node, std::uint32_t uptime, std::int64_t at,
                     std::int64_t now, std::vector<WatchEvent>& out);

    WatchSettings settings_;
    std::map<std::uint32_t, State> nodes_;
};

}  // namespace monitor
