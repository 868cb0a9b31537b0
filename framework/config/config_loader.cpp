#include "config/config_loader.hpp"
#include "config/text_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "config/config_reader.hpp"

namespace meshbot::config {
namespace detail {
namespace {

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

}  // namespace

std::string close_match(std::string_view key, const std::vector<std::string>& candidates) {
    const std::size_t limit = std::clamp<std::size_t>(key.size() / 3, 1, 2);
    std::string best;
    std::size_t best_distance = limit + 1;
    for (const auto& k : candidates) {
        const std::size_t d = edit_distance(key, k);
        if (d < best_distance) best = k, best_distance = d;
    }
    if (!best.empty()) return best;
    for (const auto& k : candidates)  // "heartbeat" for "heartbeat_interval"
        if (key.size() >= 4 && k.starts_with(key)) return k;
    return {};
}

std::string describe(const toml::node& node) {
    if (node.is_table()) return "a table";
    if (node.is_array()) return "an array";
    std::ostringstream out;
    if (const auto* str = node.as_string()) {
        // toml++ would print 'abc'; double quotes read as "a string" to everyone.
        out << "string \"";
        // Control characters are escaped too, so that every message stays on one line.
        constexpr std::string_view hex = "0123456789abcdef";
        for (const char c : str->get()) {
            const auto byte = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\')
                out << '\\' << c;
            else if (c == '\n')
                out << "\\n";
            else if (c == '\t')
                out << "\\t";
            else if (byte < 0x20 || byte == 0x7F)
                out << "\\u00" << hex[byte >> 4] << hex[byte & 0xF];
            else
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

void Report::throw_if_errors() {
    if (errors_.empty()) return;
    std::sort(errors_.begin(), errors_.end());
    std::string message;
    for (const auto& e : errors_)
        message += (message.empty() ? "" : "\n") + e.text;
    throw ConfigError(message);
}

std::vector<std::string> Report::warnings() const {
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

// A close spelling in the same section first; else the same key in another section
// ("level" under [radio] belongs to [log]).
std::string Report::suggest(const Leftover& l) const {
    if (auto best = close_match(l.key, l.siblings); !best.empty()) return best;
    for (const auto& k : known_) {
        const auto dot = k.rfind('.');
        const auto last = std::string_view(k).substr(dot == std::string::npos ? 0 : dot + 1);
        if (last == l.key && k != dotted(l.section, l.key)) return k;
    }
    return {};
}

// --- typed readers ----------------------------------------------------------------------

bool check_string(Section& s, const toml::node& node, std::string_view key, std::string& out) {
    if (const auto* v = node.as_string()) {
        out = v->get();
        return true;
    }
    s.error(node, key, "expected a string, got " + describe(node));
    return false;
}

bool check_bool(Section& s, const toml::node& node, std::string_view key, bool& out) {
    if (const auto* v = node.as_boolean()) {
        out = v->get();
        return true;
    }
    s.error(node, key, "expected true or false, got " + describe(node));
    return false;
}

const toml::node* read_string(Section& s, std::string_view key, std::string& out) {
    const toml::node* node = s.take(key);
    return node && check_string(s, *node, key, out) ? node : nullptr;
}

const toml::node* read_bool(Section& s, std::string_view key, bool& out) {
    const toml::node* node = s.take(key);
    return node && check_bool(s, *node, key, out) ? node : nullptr;
}

const toml::node* read_bool(Section& s, std::string_view key, std::optional<bool>& out) {
    bool value = false;
    const toml::node* node = read_bool(s, key, value);
    if (node) out = value;
    return node;
}

const toml::node* read_number(Section& s, std::string_view key, double& out, const Bounds& b,
                              std::string_view what) {
    const toml::node* node = s.take(key);
    if (!node) return nullptr;
    std::optional<double> value;
    if (const auto* i = node->as_integer()) value = static_cast<double>(i->get());
    if (const auto* f = node->as_floating_point()) value = f->get();
    // nan fails every comparison, so it is rejected here too.
    if (value && ((b.or_zero && *value == 0) ||
                  ((b.inclusive ? *value >= b.min : *value > b.min) && *value < b.below))) {
        out = *value;
        return node;
    }
    std::ostringstream expected;
    expected << "expected a " << (value && !std::isfinite(*value) ? "finite " : "") << what
             << (b.inclusive ? " of at least " : " greater than ") << b.min;
    if (std::isfinite(b.below)) expected << " and below " << b.below;
    if (b.or_zero) expected << ", or 0";
    if (!b.why.empty()) expected << " (" << b.why << ")";
    s.error(*node, key, expected.str() + ", got " + describe(*node));
    return nullptr;
}

const toml::node* read_seconds(Section& s, std::string_view key, Seconds& out, const Bounds& b) {
    // No duration needs more than a year, and the clocks overflow not far beyond (1e20 s as a
    // steady_clock duration is undefined behaviour).
    constexpr double kYear = 365.0 * 24 * 3600;
    double seconds = out.count();
    const toml::node* node = read_number(s, key, seconds, b, "number of seconds");
    if (node && seconds > kYear) {
        s.error(*node, key, "expected at most a year (31536000 seconds), got " + describe(*node));
        return nullptr;
    }
    if (node) out = Seconds{seconds};
    return node;
}

}  // namespace detail

namespace {

using namespace detail;

// --- sections (more in config_sections.cpp) ---------------------------------------------

void read_radio(Section& s, RadioConfig& r) {
    read_choice(s, "transport", r.transport,
                {{"tcp", Transport::tcp}, {"serial", Transport::serial}});
    const auto* host = read_string(s, "host", r.host);
    read_integer(s, "port", r.port, 1, 65535);
    const auto* device = read_string(s, "device", r.device);
    read_integer(s, "baud", r.baud, 1);

    // Every duration has a floor: tiny values passed once and made the link spin (tens of
    // thousands of connection attempts in seconds) or time out before the radio could answer.
    read_seconds(s, "connect_timeout", r.connect_timeout,
                 {.min = 0.5, .inclusive = true, .below = 3600, .why = {}});
    read_seconds(s, "handshake_timeout", r.handshake_timeout,
                 {.min = 1,
                  .inclusive = true,
                  .below = 3600,
                  .why = "a radio needs a moment to send its whole configuration"});
    read_seconds(s, "heartbeat_interval", r.heartbeat_interval,
                 {.min = 1,
                  .inclusive = true,
                  .below = 900,
                  .why = "the firmware drops an API client silent for 15 minutes"});
    read_number(s, "silence_multiple", r.silence_multiple,
                {.min = 1, .why = "the silence limit must outlast one heartbeat interval"});
    const auto* initial = read_seconds(s, "backoff_initial", r.backoff_initial,
                                       {.min = 0.1, .inclusive = true, .below = 3600, .why = {}});
    const auto* max = read_seconds(s, "backoff_max", r.backoff_max,
                                   {.min = 0.1, .inclusive = true, .below = 86400, .why = {}});
    read_seconds(s, "backoff_reset_after", r.backoff_reset_after, at_least_a_second);
    read_seconds(s, "dedupe_window", r.dedupe_window, at_least_a_second);
    read_seconds(s, "text_gap", r.text_gap,
                 {.min = 2, .inclusive = true, .why = "the firmware drops faster texts"});
    read_seconds(s, "telemetry_gap", r.telemetry_gap, pacing_gap);
    read_seconds(s, "traceroute_gap", r.traceroute_gap, pacing_gap);
    read_integer(s, "outbox_capacity", r.outbox_capacity, 1);
    read_seconds(s, "outbox_expiry", r.outbox_expiry, at_least_a_second);

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

LoadResult parse_document(std::string_view toml_text, const std::string& source_name,
                          const std::filesystem::path& base_dir) {
    toml::table document;
    try {
        document = toml::parse(toml_text, std::string_view{source_name});
    } catch (const toml::parse_error& e) {
        Report syntax(source_name);
        throw ConfigError(syntax.where(e.source().begin) +
                          ": TOML syntax error: " + std::string(e.description()));
    }

    LoadResult result;
    auto& config = result.config;
    config.source = source_name;
    Report report(source_name);
    Section root(document, "", report);
    read_section(root, "radio", [&](Section& s) { read_radio(s, config.radio); });
    read_section(root, "log", [&](Section& s) { read_log(s, config.log); });
    read_section(root, "bot", [&](Section& s) { read_bot(s, config.bot, base_dir); });
    read_section(root, "commands", [&](Section& s) { read_commands(s, config.commands); });
    read_section(root, "keys", [&](Section& s) { read_keys(s, config.keys); });
    read_section(root, "plugins", [&](Section& s) { read_plugins(s, config.plugins, base_dir); });
    read_section(root, "http", [&](Section& s) { read_http(s, config.http); });
    read_section(root, "proxy", [&](Section& s) { read_proxy(s, config.proxy); });
    root.finish();
    report.throw_if_errors();
    result.warnings = report.warnings();
    return result;
}

}  // namespace

LoadResult parse_config(std::string_view toml_text, const std::string& source_name) {
    // Not necessarily a real file: relative paths go beside the name, if it has a folder.
    return parse_document(toml_text, source_name, std::filesystem::path(source_name).parent_path());
}

LoadResult load_config(const std::filesystem::path& file) {
    auto cannot_read = [&file](int error) {
        return ConfigError("cannot read config file '" + file.string() +
                           "': " + std::generic_category().message(error));
    };
    int error = 0;
    const auto text = read_text_file(file, error);
    if (!text) throw cannot_read(error);

    // Relative paths in the file are made absolute now, so that they keep pointing beside
    // the config file whatever the working directory later becomes.
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(file, ec).parent_path();
    if (ec) dir = file.parent_path();
    LoadResult result = parse_document(*text, file.string(), dir);
    result.config.source = file;
    return result;
}

}  // namespace meshbot::config
