#include "app/store_cli.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "meshbot/sdk/utf8.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include "app/control_server.hpp"
#include "nodes/node_store.hpp"
#include "plugin_host/utf8_chunker.hpp"
#include "radio/node_id.hpp"

namespace meshbot::app {

namespace fs = std::filesystem;
using nodes::KeyState;
using nodes::NodeRecord;
using nodes::NodeStore;

namespace {

// How long `keys accept` keeps trying a daemon that holds the lock but does not answer yet
// (it is still loading the store, or an offline accept holds the lock for a moment).
constexpr auto kDaemonWait = std::chrono::seconds(5);
constexpr auto kAnswerTimeout = std::chrono::milliseconds(10000);

// ---- text -------------------------------------------------------------------------------

// Names come from the mesh: valid UTF-8 only, and no control characters (terminal escapes).
std::string clean(std::string_view text) {
    std::string out = plugins::sanitize_utf8(text);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    return out;
}

// Columns are counted in code points: close enough for names with accents or an emoji.
std::string pad(std::string text, std::size_t width) {
    const auto points = utf8::count_code_points(text);
    if (points < width) text.append(width - points, ' ');
    return text;
}

std::int64_t now_epoch() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

std::string age(std::uint32_t last_heard, std::int64_t now) {
    if (last_heard == 0) return "never";
    const auto secs = std::max<std::int64_t>(0, now - last_heard);
    if (secs < 120) return std::to_string(secs) + "s ago";
    if (secs < 7200) return std::to_string(secs / 60) + "m ago";
    if (secs < 172800) return std::to_string(secs / 3600) + "h ago";
    return std::to_string(secs / 86400) + "d ago";
}

std::string fixed(double value, int decimals) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string hex64(std::uint64_t value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, value);
    return text;
}

// ---- JSON (hand-written: Boost.JSON is not in Debian 12's Boost) -----------------------

std::string json_string(std::string_view text) {
    const std::string valid = plugins::sanitize_utf8(text);
    std::string out = "\"";
    for (const char c : valid) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_number(double value, int decimals) {
    return std::isfinite(value) ? fixed(value, decimals) : "null";
}

std::string json_key(const std::optional<nodes::PublicKey>& key) {
    return key ? json_string(nodes::key_base64(*key)) : "null";
}

// Builds one JSON object, fields in the order added.
class JsonObject {
public:
    JsonObject& raw(std::string_view name, std::string_view value) {
        text_ += text_.size() > 1 ? ", " : "";
        text_ += json_string(name) + ": ";
        text_ += value;
        return *this;
    }
    JsonObject& str(std::string_view name, std::string_view value) {
        return raw(name, json_string(value));
    }
    JsonObject& num(std::string_view name, std::uint64_t value) {
        return raw(name, std::to_string(value));
    }
    JsonObject& num(std::string_view name, std::int64_t value) {
        return raw(name, std::to_string(value));
    }
    std::string done() const { return text_ + "}"; }

private:
    std::string text_ = "{";
};

// An array of already-encoded values, one per line.
std::string json_array(const std::vector<std::string>& items, std::string_view indent) {
    if (items.empty()) return "[]";
    std::string out = "[\n";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += std::string(indent) + "  " + items[i] + (i + 1 < items.size() ? ",\n" : "\n");
    }
    return out + std::string(indent) + "]";
}

// ---- loading ----------------------------------------------------------------------------

// The snapshot file's identity: it changes when the daemon replaces the snapshot.
std::pair<ino_t, std::int64_t> snapshot_id(const fs::path& dir) {
    struct stat st {};
    if (::stat((dir / "nodes.db").c_str(), &st) != 0) return {0, 0};
    return {st.st_ino, static_cast<std::int64_t>(st.st_mtim.tv_nsec) + st.st_mtim.tv_sec};
}

// Prints what load() found.
void print_report(const nodes::LoadReport& report) {
    for (const auto& error : report.errors)
        std::cerr << "meshbot: " << error << "\n";
    for (const auto& warning : report.warnings)
        std::cerr << "meshbot: warning: " << warning << "\n";
}

// Loads the store and prints what load() found; false (printed) when it cannot be read at all.
bool report_load(NodeStore& store, bool read_only) {
    try {
        print_report(store.load(read_only));
        return true;
    } catch (const std::exception& e) {  // StoreError, or a filesystem error
        std::cerr << "meshbot: " << e.what() << "\n";
        return false;
    }
}

// The store as the files hold it now, read-only. A running daemon may replace the snapshot
// and start a new journal while we read them; reading again after that gives a consistent
// view, and only that reading's findings are printed (a mixed one can look like a lost journal).
std::unique_ptr<NodeStore> load_read_only(const fs::path& dir) {
    if (!fs::exists(dir)) {
        std::cerr << "meshbot: no node store in " << dir.string()
                  << " yet (the daemon creates it)\n";
    }
    for (int attempt = 0;; ++attempt) {
        const auto before = snapshot_id(dir);
        auto store = std::make_unique<NodeStore>(dir);
        nodes::LoadReport report;
        try {
            report = store->load(true);
        } catch (const std::exception& e) {  // StoreError, or a filesystem error
            std::cerr << "meshbot: " << e.what() << "\n";
            return nullptr;
        }
        if (snapshot_id(dir) == before || attempt == 2) {
            print_report(report);
            return store;
        }
    }
}

// Self first, then the most recently heard, then by number.
std::vector<const NodeRecord*> sorted(const NodeStore& store) {
    std::vector<const NodeRecord*> out;
    out.reserve(store.size());
    store.for_each([&out](const NodeRecord& node) { out.push_back(&node); });
    const auto self = store.self_num();
    std::sort(out.begin(), out.end(), [self](const NodeRecord* a, const NodeRecord* b) {
        if ((a->num == self) != (b->num == self)) return a->num == self;
        if (a->last_heard != b->last_heard) return a->last_heard > b->last_heard;
        return a->num < b->num;
    });
    return out;
}

// ---- nodes ------------------------------------------------------------------------------

std::string node_json(const NodeRecord& n, std::int64_t now) {
    JsonObject o;
    o.str("id", radio::node_id(n.num)).num("num", std::uint64_t{n.num});
    o.str("short_name", n.short_name).str("long_name", n.long_name);
    o.num("role", std::uint64_t{n.role}).num("hw_model", std::uint64_t{n.hw_model});
    o.num("first_heard", std::uint64_t{n.first_heard})
        .num("last_heard", std::uint64_t{n.last_heard});
    o.raw("last_heard_age", n.last_heard == 0
                                ? "null"
                                : std::to_string(std::max<std::int64_t>(0, now - n.last_heard)));
    o.raw("snr", json_number(n.snr, 2)).num("rssi", std::int64_t{n.rssi});
    o.raw("hops_away", n.hops_away < 0 ? "null" : std::to_string(n.hops_away));
    o.str("key_state", nodes::to_string(n.key_state()));
    if (n.position) {
        JsonObject p;
        p.raw("latitude", json_number(n.position->latitude_i / 1e7, 7))
            .raw("longitude", json_number(n.position->longitude_i / 1e7, 7))
            .num("altitude", std::int64_t{n.position->altitude})
            .num("time", std::uint64_t{n.position->time});
        o.raw("position", p.done());
    } else {
        o.raw("position", "null");
    }
    if (n.metrics) {
        JsonObject m;
        m.num("battery_level", std::uint64_t{n.metrics->battery_level})
            .raw("voltage", json_number(n.metrics->voltage, 3))
            .raw("channel_utilization", json_number(n.metrics->channel_utilization, 2))
            .raw("air_util_tx", json_number(n.metrics->air_util_tx, 2))
            .num("uptime_seconds", std::uint64_t{n.metrics->uptime_seconds});
        o.raw("metrics", m.done());
    } else {
        o.raw("metrics", "null");
    }
    return o.done();
}

void print_nodes(const NodeStore& store, const fs::path& dir, bool json) {
    const auto nodes = sorted(store);
    const auto now = now_epoch();
    if (json) {
        std::vector<std::string> items;
        for (const auto* n : nodes)
            items.push_back(node_json(*n, now));
        JsonObject top;
        top.str("data_dir", dir.string());
        top.raw("self", store.self_num() ? json_string(radio::node_id(store.self_num())) : "null");
        top.num("count", std::uint64_t{nodes.size()});
        top.raw("nodes", json_array(items, ""));
        std::cout << top.done() << "\n";
        return;
    }
    std::cout << nodes.size() << " nodes in " << dir.string();
    if (store.self_num()) std::cout << "; this bot is " << radio::node_id(store.self_num());
    std::cout << "\n";
    if (nodes.empty()) return;
    std::cout << "ID         SHORT  LAST HEARD     SNR  HOPS  KEY      LONG NAME\n";
    for (const auto* n : nodes) {
        const bool self = n->num == store.self_num();
        const std::string heard = self ? "this bot" : age(n->last_heard, now);
        const std::string snr = self || n->last_heard == 0 ? "-" : fixed(n->snr, 1);
        const std::string hops = self ? "-" : n->hops_away < 0 ? "?" : std::to_string(n->hops_away);
        std::printf("%-9s  %s  %-10s  %6s  %4s  %-7s  %s\n", radio::node_id(n->num).c_str(),
                    pad(clean(n->short_name), 5).c_str(), heard.c_str(), snr.c_str(), hops.c_str(),
                    nodes::to_string(n->key_state()), clean(n->long_name).c_str());
    }
}

// ---- keys -------------------------------------------------------------------------------

std::string keys_json(const NodeRecord& n) {
    std::vector<std::string> history;
    for (const auto& past : n.key_history) {
        history.push_back(JsonObject()
                              .str("key", nodes::key_base64(past.key))
                              .num("first_seen", std::uint64_t{past.first_seen})
                              .num("last_seen", std::uint64_t{past.last_seen})
                              .done());
    }
    JsonObject o;
    o.str("id", radio::node_id(n.num)).num("num", std::uint64_t{n.num});
    o.str("short_name", n.short_name).str("long_name", n.long_name);
    o.str("key_state", nodes::to_string(n.key_state()));
    o.raw("pinned_key", json_key(n.pinned_key)).raw("presented_key", json_key(n.presented_key));
    o.num("pinned_at", std::uint64_t{n.pinned_at});
    o.num("history_count", std::uint64_t{n.key_history.size()});
    o.raw("history", json_array(history, "  "));
    return o.done();
}

void print_keys(const NodeStore& store, const fs::path& dir, bool json) {
    // CHANGED first: those are what the operator came for.
    auto nodes = sorted(store);
    std::stable_sort(nodes.begin(), nodes.end(), [](const NodeRecord* a, const NodeRecord* b) {
        return (a->key_state() == KeyState::changed) > (b->key_state() == KeyState::changed);
    });
    std::size_t pinned = 0, changed = 0;
    for (const auto* n : nodes) {
        pinned += n->pinned_key ? 1 : 0;
        changed += n->key_state() == KeyState::changed ? 1 : 0;
    }
    if (json) {
        std::vector<std::string> items;
        for (const auto* n : nodes)
            items.push_back(keys_json(*n));
        JsonObject top;
        top.str("data_dir", dir.string());
        top.num("key_generation", store.key_generation());
        // A string: 64-bit values do not survive JSON readers that use doubles.
        top.str("key_digest", hex64(store.key_digest()));
        top.num("nodes_count", std::uint64_t{nodes.size()});
        top.num("pinned", std::uint64_t{pinned}).num("changed", std::uint64_t{changed});
        top.raw("nodes", json_array(items, ""));
        std::cout << top.done() << "\n";
        return;
    }
    std::cout << "key generation " << store.key_generation() << ", digest "
              << hex64(store.key_digest()) << ": " << nodes.size() << " nodes, " << pinned
              << " keys pinned, " << changed << " CHANGED";
    if (changed > 0) std::cout << " (meshbot keys accept NODE trusts the new key)";
    std::cout << "\n";
    if (nodes.empty()) return;
    std::cout << "ID         SHORT  STATE    HIST  PINNED KEY                                    "
                 "LONG NAME\n";
    for (const auto* n : nodes) {
        const std::string key = n->pinned_key ? nodes::key_base64(*n->pinned_key) : "-";
        std::printf("%-9s  %s  %-7s  %4zu  %-44s  %s\n", radio::node_id(n->num).c_str(),
                    pad(clean(n->short_name), 5).c_str(), nodes::to_string(n->key_state()),
                    n->key_history.size(), key.c_str(), clean(n->long_name).c_str());
        if (n->presented_key) {
            std::printf("%-9s  %-5s  %-7s  %4s  %s\n", "", "", "presents", "",
                        nodes::key_base64(*n->presented_key).c_str());
        }
    }
}

// ---- accept -----------------------------------------------------------------------------

// Prints an answer line: ok to stdout, errors to stderr. Returns the exit code.
int answer(const std::string& line) {
    const bool ok = line.rfind("ok: ", 0) == 0;
    (ok ? std::cout : std::cerr) << line << "\n";
    return ok ? kExitOk : kExitFailure;
}

// No daemon runs and we hold the directory lock: change the store ourselves, worded as the
// daemon words it.
int accept_offline(const fs::path& dir, const std::string& query) {
    NodeStore store(dir);
    if (!report_load(store, false)) return kExitFailure;
    const auto outcome = store.accept_key(query);
    if (!outcome.accepted) return answer("error: " + clean(outcome.text));
    store.save();  // the journal already holds the change; this folds it into the snapshot
    return answer("ok: " + clean(outcome.text) + " (no daemon running; saved in " + dir.string() +
                  ")");
}

int accept(const fs::path& dir, const std::string& query) {
    try {
        nodes::check_data_dir(dir);
    } catch (const nodes::StoreError& e) {
        std::cerr << "meshbot: " << e.what() << "\n";
        return kExitFailure;
    }
    if (!fs::is_directory(dir)) {
        std::cerr << "meshbot: no node store in " << dir.string() << "\n";
        return kExitFailure;
    }
    const std::string request = "keys accept " + query;
    if (request.size() > kMaxRequest) {
        std::cerr << "meshbot: node name too long\n";
        return kExitFailure;
    }
    // Changing the files ourselves as another user (sudo) would leave them unreadable to the
    // daemon's user: then only the daemon, through its socket, may make the change.
    struct stat owner {};
    const bool own_files = ::stat(dir.c_str(), &owner) == 0 && owner.st_uid == ::geteuid();
    const auto give_up = std::chrono::steady_clock::now() + kDaemonWait;
    std::string why;
    for (;;) {
        nodes::DirectoryLock lock;
        try {
            if (own_files && lock.try_lock(dir)) return accept_offline(dir, query);
        } catch (const nodes::StoreError& e) {
            std::cerr << "meshbot: " << e.what() << "\n";
            return kExitFailure;
        }
        // A daemon holds the store: it must make the change, through its control socket.
        const auto result = control_request(control_socket_path(dir), request, kAnswerTimeout);
        if (result.reached) return answer(result.answer);
        why = result.error;
        if (std::chrono::steady_clock::now() >= give_up) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!own_files) {
        std::cerr << "meshbot: no meshbot answers on " << dir.string() << "'s control socket ("
                  << why << "), and its files belong to another user: run this as the user "
                  << "meshbot runs as\n";
        return kExitFailure;
    }
    std::cerr << "meshbot: a running meshbot holds " << dir.string()
              << " but does not answer on its control socket: " << why << "\n";
    return kExitFailure;
}

}  // namespace

std::optional<StoreCommand> parse_store_command(const std::vector<std::string>& words, bool json,
                                                std::string& error) {
    StoreCommand command;
    command.json = json;
    if (words.empty() || (words[0] != "nodes" && words[0] != "keys")) {
        error = "not a store command";
        return std::nullopt;
    }
    if (words[0] == "nodes") {
        command.kind = StoreCommand::Kind::nodes;
        if (words.size() > 1) error = "'nodes' takes no arguments";
    } else if (words.size() == 1) {
        command.kind = StoreCommand::Kind::keys;
    } else if (words[1] != "accept") {
        error = "unknown keys command '" + words[1] + "'";
    } else if (words.size() < 3) {
        error = "keys accept: which node? (an !id, a node number, a short or long name)";
    } else {
        command.kind = StoreCommand::Kind::accept;
        for (std::size_t i = 2; i < words.size(); ++i)
            command.node += (i > 2 ? " " : "") + words[i];
        if (json) error = "keys accept has no --json output";
        if (command.node.find_first_of("\r\n") != std::string::npos)
            error = "keys accept: a node name is one line";
    }
    if (!error.empty()) return std::nullopt;
    return command;
}

int run_store_command(const StoreCommand& command, const config::AppConfig& config) {
    // Problems go to stderr, one line each; stdout keeps the listing (and JSON) clean.
    auto logger = spdlog::stderr_color_st("meshbot-cli");
    logger->set_pattern("meshbot: %v");
    logger->set_level(spdlog::level::err);
    spdlog::set_default_logger(logger);

    const fs::path& dir = config.bot.data_dir;
    if (command.kind == StoreCommand::Kind::accept) return accept(dir, command.node);
    const auto store = load_read_only(dir);
    if (!store) return kExitFailure;
    if (command.kind == StoreCommand::Kind::nodes) {
        print_nodes(*store, dir, command.json);
    } else {
        print_keys(*store, dir, command.json);
    }
    return kExitOk;
}

}  // namespace meshbot::app
