#include "plugin_host/config_schema.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include "config/config_reader.hpp"

namespace meshbot::plugins {
namespace {

using config::detail::close_match;
using config::detail::describe;

// The bot's own durations stop there too: the clocks overflow not far beyond.
constexpr double kYearSeconds = 365.0 * 24 * 3600;

constexpr std::pair<std::string_view, ValueKind> kKinds[] = {
    {"bool", ValueKind::boolean},      {"integer", ValueKind::integer},
    {"float", ValueKind::floating},    {"string", ValueKind::string},
    {"duration", ValueKind::duration}, {"table", ValueKind::table}};

constexpr std::string_view kFields[] = {"type", "default", "min", "max", "one_of", "help"};

std::string_view kind_name(ValueKind kind) {
    for (const auto& [name, k] : kKinds)
        if (k == kind) return name;
    return "?";
}

// "array<string>" -> {string, array}; nullopt for anything else (no arrays of tables or arrays).
std::optional<ConfigType> parse_type(std::string_view text) {
    ConfigType type;
    if (text.starts_with("array<") && text.ends_with(">")) {
        type.array = true;
        text = text.substr(6, text.size() - 7);
    }
    for (const auto& [name, kind] : kKinds) {
        if (name != text) continue;
        if (type.array && kind == ValueKind::table) return std::nullopt;
        type.kind = kind;
        return type;
    }
    return std::nullopt;
}

bool is_number_kind(ValueKind k) {
    return k == ValueKind::integer || k == ValueKind::floating || k == ValueKind::duration;
}

// Equal scalars of one type (choices are strings or integers).
bool same_value(const toml::node& a, const toml::node& b) {
    if (const auto* s = a.as_string()) return b.is_string() && b.as_string()->get() == s->get();
    if (const auto* i = a.as_integer()) return b.is_integer() && b.as_integer()->get() == i->get();
    return false;
}

std::optional<double> number_of(const toml::node& node) {
    if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
    if (const auto* f = node.as_floating_point()) return f->get();
    return std::nullopt;
}

// " from 0 to 7", " of at least 0", " of at most 7", or "".
std::string range_text(const std::string& lo, const std::string& hi) {
    if (!lo.empty() && !hi.empty()) return " from " + lo + " to " + hi;
    if (!lo.empty()) return " of at least " + lo;
    if (!hi.empty()) return " of at most " + hi;
    return {};
}

std::string bound_text(const toml::node* bound) {
    return bound ? toml_text(*bound) : std::string();
}

// One value of the key's element kind, without the one_of check.
std::string check_kind(const ConfigKeySpec& spec, const toml::node& value) {
    const auto got = ", got " + describe(value);
    switch (spec.type.kind) {
        case ValueKind::boolean:
            return value.is_boolean() ? "" : "expected true or false" + got;
        case ValueKind::string:
            return value.is_string() ? "" : "expected a string" + got;
        case ValueKind::table:
            return value.is_table() ? "" : "expected a table" + got;
        case ValueKind::integer: {
            const auto* v = value.as_integer();
            const auto* lo = spec.min() ? spec.min()->as_integer() : nullptr;
            const auto* hi = spec.max() ? spec.max()->as_integer() : nullptr;
            if (v && (!lo || v->get() >= lo->get()) && (!hi || v->get() <= hi->get())) return {};
            return "expected an integer" + range_text(bound_text(lo), bound_text(hi)) + got;
        }
        case ValueKind::floating:
        case ValueKind::duration: {
            const bool seconds = spec.type.kind == ValueKind::duration;
            const auto v = number_of(value);
            // Bounds were checked to be numbers when the schema was read.
            double lo = spec.min() ? number_of(*spec.min()).value_or(0) : -HUGE_VAL;
            double hi = spec.max() ? number_of(*spec.max()).value_or(0) : HUGE_VAL;
            std::string lo_text = bound_text(spec.min());
            std::string hi_text = bound_text(spec.max());
            if (seconds && !spec.min()) lo = 0, lo_text = "0";
            if (seconds && !spec.max()) hi = kYearSeconds, hi_text = "31536000";
            // nan fails every comparison, so it is refused here too.
            if (v && std::isfinite(*v) && *v >= lo && *v <= hi) return {};
            return std::string("expected a ") + (v && !std::isfinite(*v) ? "finite " : "") +
                   (seconds ? "number of seconds" : "number") + range_text(lo_text, hi_text) + got;
        }
    }
    return {};
}

std::string check_choice(const ConfigKeySpec& spec, const toml::node& value) {
    const toml::array* choices = spec.one_of();
    if (!choices) return {};
    std::string list;
    std::vector<std::string> names;
    for (const auto& choice : *choices) {
        if (same_value(choice, value)) return {};
        list += (list.empty() ? "" : ", ") + toml_text(choice);
        if (const auto* s = choice.as_string()) names.push_back(s->get());
    }
    std::string problem = "expected one of " + list + ", got " + describe(value);
    if (const auto* s = value.as_string()) {
        if (auto hint = close_match(s->get(), names); !hint.empty())
            problem += " (did you mean \"" + hint + "\"?)";
    }
    return problem;
}

std::string check_element(const ConfigKeySpec& spec, const toml::node& value) {
    if (auto problem = check_kind(spec, value); !problem.empty()) return problem;
    return check_choice(spec, value);
}

// Builds one [config.<key>] into `spec`; false when something was wrong (reported).
class KeyReader {
public:
    KeyReader(std::string source, const SchemaErrorSink& error)
        : source_(std::move(source)), error_(error) {}

    bool read(const std::string& key, const toml::node& node, ConfigKeySpec& spec) {
        ok_ = true;
        path_ = "config." + key;
        const auto* table = node.as_table();
        if (!table) {
            fail(node, path_,
                 "expected a table like [" + path_ + "] with type and help, got " + describe(node));
            return false;
        }
        spec.key = key;
        spec.where = config::detail::position(source_, node.source().begin);
        check_name(key, node);
        for (const auto& [field, value] : *table) {
            if (std::find(std::begin(kFields), std::end(kFields), field.str()) != std::end(kFields))
                continue;
            std::string problem = "unknown field (known: type, default, min, max, one_of, help)";
            const std::vector<std::string> known(std::begin(kFields), std::end(kFields));
            if (auto hint = close_match(field.str(), known); !hint.empty())
                problem = "unknown field (did you mean '" + hint + "'?)";
            fail_at(field.source().begin, path_ + "." + std::string(field.str()), problem);
        }
        read_help(*table, node, spec);
        if (!read_type(*table, node, spec)) return false;
        read_range(*table, spec);
        read_one_of(*table, spec);
        read_default(*table, spec);
        return ok_;
    }

private:
    void fail_at(toml::source_position at, const std::string& key, const std::string& problem) {
        ok_ = false;
        error_(at, key, problem);
    }
    void fail(const toml::node& at, const std::string& key, const std::string& problem) {
        fail_at(at.source().begin, key, problem);
    }

    void check_name(const std::string& key, const toml::node& node) {
        if (std::find(std::begin(config::host_plugin_keys), std::end(config::host_plugin_keys),
                      key) != std::end(config::host_plugin_keys)) {
            std::string reserved;
            for (const auto k : config::host_plugin_keys)
                reserved += (reserved.empty() ? "" : ", ") + std::string(k);
            fail(node, path_,
                 "'" + key +
                     "' is a key of the host in [plugins.<id>], a plugin cannot declare it "
                     "(reserved: " +
                     reserved + ")");
        }
        const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-';
        });
        if (!bare) fail(node, path_, "a key name may contain only letters, digits, '_' and '-'");
    }

    void read_help(const toml::table& table, const toml::node& node, ConfigKeySpec& spec) {
        const toml::node* help = table.get("help");
        if (!help) return fail(node, path_ + ".help", "missing (one line that says what it does)");
        const auto* text = help->as_string();
        if (!text) return fail(*help, path_ + ".help", "expected a string, got " + describe(*help));
        if (text->get().find_first_not_of(" \t") == std::string::npos)
            return fail(*help, path_ + ".help", "must not be empty");
        if (text->get().find_first_of("\r\n") != std::string::npos)
            return fail(*help, path_ + ".help", "must be one line");
        spec.help = text->get();
    }

    bool read_type(const toml::table& table, const toml::node& node, ConfigKeySpec& spec) {
        const toml::node* type = table.get("type");
        if (!type) {
            fail(node, path_ + ".type",
                 "missing (bool, integer, float, string, duration, table or array<...>)");
            return false;
        }
        const auto* text = type->as_string();
        const auto parsed = text ? parse_type(text->get()) : std::nullopt;
        if (!parsed) {
            std::vector<std::string> names;
            for (const auto& [name, kind] : kKinds)
                names.emplace_back(name);
            std::string problem = "unknown type " + describe(*type) +
                                  " (known: bool, integer, float, string, duration, table, "
                                  "and array<T> of the first five)";
            if (text) {
                if (auto hint = close_match(text->get(), names); !hint.empty())
                    problem =
                        "unknown type " + describe(*type) + " (did you mean \"" + hint + "\"?)";
            }
            fail(*type, path_ + ".type", problem);
            return false;
        }
        spec.type = *parsed;
        return true;
    }

    // min and max: each a value of the key's kind, min not above max.
    void read_range(const toml::table& table, ConfigKeySpec& spec) {
        const ValueKind kind = spec.type.kind;
        for (const char* field : {"min", "max"}) {
            const toml::node* bound = table.get(field);
            if (!bound) continue;
            const std::string key = path_ + "." + field;
            if (!is_number_kind(kind)) {
                fail(*bound, key,
                     "only integer, float and duration keys have a range, this is " +
                         spec.type.text());
                continue;
            }
            const auto value = number_of(*bound);
            if (kind == ValueKind::integer ? !bound->is_integer()
                                           : !value || !std::isfinite(*value)) {
                fail(*bound, key,
                     std::string("expected ") +
                         (kind == ValueKind::integer ? "an integer" : "a finite number") +
                         ", got " + describe(*bound));
                continue;
            }
            if (kind == ValueKind::duration && (*value < 0 || *value > kYearSeconds)) {
                fail(*bound, key,
                     "expected a number of seconds from 0 to 31536000, got " + describe(*bound));
                continue;
            }
            spec.rules.insert(field, *bound);
        }
        if (spec.min() && spec.max() && *number_of(*spec.min()) > *number_of(*spec.max()))
            fail(*table.get("min"), path_ + ".min",
                 "is above max (" + toml_text(*spec.min()) + " > " + toml_text(*spec.max()) + ")");
    }

    // one_of: distinct strings or integers, each within the range.
    void read_one_of(const toml::table& table, ConfigKeySpec& spec) {
        const toml::node* node = table.get("one_of");
        if (!node) return;
        const std::string key = path_ + ".one_of";
        const ValueKind kind = spec.type.kind;
        if (kind != ValueKind::string && kind != ValueKind::integer)
            return fail(*node, key,
                        "only string and integer keys have choices, this is " + spec.type.text());
        const auto* array = node->as_array();
        if (!array || array->empty())
            return fail(*node, key,
                        "expected a non-empty array of " + std::string(kind_name(kind)) +
                            " choices, got " + describe(*node));
        ConfigKeySpec element = spec;  // the range, without one_of yet
        element.type.array = false;
        bool good = true;
        for (std::size_t i = 0; i < array->size(); ++i) {
            const toml::node& choice = *array->get(i);
            const std::string at = key + "[" + std::to_string(i) + "]";
            if (auto problem = check_kind(element, choice); !problem.empty()) {
                fail(choice, at, problem);
                good = false;
            } else if (std::any_of(array->begin(), array->begin() + static_cast<std::ptrdiff_t>(i),
                                   [&](const toml::node& n) { return same_value(n, choice); })) {
                fail(choice, at, toml_text(choice) + " is listed twice");
                good = false;
            }
        }
        if (good) spec.rules.insert("one_of", *array);
    }

    // default: must meet every rule of the key; a table key has none.
    void read_default(const toml::table& table, ConfigKeySpec& spec) {
        const toml::node* value = table.get("default");
        if (!value) return;
        const std::string key = path_ + ".default";
        if (spec.type.kind == ValueKind::table)
            return fail(*value, key, "a table key has no default (the plugin reads it itself)");
        bool good = true;
        for (const auto& problem : check_value(spec, *value)) {
            fail(*value, key + problem.element, problem.text);
            good = false;
        }
        if (!good) return;
        spec.rules.insert("default", *value);
        spec.default_where = config::detail::position(source_, value->source().begin);
    }

    std::string source_;
    const SchemaErrorSink& error_;
    std::string path_;
    bool ok_ = true;
};

// (line, column) from the end of "file:line:column"; (0, 0) when it has none.
std::pair<unsigned long, unsigned long> line_column(std::string_view where) {
    const auto last = where.rfind(':');
    if (last == std::string_view::npos || last == 0) return {0, 0};
    const auto before = where.rfind(':', last - 1);
    if (before == std::string_view::npos) return {0, 0};
    try {
        return {std::stoul(std::string(where.substr(before + 1, last - before - 1))),
                std::stoul(std::string(where.substr(last + 1)))};
    } catch (const std::exception&) {
        return {0, 0};
    }
}

struct Finding {
    std::pair<unsigned long, unsigned long> at;
    std::string text;
};

std::vector<std::string> in_file_order(std::vector<Finding> found) {
    std::stable_sort(found.begin(), found.end(),
                     [](const Finding& a, const Finding& b) { return a.at < b.at; });
    std::vector<std::string> out;
    for (auto& f : found)
        out.push_back(std::move(f.text));
    return out;
}

}  // namespace

std::string ConfigType::text() const {
    const std::string name(kind_name(kind));
    return array ? "array<" + name + ">" : name;
}

std::string toml_text(const toml::node& value) {
    std::ostringstream out;
    // No flags: strings as "basic strings", numbers in decimal, arrays on one line.
    out << toml::toml_formatter(value, toml::format_flags::none);
    return out.str();
}

std::vector<ValueProblem> check_value(const ConfigKeySpec& spec, const toml::node& value) {
    if (!spec.type.array) {
        if (auto problem = check_element(spec, value); !problem.empty()) return {{"", problem}};
        return {};
    }
    const auto* array = value.as_array();
    if (!array)
        return {{"", "expected an array (" + spec.type.text() + "), got " + describe(value)}};
    std::vector<ValueProblem> out;
    for (std::size_t i = 0; i < array->size(); ++i) {
        if (auto problem = check_element(spec, *array->get(i)); !problem.empty())
            out.push_back({"[" + std::to_string(i) + "]", std::move(problem)});
    }
    return out;
}

std::vector<ConfigKeySpec> read_config_schema(const toml::node& config, const std::string& source,
                                              const SchemaErrorSink& error) {
    std::vector<ConfigKeySpec> out;
    const auto* table = config.as_table();
    if (!table) {
        error(config.source().begin, "config",
              "expected a table of keys ([config.<key>] with type and help), got " +
                  describe(config));
        return out;
    }
    // toml++ keeps a table's keys sorted by name; the schema keeps the file's order.
    std::vector<std::pair<std::string, const toml::node*>> keys;
    for (const auto& [key, node] : *table)
        keys.emplace_back(std::string(key.str()), &node);
    const auto at = [](const toml::node* n) {
        return std::tuple(n->source().begin.line, n->source().begin.column);
    };
    std::stable_sort(keys.begin(), keys.end(),
                     [&](const auto& a, const auto& b) { return at(a.second) < at(b.second); });
    KeyReader reader(source, error);
    for (const auto& [key, node] : keys) {
        ConfigKeySpec spec;
        if (reader.read(key, *node, spec)) out.push_back(std::move(spec));
    }
    return out;
}

TableCheck validate_plugin_table(const std::string& id, const std::vector<ConfigKeySpec>& schema,
                                 const config::PluginSettings* settings) {
    if (schema.empty() || settings == nullptr) return {};
    toml::table table;
    try {
        table = toml::parse(settings->table_toml);
    } catch (const toml::parse_error& e) {  // the loader wrote it: not expected
        return {{settings->where + ": plugins." + id + ": " + std::string(e.description())}, {}};
    }
    std::vector<std::string> known;
    for (const auto& spec : schema)
        known.push_back(spec.key);
    known.insert(known.end(), std::begin(config::host_plugin_keys),
                 std::end(config::host_plugin_keys));
    const auto where = [&](const std::string& path) {
        const auto found = settings->positions.find(path);
        return found != settings->positions.end() ? found->second : settings->where;
    };

    std::vector<Finding> errors;
    std::vector<Finding> warnings;
    for (const auto& [name, value] : table) {
        const std::string key(name.str());
        if (std::find(std::begin(config::host_plugin_keys), std::end(config::host_plugin_keys),
                      key) != std::end(config::host_plugin_keys))
            continue;
        const std::string dotted = "plugins." + id + "." + key;
        const auto spec = std::find_if(schema.begin(), schema.end(),
                                       [&](const ConfigKeySpec& s) { return s.key == key; });
        if (spec == schema.end()) {
            std::string text = where(key) + ": unknown " + (value.is_table() ? "table" : "key") +
                               " '" + dotted + "'";
            if (auto hint = close_match(key, known); !hint.empty())
                text += " (did you mean '" + hint + "'?)";
            warnings.push_back({line_column(where(key)), std::move(text)});
            continue;
        }
        for (const auto& problem : check_value(*spec, value)) {
            const std::string at = where(key + problem.element);
            errors.push_back(
                {line_column(at), at + ": " + dotted + problem.element + ": " + problem.text});
        }
    }
    return {in_file_order(std::move(errors)), in_file_order(std::move(warnings))};
}

}  // namespace meshbot::plugins
