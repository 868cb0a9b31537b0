#pragma once
// The daemon's settings, as read from the TOML config file. Plain data: every default here
// is the documented default in config/meshbot.example.toml.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::config {

using Seconds = std::chrono::duration<double>;

enum class Transport { tcp, serial };

struct RadioConfig {
    Transport transport = Transport::tcp;
    std::string host = "127.0.0.1";
    std::uint16_t port = 4403;
    std::string device = "/dev/ttyUSB0";
    unsigned baud = 115200;

    Seconds connect_timeout{10};
    Seconds handshake_timeout{30};
    Seconds heartbeat_interval{60};
    // The link is lost when nothing arrives for heartbeat_interval * silence_multiple.
    double silence_multiple = 3.0;
    Seconds backoff_initial{1};
    Seconds backoff_max{60};
    // A link that stayed ready this long resets the backoff to backoff_initial.
    Seconds backoff_reset_after{120};

    Seconds dedupe_window{600};

    Seconds text_gap{2};  // never below 2 s: the firmware drops faster texts
    // The firmware's other per-connection limits (2.7.1+): telemetry, position, waypoint and
    // alert packets 10 s apart, traceroutes 30 s apart. 0 turns the pacing off (older radios).
    Seconds telemetry_gap{10};
    Seconds traceroute_gap{30};
    unsigned outbox_capacity = 256;
    Seconds outbox_expiry{600};
};

struct LogConfig {
    std::string level = "info";
};

struct BotConfig {
    // Where the bot keeps what it learns: the node store and plugin key-value stores.
    // Relative paths are relative to the config file's directory.
    std::filesystem::path data_dir = "data";
};

struct CommandsConfig {
    std::string prefix = "/";
    bool dm = true;  // answer commands sent as DMs
    // Channel indexes where channel commands may run (empty: none). The primary channel by
    // default, so that a newcomer's bot answers where the mesh talks.
    std::vector<unsigned> channels{0};
    unsigned rate_limit = 5;  // commands per sender per rate_window
    Seconds rate_window{60};
    std::size_t reply_max_bytes = 200;  // per reply part, UTF-8 bytes (never above 200)
    std::vector<std::uint32_t> admins;  // node numbers allowed to run privileged commands
    // Commands the radio kept while the bot was away (its backlog) are answered when younger
    // than this by their rx_time, and skipped otherwise; 0 skips the whole backlog.
    Seconds answer_backlog{60};
};

struct KeysConfig {
    // How often the key sync compares the node store with the radio's NodeDB; it does
    // nothing (and sends nothing) when neither changed since the last check.
    Seconds check_interval{300};
    // Nodes whose keys are pushed to the radio after every (re)connect when it lacks them, on
    // top of the admins (each push is a flash write on the radio, so keep this short).
    std::vector<std::uint32_t> restore;
};

// One [plugins.<id>] table: `enabled` plus the plugin's own keys, kept as TOML text for the
// plugin host to hand to the plugin (the host re-parses it; the loader only checks `enabled`).
// Where a plugin's code runs: in a meshbot-plugin runner process of its own (a crash or a hang
// costs that runner only), or inside the bot's process (trusted plugins; a crash ends the bot).
enum class Isolation { process, none };

// The keys of a [plugins.<id>] table that are the host's (config_sections.cpp reads them); every
// other key is the plugin's own, so a plugin's [config] schema may not declare these.
// A character of a plugin id: the manifest's id, its [plugins.<id>] table, an index entry.
inline bool is_plugin_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
inline constexpr std::size_t max_plugin_id_length = 32;

inline constexpr std::string_view host_plugin_keys[] = {"enabled", "isolation", "grant_network",
                                                        "grant_exec", "allow_local_ports"};

struct PluginSettings {
    std::optional<bool> enabled;
    std::optional<bool> grant_network;  // lets a plugin whose manifest asks for `network` load
    std::optional<bool> grant_exec;     // lets a plugin whose manifest asks for `exec` run programs
    // Ports on this machine a plugin granted the network may connect to (never the radio's).
    std::vector<std::uint16_t> allow_local_ports;
    std::optional<Isolation> isolation;  // overrides [plugins] isolation
    std::string table_toml;              // the whole [plugins.<id>] table serialised as TOML
    std::string where;                   // "file:line:column" of the table, for messages
    // "file:line:column" of each value in the table, by config_get path ("a.b", "list[2]").
    std::map<std::string, std::string> positions;
};

struct PluginsConfig {
    // Folders scanned for plugins (each plugin: a folder with plugin.toml and its .so).
    // Relative paths are relative to the config file's directory.
    std::vector<std::filesystem::path> dirs;
    // Also search data_dir/plugins/ and the plugins that come with meshbot (after `dirs`).
    bool default_dirs = true;
    // When set, only these plugin ids load; [plugins.<id>] enabled = false still wins.
    std::optional<std::vector<std::string>> enabled;
    std::map<std::string, PluginSettings> settings;  // by plugin id
    Seconds callback_budget{0.05};                   // a plugin callback slower than this is logged
    unsigned max_faults = 3;      // faults (exceptions, crashes) within fault_window -> faulted
    Seconds fault_window{600.0};  // faults older than this no longer count
    Isolation isolation = Isolation::process;  // the default for every plugin
    // Runners contain themselves (docs/plugin-sandbox.md); false only to diagnose a plugin.
    bool sandbox = true;
    // Out of process: a callback still running after this gets its runner killed and restarted.
    Seconds callback_timeout{5.0};
    std::uint64_t memory_limit_mb = 256;  // a runner's address space (RLIMIT_AS)
    std::filesystem::path runner;         // meshbot-plugin; empty: beside the meshbot executable
    // Where `meshbot plugin install` may fetch git sources and indexes from, besides local
    // paths and file:// URLs: "host" or "host/path-prefix" (e.g. "github.com/meshtastic").
    // None by default: a stranger's server is never contacted unless the operator says so.
    std::vector<std::string> trusted_sources;

    // The operator asks for plugin `id`: no allow-list or listed in it, and not enabled = false.
    bool wants(const std::string& id) const {
        const auto s = settings.find(id);
        return (!enabled || std::find(enabled->begin(), enabled->end(), id) != enabled->end()) &&
               !(s != settings.end() && s->second.enabled == false);
    }
    Isolation isolation_of(const std::string& id) const {
        const auto it = settings.find(id);
        return it != settings.end() && it->second.isolation ? *it->second.isolation : isolation;
    }
};

// Whether `address`, an IP literal without brackets or port, is a loopback address
// (127.0.0.0/8, ::1); nullopt when it is not an IP literal at all. Any thread.
std::optional<bool> loopback_address(const std::string& address);

// The local HTTP listener: /metrics for Prometheus and the live status page.
struct HttpConfig {
    bool enabled = true;                // listen = "" turns it off
    std::string address = "127.0.0.1";  // an IP literal, never a host name
    std::uint16_t port = 9464;          // 0: any free port (tests), logged when listening
    bool loopback = true;               // address is 127.0.0.0/8 or ::1
    // Required (and then checked on every request but the page itself) unless loopback.
    std::string token;
    // Per-node series in /metrics: the most recently heard nodes, so that a 10,000-node mesh
    // does not become 50,000 series.
    unsigned node_metrics = 100;
};

// An "IP" or "IP/prefix" from the config, parsed. Plain data.
struct AddressRange {
    std::string text;  // as written
    bool v4 = true;
    std::array<std::uint8_t, 16> ip{};  // IPv4: the first 4 bytes
    unsigned prefix = 32;               // bits compared

    // `address` is 4 (IPv4) or 16 bytes; an IPv4-mapped IPv6 address counts as IPv4.
    bool contains(bool address_v4, const std::uint8_t* address) const;
    static std::optional<AddressRange> parse(std::string_view text);
    bool operator==(const AddressRange& other) const { return text == other.text; }
};

// The virtual node: other API clients (the phone app, the Python CLI, Home Assistant) share the
// radio through the bot (framework/proxy/).
struct ProxyConfig {
    bool enabled = false;  // listen = "" (the default) turns it off
    std::string address = "127.0.0.1";
    std::uint16_t port = 4403;  // 0: any free port (tests), logged when listening
    bool loopback = true;
    // Client addresses admitted besides loopback, as "IP" or "IP/prefix" (CIDR).
    std::vector<AddressRange> allow_from;
    // Radio-changing admin messages clients may send: none by default, all with `true`, or the
    // listed AdminMessage fields ("set_owner", "set_config", ...).
    bool allow_all_admin = false;
    std::vector<std::string> allow_admin;
    unsigned max_clients = 32;
    // Frames a client has not read yet, beyond which it is disconnected as too slow.
    std::size_t client_buffer = 512 * 1024;
    // Packets one client may have waiting for the radio; more are refused at once.
    unsigned client_queue = 64;
};

// The radio-changing AdminMessage fields [proxy] allow_admin may name (the rest of the oneof is
// read-only requests and responses). proxy/admin_policy.cpp classifies with the same list.
const std::vector<std::string_view>& radio_changing_admin();

// A new setting: say in app/config_reload.cpp whether a SIGHUP applies it or needs a restart.
struct AppConfig {
    std::filesystem::path source;  // the file this was read from
    RadioConfig radio;
    LogConfig log;
    BotConfig bot;
    CommandsConfig commands;
    KeysConfig keys;
    PluginsConfig plugins;
    HttpConfig http;
    ProxyConfig proxy;
};

}  // namespace meshbot::config
