#include "config/config_loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

namespace meshbot::config {
namespace {

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

std::string dotted(std::string_view section, std::string_view key) {
    return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
}

// Optimal-string-alignment distance, case-insensitive: catches the usual typos
// (one wrong, missing, extra or swapped letter, "Port" for "port").
std::size_t edit_distance(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

// A TOML value the way an operator would type it back, for "got ..." in messages.
std::string describe(const toml::node& node) {
    if (node.is_table()) return "a table";
    if (node.is_array()) return "an array";
    std::ostringstream out;
    if (const auto* str = node.as_string()) {
        // toml++ would print 'abc'; double quotes read as "a string" to everyone.
        out << "string \"";
        for (const char c : str->get()) {
            if (c == '"' || c == '\\') out << '\\';
            out << c;
        }
        out << '"';
        return out.str();
    }
    // toml++ names the other types integer, boolean, date, time, date-time; TOML says "float".
    if (node.is_floating_point())
        out << "float ";
    else
        out << node.type() << ' ';
    node.visit([&out](const auto& v) {
        if constexpr (toml::is_value<decltype(v)>) out << v;
    });
    return out.str();
}

// Collects errors, warnings and leftover keys for one document.
class Report {
public:
    explicit Report(std::string source) : source_(std::move(source)) {}

    std::string where(toml::source_position at) const {
        if (at.line == 0) return source_;
        return source_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
    }
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
    void throw_if_errors() {
        if (errors_.empty()) return;
        std::sort(errors_.begin(), errors_.end());
        std::string message;
        for (const auto& e : errors_)
            message += (message.empty() ? "" : "\n") + e.text;
        throw ConfigError(message);
    }

    std::vector<std::string> warnings() const {
        std::vector<Finding> found;
        for (const auto& l : leftovers_) {
            std::string text = where(l.at) + ": unknown " + (l.is_table ? "table" : "key") + " '" +
                               dotted(l.section, l.key) + "'";
            if (auto hint = suggest(l); !hint.empty()) text += " (did you mean '" + hint + "'?)";
            found.push_back({l.at.line, l.at.column, std::move(text)});
        }
        std::sort(found.begin(), found.end());
        std::vector<std::string> out;
        for (auto& f : found)
            out.push_back(std::move(f.text));
        return out;
    }

private:
    // A close spelling in the same section first; else the same key in another section
    // ("level" under [radio] belongs to [log]).
    std::string suggest(const Leftover& l) const {
        const std::size_t limit = std::clamp<std::size_t>(l.key.size() / 3, 1, 2);
        std::string best;
        std::size_t best_distance = limit + 1;
        for (const auto& k : l.siblings) {
            const std::size_t d = edit_distance(l.key, k);
            if (d < best_distance) best = k, best_distance = d;
        }
        if (!best.empty()) return best;
        for (const auto& k : l.siblings)  // "heartbeat" for "heartbeat_interval"
            if (l.key.size() >= 4 && k.starts_with(l.key)) return k;
        for (const auto& k : known_) {
            const auto dot = k.rfind('.');
            const auto last = std::string_view(k).substr(dot == std::string::npos ? 0 : dot + 1);
            if (last == l.key && k != dotted(l.section, l.key)) return k;
        }
        return {};
    }

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
            if (std::find(asked_.begin(), asked_.end(), key.str()) != asked_.end()) continue;
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

    void error(const toml::node& at, std::string_view key, std::string_view problem) {
        report_.error(at, dotted(path_, key), problem);
    }
    Report& report() { return report_; }
    const std::string& path() const { return path_; }

private:
    const toml::table& table_;
    std::string path_;
    Report& report_;
    std::vector<std::string> asked_;
};

// --- typed readers: each leaves `out` untouched when the key is absent or invalid ---------

const toml::node* read_string(Section& s, std::string_view key, std::string& out) {
    const toml::node* node = s.take(key);
    if (!node) return nullptr;
    if (const auto* v = node->as_string()) {
        out = v->get();
        return node;
    }
    s.error(*node, key, "expected a string, got " + describe(*node));
    return nullptr;
}

// Without `max`, the limit is what `Int` holds, and the message only names the minimum.
template <typename Int>
const toml::node* read_integer(Section& s, std::string_view key, Int& out, std::int64_t min,
                               std::optional<std::int64_t> max = std::nullopt) {
    const toml::node* node = s.take(key);
    if (!node) return nullptr;
    const std::int64_t hi =
        max.value_or(static_cast<std::int64_t>(std::numeric_limits<Int>::max()));
    const auto* v = node->as_integer();
    if (v && v->get() >= min && v->get() <= hi) {
        out = static_cast<Int>(v->get());
        return node;
    }
    const bool name_max = max || (v && v->get() > hi);
    s.error(*node, key,
            "expected an integer " +
                (name_max ? "from " + std::to_string(min) + " to " + std::to_string(hi)
                          : "of at least " + std::to_string(min)) +
                ", got " + describe(*node));
    return nullptr;
}

// Accepted range of a number: above `min` (or at least, when `inclusive`), below `below`.
struct Bounds {
    double min = 0;
    bool inclusive = false;
    double below = std::numeric_limits<double>::infinity();
    std::string_view why;  // appended to the message: the reason for a non-obvious bound
};

const toml::node* read_number(Section& s, std::string_view key, double& out, const Bounds& b,
                              std::string_view what = "number") {
    const toml::node* node = s.take(key);
    if (!node) return nullptr;
    std::optional<double> value;
    if (const auto* i = node->as_integer()) value = static_cast<double>(i->get());
    if (const auto* f = node->as_floating_point()) value = f->get();
    // nan fails every comparison, so it is rejected here too.
    if (value && (b.inclusive ? *value >= b.min : *value > b.min) && *value < b.below) {
        out = *value;
        return node;
    }
    std::ostringstream expected;
    expected << "expected a " << (value && !std::isfinite(*value) ? "finite " : "") << what
             << (b.inclusive ? " of at least " : " greater than ") << b.min;
    if (std::isfinite(b.below)) expected << " and below " << b.below;
    if (!b.why.empty()) expected << " (" << b.why << ")";
    s.error(*node, key, expected.str() + ", got " + describe(*node));
    return nullptr;
}

const toml::node* read_seconds(Section& s, std::string_view key, Seconds& out, const Bounds& b) {
    double seconds = out.count();
    const toml::node* node = read_number(s, key, seconds, b, "number of seconds");
    if (node) out = Seconds{seconds};
    return node;
}

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

// --- sections ---------------------------------------------------------------------------

constexpr Bounds positive{};
constexpr Bounds non_negative{.inclusive = true, .why = {}};

void read_radio(Section& s, RadioConfig& r) {
    read_choice(s, "transport", r.transport,
                {{"tcp", Transport::tcp}, {"serial", Transport::serial}});
    const auto* host = read_string(s, "host", r.host);
    read_integer(s, "port", r.port, 1, 65535);
    const auto* device = read_string(s, "device", r.device);
    read_integer(s, "baud", r.baud, 1);

    read_seconds(s, "connect_timeout", r.connect_timeout, positive);
    read_seconds(s, "handshake_timeout", r.handshake_timeout, positive);
    read_seconds(s, "heartbeat_interval", r.heartbeat_interval,
                 {.below = 900, .why = "the firmware drops an API client silent for 15 minutes"});
    read_number(s, "silence_multiple", r.silence_multiple,
                {.min = 1, .why = "the silence limit must outlast one heartbeat interval"});
    const auto* initial = read_seconds(s, "backoff_initial", r.backoff_initial, positive);
    const auto* max = read_seconds(s, "backoff_max", r.backoff_max, positive);
    read_seconds(s, "backoff_reset_after", r.backoff_reset_after, positive);
    read_seconds(s, "replay_tail", r.replay_tail, non_negative);
    read_seconds(s, "dedupe_window", r.dedupe_window, positive);
    read_seconds(s, "text_gap", r.text_gap,
                 {.min = 2, .inclusive = true, .why = "the firmware drops faster texts"});
    read_integer(s, "outbox_capacity", r.outbox_capacity, 1);
    read_seconds(s, "outbox_expiry", r.outbox_expiry, positive);

    // Cross-field checks only on values that were each valid, so one mistake yields one error.
    if (s.report().has_errors()) return;
    if (r.backoff_max < r.backoff_initial) {
        std::ostringstream problem;
        if (max) {
            problem << "must be at least radio.backoff_initial (" << r.backoff_initial.count()
                    << " s), got " << describe(*max);
            s.error(*max, "backoff_max", problem.str());
        } else if (initial) {  // only backoff_initial was set, above the default maximum
            problem << "must not exceed radio.backoff_max (" << r.backoff_max.count()
                    << " s, the default), got " << describe(*initial);
            s.error(*initial, "backoff_initial", problem.str());
        }
    }
    // The defaults are never empty, so an empty value was written on purpose: say so now
    // rather than failing to connect to "" at run time.
    if (host && r.transport == Transport::tcp && r.host.empty())
        s.error(*host, "host", "must not be empty when radio.transport is \"tcp\"");
    if (device && r.transport == Transport::serial && r.device.empty())
        s.error(*device, "device", "must not be empty when radio.transport is \"serial\"");
}

void read_log(Section& s, LogConfig& l) {
    // The names spdlog::level::from_str understands.
    read_choice(s, "level", l.level,
                {{"trace", "trace"},
                 {"debug", "debug"},
                 {"info", "info"},
                 {"warn", "warn"},
                 {"error", "error"},
                 {"critical", "critical"},
                 {"off", "off"}});
}

}  // namespace

LoadResult parse_config(std::string_view toml_text, const std::string& source_name) {
    toml::table document;
    try {
        document = toml::parse(toml_text, std::string_view{source_name});
    } catch (const toml::parse_error& e) {
        Report syntax(source_name);
        throw ConfigError(syntax.where(e.source().begin) +
                          ": TOML syntax error: " + std::string(e.description()));
    }

    LoadResult result;
    result.config.source = source_name;
    Report report(source_name);
    Section root(document, "", report);
    read_section(root, "radio", [&](Section& s) { read_radio(s, result.config.radio); });
    read_section(root, "log", [&](Section& s) { read_log(s, result.config.log); });
    // Plugin settings belong to the plugin host, which checks them against each manifest.
    root.ignore("plugins");
    root.finish();
    report.throw_if_errors();
    result.warnings = report.warnings();
    return result;
}

LoadResult load_config(const std::filesystem::path& file) {
    auto cannot_read = [&file](int error) {
        return ConfigError("cannot read config file '" + file.string() +
                           "': " + std::generic_category().message(error));
    };
    std::error_code ec;
    // Opening a directory succeeds on Linux and only the read fails; name the real problem.
    if (std::filesystem::is_directory(file, ec)) throw cannot_read(EISDIR);
    errno = 0;
    std::ifstream in(file, std::ios::binary);
    if (!in) throw cannot_read(errno != 0 ? errno : ENOENT);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw cannot_read(errno != 0 ? errno : EIO);

    LoadResult result = parse_config(text.str(), file.string());
    result.config.source = file;
    return result;
}

}  // namespace meshbot::config
