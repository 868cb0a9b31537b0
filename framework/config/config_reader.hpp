#pragma once
// Private to framework/config: the reading toolkit shared by config_loader.cpp (the document,
// [radio], [log]) and config_sections.cpp ([bot], [commands], [plugins]). Nothing outside
// this folder includes it.

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::config::detail {

// One finding, kept with its position so the report reads in file order no matter in which
// order the sections were checked.
struct Finding {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    std::string text;
    bool operator<(const Finding& o) const {
        return std::tie(line, column) < std::tie(o.line, o.column);
    }
};

// A key that no reader asked for; reported once every section has been read, so that a
// key in the wrong section can point at the section where it belongs.
struct Leftover {
    toml::source_position at;
    std::string section;  // dotted path of the table holding it, "" for the root
    std::string key;
    bool is_table = false;
    std::vector<std::string> siblings;  // the keys the section does know
};

inline std::string dotted(std::string_view section, std::string_view key) {
    return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
}

// The candidate spelled closest to `key` (one wrong, missing, extra or swapped letter, case
// ignored), else one that `key` cuts short ("heartbeat" for "heartbeat_interval"), else "".
std::string close_match(std::string_view key, const std::vector<std::string>& candidates);

// A TOML value the way an operator would type it back, for "got ..." in messages.
std::string describe(const toml::node& node);

// "file:line:column", or just "file" for a position toml++ does not know.
inline std::string position(const std::string& source, toml::source_position at) {
    if (at.line == 0) return source;
    return source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

// Collects errors, warnings and leftover keys for one document.
class Report {
public:
    explicit Report(std::string source) : source_(std::move(source)) {}

    std::string where(toml::source_position at) const { return position(source_, at); }
    void error(const toml::node& at, std::string_view key, std::string_view problem) {
        const auto pos = at.source().begin;
        errors_.push_back({pos.line, pos.column,
                           where(pos) + ": " + std::string(key) + ": " + std::string(problem)});
    }
    bool has_errors() const { return !errors_.empty(); }
    void leftover(Leftover l) { leftovers_.push_back(std::move(l)); }
    void known(std::string dotted_key) { known_.insert(std::move(dotted_key)); }

    // Throws every error at once: one line each, so an operator fixes the whole file in one
    // go instead of one restart per mistake.
    void throw_if_errors();
    std::vector<std::string> warnings() const;

private:
    std::string suggest(const Leftover& l) const;

    std::string source_;
    std::vector<Finding> errors_;
    std::vector<Leftover> leftovers_;
    std::set<std::string> known_;
};

// One TOML table being read. Every key a reader asks for is remembered, and whatever the
// file holds beyond those is handed to the report as a leftover: adding a section or a key
// is one more reader call, never a second list of valid names to keep in step.
class Section {
public:
    Section(const toml::table& table, std::string path, Report& report)
        : table_(table), path_(std::move(path)), report_(report) {}
    Section(const Section&) = delete;
    Section& operator=(const Section&) = delete;

    // Hands every key nobody asked for to the report; call once the readers are done.
    void finish() {
        for (const auto& [key, node] : table_) {
            if (asked(key.str())) continue;
            // A table's own position is its [header]; a key's is where its name starts.
            const auto at = node.is_table() ? node.source().begin : key.source().begin;
            report_.leftover({at, path_, std::string(key.str()), node.is_table(), asked_});
        }
    }

    // The node for `key`, or null when the file leaves it out (the default stands).
    const toml::node* take(std::string_view key) {
        asked_.emplace_back(key);
        report_.known(dotted(path_, key));
        return table_.get(key);
    }
    // Accepts `key` with anything under it, unchecked: it is somebody else's to validate.
    void ignore(std::string_view key) { take(key); }

    // Calls `f(key, node)` for every key no reader has asked for yet and counts them as
    // asked: for a section whose other keys are names the user chooses.
    template <typename F>
    void take_rest(F&& f) {
        std::vector<std::pair<std::string, const toml::node*>> rest;
        for (const auto& [key, node] : table_)
            if (!asked(key.str())) rest.emplace_back(key.str(), &node);
        for (const auto& [key, node] : rest) {
            asked_.push_back(key);
            f(std::string_view(key), *node);
        }
    }

    void error(const toml::node& at, std::string_view key, std::string_view problem) {
        report_.error(at, dotted(path_, key), problem);
    }
    Report& report() { return report_; }
    const std::string& path() const { return path_; }
    // The keys asked for so far.
    const std::vector<std::string>& taken() const { return asked_; }

private:
    bool asked(std::string_view key) const {
        return std::find(asked_.begin(), asked_.end(), key) != asked_.end();
    }

    const toml::table& table_;
    std::string path_;
    Report& report_;
    std::vector<std::string> asked_;
};

// --- value checks: each reports a bad `node` as `key` and returns false, leaving `out` -----

bool check_string(Section& s, const toml::node& node, std::string_view key, std::string& out);
bool check_bool(Section& s, const toml::node& node, std::string_view key, bool& out);

// Without `max`, the limit is what `Int` holds, and the message only names the minimum.
// `why` is appended to the message: the reason for a non-obvious bound.
template <typename Int>
bool check_integer(Section& s, const toml::node& node, std::string_view key, Int& out,
                   std::int64_t min, std::optional<std::int64_t> max = std::nullopt,
                   std::string_view why = {}) {
    constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
    constexpr auto int_max = std::numeric_limits<Int>::max();
    constexpr std::int64_t type_max =
        static_cast<std::uint64_t>(int_max) > static_cast<std::uint64_t>(int64_max)
            ? int64_max
            : static_cast<std::int64_t>(int_max);
    const std::int64_t hi = max.value_or(type_max);
    const auto* v = node.as_integer();
    if (v && v->get() >= min && v->get() <= hi) {
        out = static_cast<Int>(v->get());
        return true;
    }
    const bool name_max = max || (v && v->get() > hi);
    s.error(node, key,
            "expected an integer " +
                (name_max ? "from " + std::to_string(min) + " to " + std::to_string(hi)
                          : "of at least " + std::to_string(min)) +
                (why.empty() ? "" : " (" + std::string(why) + ")") + ", got " + describe(node));
    return false;
}

// --- typed readers: each leaves `out` untouched when the key is absent or invalid, and
// returns the node only when it was read -------------------------------------------------

const toml::node* read_string(Section& s, std::string_view key, std::string& out);
const toml::node* read_bool(Section& s, std::string_view key, bool& out);
const toml::node* read_bool(Section& s, std::string_view key, std::optional<bool>& out);

template <typename Int>
const toml::node* read_integer(Section& s, std::string_view key, Int& out, std::int64_t min,
                               std::optional<std::int64_t> max = std::nullopt,
                               std::string_view why = {}) {
    const toml::node* node = s.take(key);
    return node && check_integer(s, *node, key, out, min, max, why) ? node : nullptr;
}

// Accepted range of a number: above `min` (or at least, when `inclusive`), below `below`, and
// 0 as well when `or_zero` (a duration where 0 turns something off).
struct Bounds {
    double min = 0;
    bool inclusive = false;
    double below = std::numeric_limits<double>::infinity();
    bool or_zero = false;
    std::string_view why;  // appended to the message: the reason for a non-obvious bound
};
inline constexpr Bounds positive{};
inline constexpr Bounds non_negative{.inclusive = true, .why = {}};
inline constexpr Bounds at_least_a_second{.min = 1, .inclusive = true, .why = {}};
// The firmware's per-port pacing: 0 turns it off (radios older than 2.7.1).
inline constexpr Bounds pacing_gap{.min = 1, .inclusive = true, .or_zero = true, .why = {}};

const toml::node* read_number(Section& s, std::string_view key, double& out, const Bounds& b,
                              std::string_view what = "number");
const toml::node* read_seconds(Section& s, std::string_view key, Seconds& out, const Bounds& b);

template <typename T>
const toml::node* read_choice(Section& s, std::string_view key, T& out,
                              std::initializer_list<std::pair<std::string_view, T>> choices) {
    const toml::node* node = s.take(key);
    if (!node) return nullptr;
    if (const auto* v = node->as_string()) {
        for (const auto& [name, value] : choices) {
            if (name == v->get()) {
                out = value;
                return node;
            }
        }
    }
    std::string expected;
    for (const auto& [name, value] : choices)
        expected += (expected.empty() ? "" : ", ") + ("\"" + std::string(name) + "\"");
    s.error(*node, key, "expected one of " + expected + ", got " + describe(*node));
    return nullptr;
}

// Reads `key` as an array, handing each element to `check(node, "key[i]")`, which reports a
// bad element and returns false. `of_what` completes "expected an array of ...". Returns the
// array's node only when it and every element were good, so that a caller can collect the
// elements aside and keep the default otherwise.
template <typename Check>
const toml::node* read_array(Section& s, std::string_view key, std::string_view of_what,
                             Check&& check) {
    const toml::node* node = s.take(key);
    if (!node) return nullptr;
    const auto* array = node->as_array();
    if (!array) {
        s.error(*node, key,
                "expected an array of " + std::string(of_what) + ", got " + describe(*node));
        return nullptr;
    }
    bool good = true;
    for (std::size_t i = 0; i < array->size(); ++i)
        good = check(*array->get(i), std::string(key) + "[" + std::to_string(i) + "]") && good;
    return good ? node : nullptr;
}

// Reads the sub-table `name` of `parent` with `reader`. An absent table is read as an empty
// one: that keeps the defaults and still teaches the report its key names for suggestions.
template <typename Reader>
void read_section(Section& parent, std::string_view name, Reader&& reader) {
    static const toml::table empty;
    const toml::node* node = parent.take(name);
    const toml::table* table = node ? node->as_table() : &empty;
    if (!table) {
        parent.error(*node, name, "expected a table, got " + describe(*node));
        return;
    }
    Section section(*table, dotted(parent.path(), name), parent.report());
    reader(section);
    section.finish();
}

// --- the sections in config_sections.cpp. Relative paths are resolved against `base_dir`
// (the config file's directory), or kept relative when it is empty -----------------------

void read_bot(Section& s, BotConfig& b, const std::filesystem::path& base_dir);
void read_commands(Section& s, CommandsConfig& c);
void read_keys(Section& s, KeysConfig& k);
void read_plugins(Section& s, PluginsConfig& p, const std::filesystem::path& base_dir);
void read_http(Section& s, HttpConfig& h);
void read_proxy(Section& s, ProxyConfig& p);

// Where a listener binds: an IP literal and a port (listen_address.cpp).
struct Listen {
    std::string address;  // empty: listen = "", the listener is off
    std::uint16_t port = 0;
    bool loopback = false;
    std::string text;                  // as written
    const toml::node* node = nullptr;  // where, for a later error about it
};
// The `listen` key, "IP:port" or "" (off). nullopt when it is absent or wrong; the error, at
// its file:line:column, gives `example_port` in its examples and says "" turns `what` off.
std::optional<Listen> read_listen(Section& s, std::string_view example_port, std::string_view what);

}  // namespace meshbot::config::detail
