#pragma once
// A plugin's config schema: the [config] table of its plugin.toml, one [config.<key>] per key
// of the operator's [plugins.<id>] table, and the checks of that table against it. The schema is
// the one home of a plugin's defaults: a key the operator leaves out reads as its default.

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::plugins {

// The kinds of value a key may hold. `duration` is a number of seconds (integer or float, 0 to a
// year) like the bot's own durations; `table` is a table the plugin checks itself.
enum class ValueKind { boolean, integer, floating, string, duration, table };

// A key's type as plugin.toml spells it: "bool", "integer", "float", "string", "duration",
// "table", or "array<T>" for an array of one of the scalar kinds.
struct ConfigType {
    ValueKind kind = ValueKind::string;
    bool array = false;

    std::string text() const;
    bool operator==(const ConfigType&) const = default;
};

// One [config.<key>]: what a value of [plugins.<id>] <key> must be. Plain data; any thread.
struct ConfigKeySpec {
    std::string key;
    ConfigType type;
    std::string help;  // one line
    // "default", "min", "max" and "one_of" as plugin.toml gives them, each already checked
    // against `type` (min/max/one_of bound each element of an array).
    toml::table rules;
    std::string where;          // "plugin.toml:line:column" of [config.<key>]
    std::string default_where;  // the same for its default, "" without one

    const toml::node* default_value() const { return rules.get("default"); }
    const toml::node* min() const { return rules.get("min"); }
    const toml::node* max() const { return rules.get("max"); }
    const toml::array* one_of() const { return rules.get_as<toml::array>("one_of"); }
};

// Where a schema problem is, the dotted key it concerns ("config.channel.min") and what it is.
using SchemaErrorSink = std::function<void(toml::source_position at, const std::string& key,
                                           const std::string& problem)>;

// Reads the [config] node of a manifest named `source`; every problem goes to `error`, and a
// key with a problem is left out of the result. Keys come in file order.
std::vector<ConfigKeySpec> read_config_schema(const toml::node& config, const std::string& source,
                                              const SchemaErrorSink& error);

// One thing wrong with a value: `element` names the array element at fault ("[2]"), "" for the
// value itself.
struct ValueProblem {
    std::string element;
    std::string text;  // "expected an integer from 0 to 7, got integer -1"
};

// What is wrong with `value` for `spec`; empty when it fits.
std::vector<ValueProblem> check_value(const ConfigKeySpec& spec, const toml::node& value);

// The outcome of checking one [plugins.<id>] table against its plugin's schema: one line each,
// "file:line:column: plugins.<id>.<key>: problem", in the order of the operator's file.
struct TableCheck {
    std::vector<std::string> errors;    // wrong type, out of range, not one of the choices
    std::vector<std::string> warnings;  // keys the schema does not know, with suggestions
};

// Checks the operator's table (`settings`, null when the file has none) of plugin `id`. A
// plugin without a schema accepts anything (nothing to report); the host's own keys are skipped.
TableCheck validate_plugin_table(const std::string& id, const std::vector<ConfigKeySpec>& schema,
                                 const config::PluginSettings* settings);

// `value` as TOML text ("3", "\"reply\"", "[\"a\", \"b\"]"), for people.
std::string toml_text(const toml::node& value);

}  // namespace meshbot::plugins
