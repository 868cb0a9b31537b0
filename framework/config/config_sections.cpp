// The [bot], [commands] and [plugins] sections of the config file.

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "config/config_reader.hpp"
#include "meshbot/sdk/utf8.hpp"

namespace meshbot::config::detail {
namespace {

template <typename T>
void add_unique(std::vector<T>& list, T value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

// --- paths ------------------------------------------------------------------------------

std::filesystem::path resolve(const std::filesystem::path& base_dir,
                              const std::filesystem::path& path) {
    return path.is_relative() && !base_dir.empty() ? base_dir / path : path;
}

bool check_path(Section& s, const toml::node& node, std::string_view key,
                const std::filesystem::path& base_dir, std::filesystem::path& out) {
    const auto* v = node.as_string();
    if (!v || v->get().empty()) {
        s.error(node, key, "expected a non-empty path, got " + describe(node));
        return false;
    }
    out = resolve(base_dir, v->get());
    return true;
}

}  // namespace

// --- [bot] ------------------------------------------------------------------------------

void read_bot(Section& s, BotConfig& b, const std::filesystem::path& base_dir) {
    if (const auto* node = s.take("data_dir"))
        check_path(s, *node, "data_dir", base_dir, b.data_dir);
    // The default is relative too; the daemon always gets the resolved path.
    b.data_dir = resolve(base_dir, b.data_dir);
}

// --- [commands] -------------------------------------------------------------------------

namespace {

// White space (Unicode's White_Space, plus the zero-width space) and control characters:
// none of them belongs in a command prefix, which must be visible and unambiguous.
bool is_space(char32_t c) {
    return c <= 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// toml++ only hands out valid UTF-8.
bool has_space(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto length = std::max<std::size_t>(utf8::sequence_length(text, i), 1);
        if (length > 1 || static_cast<unsigned char>(text[i]) < 0x80) {
            if (is_space(utf8::decode(text, i, length))) return true;
        }
        i += length;
    }
    return false;
}

constexpr std::size_t max_prefix_bytes = 4;
constexpr std::uint32_t broadcast_node = 0xFFFFFFFF;

// 1 to 8 hex digits, either case.
std::optional<std::uint32_t> parse_hex(std::string_view digits) {
    if (digits.empty() || digits.size() > 8) return std::nullopt;
    std::uint32_t value = 0;
    for (const char c : digits) {
        std::uint32_t digit = 0;
        if (c >= '0' && c <= '9')
            digit = static_cast<std::uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = static_cast<std::uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        else
            return std::nullopt;
        value = (value << 4) | digit;
    }
    return value;
}

// A node number as written: "!0badc0de" (the form the apps show), "0x0badc0de", or an integer
// (which TOML also lets one write as 0x0badc0de).
std::optional<std::int64_t> node_number(const toml::node& node) {
    if (const auto* i = node.as_integer()) return i->get();
    const auto* s = node.as_string();
    if (!s) return std::nullopt;
    const std::string_view text = s->get();
    std::optional<std::uint32_t> value;
    if (text.size() == 9 && text[0] == '!')
        value = parse_hex(text.substr(1));
    else if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        value = parse_hex(text.substr(2));
    if (!value) return std::nullopt;
    return *value;
}

bool check_node_id(Section& s, const toml::node& node, std::string_view key, std::uint32_t& out) {
    const auto number = node_number(node);
    if (number && *number > 0 && *number < broadcast_node) {
        out = static_cast<std::uint32_t>(*number);
        return true;
    }
    if (number && *number == broadcast_node)
        s.error(node, key,
                "expected a node id, got " + describe(node) + " (the broadcast address)");
    else if (number && *number == 0)
        s.error(node, key, "expected a node id, got " + describe(node) + " (no node has number 0)");
    else
        s.error(node, key,
                "expected a node id such as \"!0badc0de\", \"0x0badc0de\" or 195936478, got " +
                    describe(node));
    return false;
}

}  // namespace

void read_commands(Section& s, CommandsConfig& c) {
    std::string prefix;
    if (const auto* node = read_string(s, "prefix", prefix)) {
        if (prefix.empty() || prefix.size() > max_prefix_bytes || has_space(prefix))
            s.error(*node, "prefix",
                    "expected 1 to " + std::to_string(max_prefix_bytes) +
                        " bytes without whitespace, got " + describe(*node));
        else
            c.prefix = std::move(prefix);
    }
    read_bool(s, "dm", c.dm);

    std::vector<unsigned> channels;
    const auto channel = [&](const toml::node& node, const std::string& key) {
        unsigned index = 0;
        if (!check_integer(s, node, key, index, 0, 7)) return false;
        add_unique(channels, index);
        return true;
    };
    if (read_array(s, "channels", "channel indexes (integers from 0 to 7)", channel))
        c.channels = std::move(channels);

    read_integer(s, "rate_limit", c.rate_limit, 1);
    read_seconds(s, "rate_window", c.rate_window, at_least_a_second);
    read_seconds(s, "answer_backlog", c.answer_backlog,
                 {.min = 1,
                  .inclusive = true,
                  .below = 86400,
                  .or_zero = true,
                  .why = "0 skips the whole backlog"});
    read_integer(s, "reply_max_bytes", c.reply_max_bytes, 50, 200,
                 "an encrypted DM holds 200 bytes of text plus the part numbering");

    std::vector<std::uint32_t> admins;
    const auto admin = [&](const toml::node& node, const std::string& key) {
        std::uint32_t id = 0;
        if (!check_node_id(s, node, key, id)) return false;
        add_unique(admins, id);
        return true;
    };
    if (read_array(s, "admins", "node ids", admin)) c.admins = std::move(admins);
}

// --- [keys] -----------------------------------------------------------------------------

constexpr std::size_t max_restore_nodes = 16;

void read_keys(Section& s, KeysConfig& k) {
    read_seconds(s, "check_interval", k.check_interval,
                 {.min = 1, .inclusive = true, .why = "a check more often would only cost CPU"});
    std::vector<std::uint32_t> restore;
    const auto node = [&](const toml::node& value, const std::string& key) {
        std::uint32_t id = 0;
        if (!check_node_id(s, value, key, id)) return false;
        add_unique(restore, id);
        return true;
    };
    const auto* list = s.take("restore");
    if (list == nullptr) return;
    if (const auto* array = list->as_array(); array && array->size() > max_restore_nodes) {
        s.error(*list, "restore",
                "lists " + std::to_string(array->size()) + " nodes, at most " +
                    std::to_string(max_restore_nodes) +
                    " are allowed (each push writes the radio's flash and pins a favourite)");
        return;
    }
    if (read_array(s, "restore", "node ids", node)) k.restore = std::move(restore);
}

// --- [plugins] --------------------------------------------------------------------------

namespace {

constexpr std::string_view plugin_id_rule = "lowercase letters, digits, '_' and '-'";

bool is_plugin_id(std::string_view id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), is_plugin_id_char);
}

// A key as it would be written in a TOML header: bare when it can be, quoted otherwise.
std::string toml_key(std::string_view key) {
    const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
    if (bare) return std::string(key);
    std::string quoted = "\"";
    for (const char c : key) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted + '"';
}

bool check_plugin_id(Section& s, const toml::node& node, std::string_view key, std::string& out) {
    const auto* v = node.as_string();
    if (!v || !is_plugin_id(v->get())) {
        s.error(
            node, key,
            "expected a plugin id (" + std::string(plugin_id_rule) + "), got " + describe(node));
        return false;
    }
    out = v->get();
    return true;
}

const toml::node* read_isolation(Section& s, Isolation& out) {
    return read_choice(s, "isolation", out,
                       {{"process", Isolation::process}, {"none", Isolation::none}});
}

// Where each value of a plugin's table is, by the path a plugin asks config_get for: the
// table is handed on as text, which keeps no positions of the operator's file.
void record_positions(const toml::node& node, const std::string& path, const Report& report,
                      std::map<std::string, std::string>& out) {
    if (!path.empty()) out[path] = report.where(node.source().begin);
    if (const auto* table = node.as_table()) {
        for (const auto& [key, child] : *table)
            record_positions(
                child, path.empty() ? std::string(key.str()) : path + "." + std::string(key.str()),
                report, out);
    } else if (const auto* array = node.as_array()) {
        for (std::size_t i = 0; i < array->size(); ++i)
            record_positions(*array->get(i), path + "[" + std::to_string(i) + "]", report, out);
    }
}

// One [plugins.<id>] table. Only `enabled`, `isolation` and the grants are the host's; every
// other key is the plugin's own, checked by the plugin host against the plugin, so none of them
// raises an unknown-key warning here.
void read_plugin_table(Section& plugins, std::string_view id, const toml::node& node,
                       const std::vector<std::string>& section_keys, PluginsConfig& p) {
    const std::string key = toml_key(id);
    const auto* table = node.as_table();
    if (!table) {
        std::string problem = "expected a table [" + dotted(plugins.path(), key) +
                              "] of plugin settings, got " + describe(node);
        if (auto hint = close_match(id, section_keys); !hint.empty())
            problem += " (did you mean '" + hint + "'?)";
        else if (const auto* on = node.as_boolean())
            problem += std::string(" (to switch a plugin on or off, write enabled = ") +
                       (on->get() ? "true" : "false") + " under [" + dotted(plugins.path(), key) +
                       "])";
        plugins.error(node, key, problem);
        return;
    }
    if (!is_plugin_id(id)) {
        plugins.error(node, key, "not a plugin id (ids use " + std::string(plugin_id_rule) + ")");
        return;
    }
    PluginSettings settings;
    Section section(*table, dotted(plugins.path(), key), plugins.report());
    read_bool(section, "enabled", settings.enabled);
    read_bool(section, "grant_network", settings.grant_network);
    read_bool(section, "grant_exec", settings.grant_exec);
    std::vector<std::uint16_t> ports;
    const auto port = [&](const toml::node& port_node, const std::string& port_key) {
        std::uint16_t value = 0;
        if (!check_integer(section, port_node, port_key, value, 1, 65535)) return false;
        add_unique(ports, value);
        return true;
    };
    if (read_array(section, "allow_local_ports", "TCP ports (integers from 1 to 65535)", port))
        settings.allow_local_ports = std::move(ports);
    Isolation isolation = Isolation::process;
    if (read_isolation(section, isolation)) settings.isolation = isolation;
    // An inline table (echo = { ... }) would print as "{ ... }", which is no document.
    toml::table whole = *table;
    whole.is_inline(false);
    std::ostringstream text;
    text << toml::toml_formatter(whole);
    settings.table_toml = text.str();
    settings.where = plugins.report().where(table->source().begin);
    record_positions(*table, "", plugins.report(), settings.positions);
    p.settings.insert_or_assign(std::string(id), std::move(settings));
}

}  // namespace

void read_plugins(Section& s, PluginsConfig& p, const std::filesystem::path& base_dir) {
    std::vector<std::filesystem::path> dirs;
    const auto dir = [&](const toml::node& node, const std::string& key) {
        std::filesystem::path path;
        if (!check_path(s, node, key, base_dir, path)) return false;
        add_unique(dirs, std::move(path));
        return true;
    };
    if (read_array(s, "dirs", "paths", dir)) p.dirs = std::move(dirs);
    read_bool(s, "default_dirs", p.default_dirs);

    std::vector<std::string> enabled;
    const auto plugin_id = [&](const toml::node& node, const std::string& key) {
        std::string id;
        if (!check_plugin_id(s, node, key, id)) return false;
        add_unique(enabled, std::move(id));
        return true;
    };
    if (read_array(s, "enabled", "plugin ids", plugin_id)) p.enabled = std::move(enabled);

    read_seconds(
        s, "callback_budget", p.callback_budget,
        {.min = 0.001, .inclusive = true, .why = "a smaller budget would log every callback"});
    read_integer(s, "max_faults", p.max_faults, 1);
    read_seconds(s, "fault_window", p.fault_window, Bounds{.min = 1, .inclusive = true, .why = {}});
    read_isolation(s, p.isolation);
    read_bool(s, "sandbox", p.sandbox);
    read_seconds(s, "callback_timeout", p.callback_timeout,
                 Bounds{.min = 0.1, .inclusive = true, .why = "a runner needs time to answer"});
    read_integer(s, "memory_limit_mb", p.memory_limit_mb, 16, std::nullopt,
                 "a runner with its libraries needs about 10 MiB of address space");
    std::filesystem::path runner;
    if (const auto* node = s.take("runner");
        node && check_path(s, *node, "runner", base_dir, runner))
        p.runner = std::move(runner);
    std::vector<std::string> trusted;
    const auto trusted_source = [&](const toml::node& node, const std::string& key) {
        const auto* text = node.as_string();
        const std::string_view value = text ? std::string_view(text->get()) : std::string_view();
        if (!text || value.empty() || value.find("://") != std::string_view::npos ||
            value.find_first_of(" \t@") != std::string_view::npos || value.front() == '/') {
            s.error(node, key,
                    "expected a host or host/path such as \"github.com/my-org\" (no scheme, "
                    "no user), got " +
                        describe(node));
            return false;
        }
        add_unique(trusted, std::string(value));
        return true;
    };
    if (read_array(s, "trusted_sources", "hosts (\"host\" or \"host/path\")", trusted_source))
        p.trusted_sources = std::move(trusted);

    // Everything else under [plugins] names a plugin.
    const std::vector<std::string> keys = s.taken();
    s.take_rest([&](std::string_view id, const toml::node& node) {
        read_plugin_table(s, id, node, keys, p);
    });
}

}  // namespace meshbot::config::detail
