#include "thresholds.hpp"

#include <chrono>

namespace monitor {

std::string_view level_name(Level level) {
    switch (level) {
        case Level::ok:
            return "ok";
        case Level::warning:
            return "warning";
        case Level::critical:
            return "critical";
    }
    return "ok";
}

std::optional<ThresholdEvent> Threshold::update(std::optional<double> value,
                                                Clock::time_point now) {
    last_value_ = value;
    if (!spec_.enabled || !value) {
        // An unreadable figure says nothing about the machine: keep what was sent, but a
        // warning needs a fresh unbroken run once the figure is back.
        bad_since_.reset();
        level_ = Level::ok;
        return std::nullopt;
    }

    const bool critical = spec_.critical && past(*value, *spec_.critical);
    const bool bad = critical || past(*value, spec_.warn);
    if (!bad) {
        bad_since_.reset();
        level_ = Level::ok;
        held_back_ = Level::ok;
        // Only a spell that was reported gets a recovery notice, so notices never come alone.
        if (alerted_ == Level::ok) return std::nullopt;
        alerted_ = Level::ok;
        return ThresholdEvent{ThresholdEvent::Kind::recovered, *value, Seconds(0)};
    }

    if (!bad_since_) bad_since_ = now;
    if (critical) {
        level_ = Level::critical;
        if (alerted_ == Level::critical) return std::nullopt;
        return fire(Level::critical, *value, now);
    }
    const bool long_enough = now - *bad_since_ >= spec_.warn_for;
    level_ = long_enough ? Level::warning : Level::ok;
    // A critical spell that eases into the warning band is still the same spell: no new alert.
    if (!long_enough || alerted_ != Level::ok) return std::nullopt;
    return fire(Level::warning, *value, now);
}

std::optional<ThresholdEvent> Threshold::fire(Level kind, double value, Clock::time_point now) {
    auto& last = kind == Level::critical ? last_critical_ : last_warning_;
    const auto bad_for = std::chrono::duration_cast<Seconds>(now - bad_since_.value_or(now));
    const auto event_kind =
        kind == Level::critical ? ThresholdEvent::Kind::critical : ThresholdEvent::Kind::warning;
    if (last && now - *last < spec_.cooldown) {
        // Checked again every pass until the cooldown ends; say so once.
        if (held_back_ >= kind) return std::nullopt;
        held_back_ = kind;
        return ThresholdEvent{event_kind, value, bad_for, true};
    }
    last = now;
    alerted_ = kind;
    return ThresholdEvent{event_kind, value, bad_for, false};
}

}  // namespace monitor
