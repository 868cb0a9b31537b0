// meshbot-sim: a Meshtastic 2.7 radio simulator speaking the stream API over TCP or a pty.
// Single-threaded: one io_context runs the server, the stdin reader and the script.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "firmware_model.hpp"
#include "recorder.hpp"
#include "sim_commands.hpp"
#include "sim_server.hpp"

namespace {

using namespace meshbot::sim;
using boost::system::error_code;

constexpr std::string_view kUsage = R"(Usage: meshbot-sim [options]
Simulates a Meshtastic 2.7 radio on the stream API (TCP like port 4403, or a pty like USB serial).
The first stdout line is "listening on 127.0.0.1:PORT" (or "listening on /dev/pts/N").

Options:
  --port N            TCP port on 127.0.0.1 (default 0 = a free ephemeral port)
  --serial            serve a pty instead of TCP (frames interleaved with device log lines)
  --record FILE       write every event as one JSON object per line
  --nodes N           generate N other nodes in the NodeDB (default 3): !10000001.., all
                      with keys, odd ones with a position
  --node-file FILE    TOML [[node]] tables: num, long, short, key (64 hex, or "none" for a
                      node whose key the radio lacks), snr, hops, last_heard_ago, lat, lon,
                      battery, favorite (bool), uptime (s at start), chutil, airutil
  --capacity N        NodeDB capacity counting the own node, like MAX_NUM_NODES (default
                      100); a larger start-up population raises it to that count + 1. A new
                      node in a full DB evicts the oldest-heard non-favourite (keyless first)
  --my-node NUM       own node number, !xxxxxxxx, 0x... or decimal (default !0badc0de)
  --hop-limit N       LoRa hop limit reported in the config (default 3)
  --idle-timeout S    close a client that sent nothing for S seconds (default 900)
  --text-gap S        minimum gap between client texts (default 2)
  --ack-delay S       delay of simulated ACKs (default 0.2)
  --reply-delay S     delay of other nodes' auto-replies to want_response DMs (default 1.0)
  --reply-loss P      probability (0..1) that an auto-reply is lost (default 0; the draws
                      are deterministic for a given --seed)
  --no-throttle       disable PhoneAPI's per-portnum limits (10 s POSITION/WAYPOINT/ALERT/
                      TELEMETRY, 30 s TRACEROUTE); the text gap stays (see --text-gap)
  --script FILE       run commands from FILE (`wait SECS` pauses)
  --seed N            random seed for packet ids and garbage (default 1)
  --help              this text

Record (--record): one JSON object per line, each with "t" (seconds since start) and "ev":
  listen, accept, close (reason newer_connection|eof|idle_timeout|disconnect|drop|reboot|error),
  rx (kind want_config_id|heartbeat|disconnect|packet|malformed|duplicate_id|other),
  tx (kind config_complete|queue_status|routing|packet|notification|rebooted|raw|other;
      packets add request_id and pki when set, notifications reply_id),
  rate_limited, queued, dropped, reboot, up, and (NODE fields are "!xxxxxxxx"):
  delivered {to, id, portnum, pki, key_hex (only when pki)}   a client packet went on air
                                   (broadcasts and DMs; not local packets to the own node)
  throttled {portnum, id}          dropped by the 10 s / 30 s per-portnum limit
  add_contact {node, key_hex, empty_key, stored, should_ignore, flash_writes (total)}
  admin {variant, node?, long?, handled}  another local AdminMessage (set/remove_favorite_node,
                                   remove_by_nodenum and set_owner are modelled)
  evicted {node, for}              NodeDB eviction to make room for `for`
  nodedb_full {node}               full of favourites: the node was not stored (fw 2.7)
  key_mismatch {node, stored_hex, offered_hex}   a NodeInfo with another key was dropped
  forget {node, reason command|reboot|admin, known}    forget_key {node, known, had_key}
  reply {from, portnum, request_id, error?}   an auto-reply reached the radio
  reply_lost {from, portnum, request_id, error?}
  beacon {node, every}   silence {node}   return {node}   node_reboot {node, uptime}
  node_telemetry {node, id, uptime, battery}   a telemetry packet a node sent

)";

struct CliOptions {
    ServerOptions server;
    FirmwareSettings firmware;
    std::string record;
    int nodes = 3;
    std::string node_file;
    std::string script;
};

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "meshbot-sim: %s (see --help)\n", message.c_str());
    std::exit(2);
}

double parse_seconds(const std::string& flag, const std::string& value) {
    try {
        std::size_t used = 0;
        const double v = std::stod(value, &used);
        if (used != value.size() || v < 0) throw std::invalid_argument(value);
        return v;
    } catch (const std::exception&) {
        usage_error(flag + " needs a non-negative number of seconds, got '" + value + "'");
    }
}

unsigned long parse_unsigned(const std::string& flag, const std::string& value, unsigned long max) {
    try {
        std::size_t used = 0;
        const unsigned long v = std::stoul(value, &used, 0);
        if (used != value.size() || v > max || value.front() == '-')
            throw std::invalid_argument(value);
        return v;
    } catch (const std::exception&) {
        usage_error(flag + " needs a number up to " + std::to_string(max) + ", got '" + value +
                    "'");
    }
}

CliOptions parse_cli(int argc, char** argv) {
    CliOptions cli;
    const std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> inline_value;
        if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag.resize(eq);
        }
        const auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= args.size()) usage_error(flag + " needs a value");
            return args[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::cout << kUsage << command_help();
            std::exit(0);
        } else if (flag == "--port") {
            cli.server.port = static_cast<std::uint16_t>(parse_unsigned(flag, value(), 65535));
        } else if (flag == "--serial") {
            cli.server.serial = true;
        } else if (flag == "--record") {
            cli.record = value();
        } else if (flag == "--nodes") {
            cli.nodes = static_cast<int>(parse_unsigned(flag, value(), 10000));
        } else if (flag == "--node-file") {
            cli.node_file = value();
        } else if (flag == "--my-node") {
            const std::string v = value();
            const auto num = meshbot::radio::parse_node_number(v);
            if (!num || *num == 0 || *num == kBroadcast) usage_error("bad --my-node '" + v + "'");
            cli.firmware.my_node = *num;
        } else if (flag == "--hop-limit") {
            cli.firmware.hop_limit = static_cast<std::uint32_t>(parse_unsigned(flag, value(), 7));
        } else if (flag == "--idle-timeout") {
            cli.server.idle_timeout = parse_seconds(flag, value());
        } else if (flag == "--text-gap") {
            cli.firmware.text_gap = parse_seconds(flag, value());
        } else if (flag == "--ack-delay") {
            cli.firmware.ack_delay = parse_seconds(flag, value());
        } else if (flag == "--capacity") {
            cli.firmware.capacity = parse_unsigned(flag, value(), 1000000);
            if (cli.firmware.capacity < 2) usage_error("--capacity needs at least 2");
        } else if (flag == "--reply-delay") {
            cli.firmware.reply_delay = parse_seconds(flag, value());
        } else if (flag == "--reply-loss") {
            const std::string v = value();
            std::size_t used = 0;
            try {
                cli.firmware.reply_loss = std::stod(v, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            const double p = cli.firmware.reply_loss;
            if (used == 0 || used != v.size() || !(p >= 0 && p <= 1))
                usage_error("--reply-loss needs a probability 0..1, got '" + v + "'");
        } else if (flag == "--no-throttle") {
            cli.firmware.throttle = false;
        } else if (flag == "--script") {
            cli.script = value();
        } else if (flag == "--seed") {
            cli.firmware.seed = parse_unsigned(flag, value(), ~0UL);
        } else {
            usage_error("unknown option '" + args[i] + "'");
        }
    }
    return cli;
}

// Reads [[node]] tables; any mistake is fatal, since a test relying on the file would mislead.
void load_node_file(const std::string& path, FirmwareModel& model) {
    toml::table table;
    try {
        table = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        usage_error("--node-file " + path + ": " + std::string(e.description()));
    }
    const toml::array* nodes = table["node"].as_array();
    if (nodes == nullptr) usage_error("--node-file " + path + ": no [[node]] tables");
    int index = 0;
    for (const toml::node& entry : *nodes) {
        ++index;
        const std::string where = path + " node #" + std::to_string(index);
        const toml::table* t = entry.as_table();
        if (t == nullptr) usage_error(where + ": not a table");
        SimNode node;
        RemoteNode remote;
        const toml::node_view<const toml::node> num = (*t)["num"];
        if (auto n = num.value<std::int64_t>(); n && *n > 0 && *n < 0xFFFFFFFF) {
            node.num = static_cast<std::uint32_t>(*n);
        } else if (auto s = num.value<std::string>(); s && meshbot::radio::parse_node_number(*s)) {
            node.num = *meshbot::radio::parse_node_number(*s);
        } else {
            usage_error(where + ": num must be a node number");
        }
        const std::string fallback = meshbot::default_short_name(node.num);
        node.long_name = (*t)["long"].value_or("Meshtastic " + fallback);
        node.short_name = (*t)["short"].value_or(fallback);
        if (node.short_name.size() > 4) usage_error(where + ": short name longer than 4 bytes");
        remote = model.remote(node.num);  // defaults derived from the number
        const std::string key = (*t)["key"].value_or(std::string());
        if (key.empty()) {
            node.public_key = derive_key(node.num);
        } else if (key != "none") {
            auto raw = from_hex(key);
            if (!raw || raw->size() != 32) usage_error(where + ": key must be 64 hex digits");
            node.public_key = *raw;
        }
        // With key = "none" the radio lacks the key, but the node itself still has one.
        if (!node.public_key.empty()) remote.public_key = node.public_key;
        node.snr = (*t)["snr"].value_or(0.0f);
        node.hops = (*t)["hops"].value_or(0u);
        node.last_heard = model.started_at() - (*t)["last_heard_ago"].value_or(0.0);
        node.favorite = (*t)["favorite"].value_or(false);
        if (auto lat = (*t)["lat"].value<double>()) node.lat = remote.lat = lat;
        if (auto lon = (*t)["lon"].value<double>()) node.lon = remote.lon = lon;
        if (auto uptime = (*t)["uptime"].value<double>())
            remote.booted_at = model.started_at() - *uptime;
        if (auto chutil = (*t)["chutil"].value<double>())
            remote.channel_util = static_cast<float>(*chutil);
        if (auto airutil = (*t)["airutil"].value<double>())
            remote.air_util_tx = static_cast<float>(*airutil);
        if (auto battery = (*t)["battery"].value<std::uint32_t>()) {
            remote.battery = *battery;
            meshbot::pb::DeviceMetrics metrics;
            metrics.set_battery_level(*battery);
            metrics.set_voltage(3.3f + 0.009f * static_cast<float>(std::min(*battery, 100u)));
            node.metrics = metrics;
        }
        model.add_node(std::move(node), std::move(remote));
    }
}

// Parses and runs command lines; `wait` suspends the calling coroutine. io_context thread.
class CommandRunner {
public:
    CommandRunner(boost::asio::io_context& io, SimServer& server) : io_(io), server_(server) {}

    boost::asio::awaitable<void> run_line(std::string line, std::string origin) {
        ParseResult parsed = parse_command(line);
        if (!parsed.error.empty()) {
            std::fprintf(stderr, "meshbot-sim: %s: %s (line: %s)\n", origin.c_str(),
                         parsed.error.c_str(), line.c_str());
            co_return;
        }
        if (!parsed.command) co_return;
        if (const auto* wait = std::get_if<WaitCmd>(&*parsed.command)) {
            boost::asio::steady_timer timer(
                io_, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(wait->secs)));
            error_code ec;
            co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            co_return;
        }
        server_.execute(*parsed.command);
    }

    boost::asio::awaitable<void> run_script(std::vector<std::string> lines, std::string path) {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            co_await run_line(lines[i], path + ":" + std::to_string(i + 1));
        }
    }

    // EOF on stdin ends only this reader; the simulator keeps running.
    boost::asio::awaitable<void> run_stdin() {
        boost::asio::posix::stream_descriptor in(io_, ::dup(STDIN_FILENO));
        std::string buffer;
        for (;;) {
            error_code ec;
            const std::size_t n = co_await boost::asio::async_read_until(
                in, boost::asio::dynamic_buffer(buffer), '\n',
                boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            if (ec) {
                if (!buffer.empty()) co_await run_line(buffer, "stdin");
                co_return;
            }
            std::string line = buffer.substr(0, n - 1);  // without the '\n'
            buffer.erase(0, n);
            co_await run_line(std::move(line), "stdin");
        }
    }

private:
    boost::asio::io_context& io_;
    SimServer& server_;
};

}  // namespace

int main(int argc, char** argv) {
    const CliOptions cli = parse_cli(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);

    std::vector<std::string> script_lines;
    if (!cli.script.empty()) {
        std::ifstream in(cli.script);
        if (!in) usage_error("cannot read --script " + cli.script);
        for (std::string line; std::getline(in, line);)
            script_lines.push_back(line);
    }

    boost::asio::io_context io;
    Recorder recorder;
    if (!cli.record.empty()) {
        std::string error;
        if (!recorder.open(cli.record, error))
            usage_error("cannot write --record " + cli.record + ": " + error);
    }
    FirmwareModel model(cli.firmware);
    model.add_generated_nodes(cli.nodes);
    if (!cli.node_file.empty()) load_node_file(cli.node_file, model);
    model.set_capacity(cli.firmware.capacity);  // after the population, which may exceed it

    SimServer server(io, model, recorder, cli.server);
    std::string address;
    try {
        address = server.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "meshbot-sim: %s\n", e.what());
        return 1;
    }
    std::printf("listening on %s\n", address.c_str());
    std::printf("my node %s (%s), %zu other nodes, capacity %zu, firmware %s\n",
                meshbot::radio::node_id(model.my_node()).c_str(),
                model.settings().long_name.c_str(), model.nodes().size(), model.capacity(),
                std::string(kFirmwareVersion).c_str());
    std::fflush(stdout);

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&server](const error_code& ec, int) {
        if (!ec) server.shutdown();
    });
    CommandRunner runner(io, server);
    boost::asio::co_spawn(io, runner.run_stdin(), boost::asio::detached);
    if (!script_lines.empty()) {
        boost::asio::co_spawn(io, runner.run_script(std::move(script_lines), cli.script),
                              boost::asio::detached);
    }
    io.run();
    return 0;
}
