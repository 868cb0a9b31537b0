#pragma once
// The alert state machine of one monitored figure: a warning after `warn_for` seconds on the
// wrong side of `warn`, a critical alert at once beyond `critical`, each level at most once
// per `cooldown`, and a recovery notice when the figure is back on the good side.
//
// Pure logic with the clock passed in, so it is unit-tested without waiting (the plugin feeds
// it steady_clock readings every check_interval).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace monitor {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::seconds;

enum class Level { ok, warning, critical };

std::string_view level_name(Level level);

// How one figure is judged. `below` flips the direction: battery and free disk are bad when
// they drop, everything else when it rises.
struct ThresholdSpec {
    bool enabled = false;
    bool below = false;
    double warn = 0;
    Seconds warn_for{0};
    std::optional<double> critical;  // none: this figure has only a warning level
    Seconds cooldown{1800};
};

// What update() decided to tell the operators.
struct ThresholdEvent {
    enum class Kind { warning, critical, recovered };
    Kind kind;
    double value;
    Seconds bad_for;  // how long the figure had been on the wrong side of `warn`
    // The level's cooldown holds it back: worth one log line per spell, not a message.
    bool quiet = false;
};

// Tracks one figure over time; owned by the plugin, used on the event loop only.
class Threshold {
public:
    explicit Threshold(ThresholdSpec spec) : spec_(spec) {}

    // Feeds the current value (nullopt = not available: it neither alerts nor recovers, and
    // breaks the "continuously for warn_for" run). Returns the alert to send, if any.
    std::optional<ThresholdEvent> update(std::optional<double> value, Clock::time_point now);

    const ThresholdSpec& spec() const { return spec_; }
    // Where the figure stands now, regardless of what was sent.
    Level level() const { return level_; }
    std::optional<double> last_value() const { return last_value_; }

private:
    bool past(double value, double limit) const {
        return spec_.below ? value <= limit : value >= limit;
    }
    // Sends `kind` if its cooldown allows; remembers it for the recovery notice.
    std::optional<ThresholdEvent> fire(Level kind, double value, Clock::time_point now);

    ThresholdSpec spec_;
    Level level_ = Level::ok;
    Level alerted_ = Level::ok;    // the highest level sent in the current bad spell
    Level held_back_ = Level::ok;  // the highest level the cooldown held back in this spell
    std::optional<Clock::time_point> bad_since_;
    std::optional<Clock::time_point> last_warning_;
    std::optional<Clock::time_point> last_critical_;
    std::optional<double> last_value_;
};

}  // namespace monitor
