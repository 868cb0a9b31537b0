// `meshbot nodes`, `meshbot keys` and `meshbot keys accept` as an operator runs them, next to a
// running daemon (over its control socket) and without one; and the control socket itself.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <sstream>

#include "nodes/node_record.hpp"
#include "nodes/store_files.hpp"
#include "radio/node_id.hpp"
#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::nodes::FileHandle;
using meshbot::testing::bin_path;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kNewKeyHex = [] {
    std::string hex;
    for (int i = 0; i < 32; ++i)
        hex += "ab";
    return hex;
}();

std::string new_key_base64() {
    meshbot::nodes::PublicKey key;
    key.fill(0xab);
    return meshbot::nodes::key_base64(key);
}

struct CliResult {
    int code = -1;
    std::string output;  // stdout and stderr, merged
};

// Runs `meshbot <words...> --config <config>` to its end.
CliResult cli(const fs::path& config, std::vector<std::string> words) {
    std::vector<std::string> argv{bin_path("meshbot").string()};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.push_back("--config");
    argv.push_back(config.string());
    ChildProcess process(argv);
    const auto code = process.wait_exit(15s);
    REQUIRE(code);
    // The reader thread may still be draining the pipe: this returns at its end of file.
    process.wait_for_line("\x01never printed", 5s);
    return CliResult{*code, process.output()};
}

// The JSON document in a CLI's output (anything printed to stderr before it is skipped).
Record json_of(const CliResult& result) {
    const auto start = result.output.find('{');
    REQUIRE(start != std::string::npos);
    std::istringstream in(result.output.substr(start));
    Record tree;
    REQUIRE_NOTHROW(boost::property_tree::read_json(in, tree));
    return tree;
}

// The entry for node `id` in the "nodes" array of a `nodes --json` or `keys --json` document.
std::optional<Record> node_in(const Record& doc, const std::string& id) {
    for (const auto& [ignored, node] : doc.get_child("nodes")) {
        if (node.get<std::string>("id") == id) return node;
    }
    return std::nullopt;
}

// The output line that mentions `needle`, or "".
std::string line_with(const std::string& output, const std::string& needle) {
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.find(needle) != std::string::npos) return line;
    }
    return {};
}

fs::path config_path(const RunningBot& bot) {
    return bot.dir.path() / "meshbot.toml";
}

void stop(ChildProcess& process) {
    process.send_signal(SIGTERM);
    REQUIRE(process.wait_exit(15s) == 0);
}

// A raw client of the control socket: connects (FileHandle is invalid when it cannot).
FileHandle connect_control(const fs::path& path) {
    FileHandle fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return FileHandle();
    return fd;
}

void send_bytes(const FileHandle& fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return;  // the daemon may close early (a request too long)
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

// What the daemon sends until it closes the connection (or the deadline passes).
std::string receive_all(const FileHandle& fd, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string out;
    char chunk[512];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return out;
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
        if (n <= 0) return out;  // closed (a reset after an answer to a long line, too)
        out.append(chunk, static_cast<std::size_t>(n));
    }
}

// One exchange on the control socket: the bytes sent, everything received.
std::string talk(const fs::path& socket, std::string_view bytes) {
    const auto fd = connect_control(socket);
    REQUIRE(fd);
    send_bytes(fd, bytes);
    return receive_all(fd, 10s);
}

const std::string kNoPlugins = "dirs = []";

}  // namespace

TEST_CASE("meshbot nodes and keys list what the bot learned, while it runs and after it stopped",
          "[keys_cli]") {
    SimProcess sim({.nodes = 3});
    RunningBot bot(config_for(sim, kNoPlugins));
    REQUIRE(bot.process->wait_for_line("pinned the first key of", 10s));
    const auto config = config_path(bot);
    const std::string self = meshbot::radio::node_id(sim.my_node());

    for (const bool running : {true, false}) {
        INFO("daemon running: " << running);
        const auto nodes = cli(config, {"nodes"});
        REQUIRE(nodes.code == 0);
        const auto n2 = line_with(nodes.output, "!10000002");
        CHECK_THAT(n2, Catch::Contains("N002") && Catch::Contains("Node 0002") &&
                           Catch::Contains("pinned"));
        const auto nodes_json = json_of(cli(config, {"nodes", "--json"}));
        if (!running) {
            // Which node is the bot's own reaches the files with the snapshot (debounced, and
            // at the latest on shutdown); the keys are journaled at once.
            CHECK_THAT(nodes.output, Catch::Contains("this bot is " + self));
            CHECK(nodes_json.get<std::string>("self") == self);
        }
        for (const std::string id : {"!10000001", "!10000002", "!10000003"}) {
            const auto node = node_in(nodes_json, id);
            REQUIRE(node);
            CHECK(node->get<std::string>("key_state") == "pinned");
            CHECK(node->get<std::string>("short_name") == "N00" + id.substr(8));
        }

        const auto keys = cli(config, {"keys"});
        REQUIRE(keys.code == 0);
        CHECK_THAT(keys.output, Catch::Contains("key generation ") && Catch::Contains("0 CHANGED"));
        CHECK_THAT(line_with(keys.output, "!10000001"), Catch::Contains("pinned"));

        const auto keys_json = json_of(cli(config, {"keys", "--json"}));
        CHECK(keys_json.get<unsigned>("key_generation") >= 3);
        CHECK(keys_json.get<std::string>("key_digest").size() == 16);
        CHECK(keys_json.get<unsigned>("changed") == 0);
        for (const std::string id : {"!10000001", "!10000002", "!10000003"}) {
            const auto node = node_in(keys_json, id);
            REQUIRE(node);
            CHECK(node->get<std::string>("key_state") == "pinned");
            const auto pinned = node->get<std::string>("pinned_key");
            CHECK(pinned.size() == 44);
            CHECK_THAT(line_with(keys.output, id), Catch::Contains(pinned));
            CHECK(node->get<unsigned>("history_count") == 0);
        }
        if (running) {
            stop(*bot.process);
            CHECK_FALSE(fs::exists(bot.data_dir() / "control.sock"));
        }
    }
}

TEST_CASE("a changed key shows as CHANGED and keys accept makes the running daemon trust it",
          "[keys_cli]") {
    SimProcess sim({.nodes = 3});
    RunningBot bot(config_for(sim, kNoPlugins));
    REQUIRE(bot.process->wait_for_line("pinned the first key of", 10s));
    const auto config = config_path(bot);

    sim.command("nodeinfo from=!10000002 key=" + kNewKeyHex);
    REQUIRE(bot.process->wait_for_line("key CHANGED for !10000002", 10s));

    const auto keys = cli(config, {"keys"});
    CHECK_THAT(line_with(keys.output, "!10000002"), Catch::Contains("CHANGED"));
    CHECK_THAT(line_with(keys.output, "presents"), Catch::Contains(new_key_base64()));
    CHECK_THAT(keys.output, Catch::Contains("1 CHANGED"));
    const auto before = json_of(cli(config, {"keys", "--json"}));
    const auto changed = node_in(before, "!10000002");
    REQUIRE(changed);
    CHECK(changed->get<std::string>("key_state") == "CHANGED");
    CHECK(changed->get<std::string>("presented_key") == new_key_base64());
    const auto listed = node_in(json_of(cli(config, {"nodes", "--json"})), "!10000002");
    REQUIRE(listed);
    CHECK(listed->get<std::string>("key_state") == "CHANGED");

    const auto accepted = cli(config, {"keys", "accept", "!10000002"});
    CHECK(accepted.code == 0);
    CHECK_THAT(accepted.output,
               Catch::StartsWith("ok: !10000002: accepted key " + new_key_base64()));
    // The daemon made the change (over its control socket), and said so.
    CHECK(bot.process->wait_for_line("key for !10000002 (N002) accepted by the operator", 5s));
    CHECK(bot.process->wait_for_line("control socket: 'keys accept !10000002' -> ok:", 5s));

    const auto after = json_of(cli(config, {"keys", "--json"}));
    const auto pinned = node_in(after, "!10000002");
    REQUIRE(pinned);
    CHECK(pinned->get<std::string>("key_state") == "pinned");
    CHECK(pinned->get<std::string>("pinned_key") == new_key_base64());
    CHECK(pinned->get<unsigned>("history_count") == 1);
    CHECK(after.get<unsigned>("key_generation") > before.get<unsigned>("key_generation"));
    CHECK(after.get<std::string>("key_digest") != before.get<std::string>("key_digest"));

    const auto again = cli(config, {"keys", "accept", "N002"});
    CHECK(again.code == 1);
    CHECK_THAT(again.output, Catch::Contains("error: !10000002: no changed key to accept"));
    const auto unknown = cli(config, {"keys", "accept", "nobody"});
    CHECK(unknown.code == 1);
    CHECK_THAT(unknown.output, Catch::Contains("error: no node matches 'nobody'"));
    CHECK(bot.process->running());
}

TEST_CASE("without a daemon keys accept changes the store itself, and a restarted daemon keeps it",
          "[keys_cli]") {
    SimProcess sim({.nodes = 3});
    TempDir data;
    const auto config = data.write(
        "meshbot.toml", config_for(sim, kNoPlugins, {},
                                   "[bot]\ndata_dir = " + quoted(data.path() / "store") + "\n"));
    {
        ChildProcess daemon({bin_path("meshbot").string(), "--config", config.string()});
        REQUIRE(daemon.wait_for_line("pinned the first key of", 10s));
        sim.command("nodeinfo from=!10000002 key=" + kNewKeyHex);
        REQUIRE(daemon.wait_for_line("key CHANGED for !10000002", 10s));
        stop(daemon);
    }
    CHECK_THAT(line_with(cli(config, {"keys"}).output, "!10000002"), Catch::Contains("CHANGED"));

    const auto accepted = cli(config, {"keys", "accept", "Node", "0002"});  // the long name
    CHECK(accepted.code == 0);
    CHECK_THAT(accepted.output,
               Catch::StartsWith("ok: !10000002: accepted key " + new_key_base64()) &&
                   Catch::Contains("no daemon running"));
    CHECK(cli(config, {"keys", "accept", "!10000002"}).code == 1);  // nothing left to accept

    // The radio still lists the old key (first key wins in its NodeDB): the restarted daemon
    // must keep the accepted one, not report a change back to the old key.
    ChildProcess daemon({bin_path("meshbot").string(), "--config", config.string()});
    REQUIRE(daemon.wait_for_line("ready: node", 10s));
    const auto running = json_of(cli(config, {"keys", "--json"}));
    const auto node = node_in(running, "!10000002");
    REQUIRE(node);
    CHECK(node->get<std::string>("key_state") == "pinned");
    CHECK(node->get<std::string>("pinned_key") == new_key_base64());
    // The daemon's own view, through its control socket: nothing to accept.
    const auto asked = cli(config, {"keys", "accept", "!10000002"});
    CHECK(asked.code == 1);
    CHECK_THAT(asked.output, Catch::Contains("no changed key to accept (key pinned)"));
    CHECK(daemon.wait_for_line("control socket: 'keys accept !10000002' -> error:", 5s));
    CHECK_FALSE(daemon.wait_for_line("key CHANGED", 0ms));
    stop(daemon);
}

TEST_CASE("the control socket is owner-only and survives garbage, long lines, floods and silence",
          "[keys_cli]") {
    SimProcess sim;
    TempDir data;
    const fs::path store = data.path() / "store";
    const fs::path socket = store / "control.sock";
    {
        // A socket file left behind by a daemon that was killed: nobody answers on it.
        fs::create_directories(store);
        FileHandle stale(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) ==
                0);
    }
    REQUIRE(fs::is_socket(socket));
    RunningBot bot(config_for(sim, kNoPlugins, {}, "[bot]\ndata_dir = " + quoted(store) + "\n"));
    REQUIRE(bot.process->wait_for_line("control socket: listening on", 5s));

    struct stat st {};
    REQUIRE(::lstat(socket.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);

    // A client that says nothing: answered with an error after 5 s, meanwhile others are served.
    const auto silent = connect_control(socket);
    REQUIRE(silent);
    const auto silent_since = std::chrono::steady_clock::now();

    CHECK(talk(socket, "ping\n") == "ok: pong\n");
    CHECK(talk(socket, "hello\n") == "error: unknown request\n");
    CHECK(talk(socket, "keys  accept \n") == "error: usage: keys accept <node>\n");
    CHECK(talk(socket, std::string("\x01\xff\x1b[2J\n", 7)) ==
          "error: bad request (control characters)\n");
    CHECK(talk(socket, "keys accept \xff\xfe\n") == "error: bad request (not UTF-8)\n");
    CHECK_THAT(talk(socket, std::string(257, 'x') + "\n"),
               Catch::StartsWith("error: request too long"));
    CHECK_THAT(talk(socket, std::string(100000, 'y')),
               Catch::StartsWith("error: request too long"));
    CHECK(talk(socket, "keys accept " + std::string(244, 'z') + "\n") ==
          "error: no node matches '" + std::string(244, 'z') + "'\n");  // 256 bytes: allowed
    // A request without its newline, the client done writing: answered all the same.
    {
        const auto fd = connect_control(socket);
        REQUIRE(fd);
        send_bytes(fd, "ping");
        ::shutdown(fd.get(), SHUT_WR);
        CHECK(receive_all(fd, 10s) == "ok: pong\n");
    }
    // A client that hangs up at once.
    { const auto gone = connect_control(socket); }

    // A flood: sixteen silent clients fill the daemon's slots (one is the silent client above),
    // the next ones are turned away at once.
    std::vector<FileHandle> flood;
    for (int i = 0; i < 15; ++i) {
        flood.push_back(connect_control(socket));
        REQUIRE(flood.back());
    }
    CHECK(bot.process->running());
    CHECK(talk(socket, "ping\n") == "error: busy\n");
    flood.clear();  // hanging up frees the slots

    CHECK_THAT(receive_all(silent, 10s), Catch::StartsWith("error: timeout"));
    CHECK(std::chrono::steady_clock::now() - silent_since >= 4500ms);

    // Still serving, and still on the radio.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    std::string answer;
    while (answer != "ok: pong\n" && std::chrono::steady_clock::now() < deadline)
        answer = talk(socket, "ping\n");  // the flood's slots free as the daemon sees EOF
    CHECK(answer == "ok: pong\n");
    CHECK(bot.process->wait_for_line("refused request", 0ms));
    CHECK_FALSE(bot.process->wait_for_line("link lost", 0ms));
    stop(*bot.process);
    CHECK_FALSE(fs::exists(socket));
}

TEST_CASE("store commands check their words, and work on a store that does not exist yet",
          "[keys_cli]") {
    TempDir dir;
    const auto config =
        dir.write("meshbot.toml", "[bot]\ndata_dir = " + quoted(dir.path() / "none") + "\n");
    CHECK(cli(config, {"nodes", "extra"}).code == 2);
    CHECK(cli(config, {"keys", "frob"}).code == 2);
    CHECK(cli(config, {"keys", "accept"}).code == 2);
    CHECK(cli(config, {"keys", "accept", "!10000002", "--json"}).code == 2);
    CHECK(cli(config, {"plugins", "--json"}).code == 2);

    const auto nodes = cli(config, {"nodes"});
    CHECK(nodes.code == 0);
    CHECK_THAT(nodes.output, Catch::Contains("0 nodes in"));
    const auto keys = json_of(cli(config, {"keys", "--json"}));
    CHECK(keys.get<unsigned>("key_generation") == 0);
    CHECK(keys.get_child("nodes").empty());
    CHECK(cli(config, {"keys", "accept", "!10000002"}).code == 1);
    // Reading never creates anything.
    CHECK_FALSE(fs::exists(dir.path() / "none"));
}

TEST_CASE("store commands name a data_dir that is a file, and fail", "[keys_cli]") {
    TempDir dir;
    const auto file = dir.write("not-a-dir", "x");
    const auto config = dir.write("meshbot.toml", "[bot]\ndata_dir = " + quoted(file) + "\n");
    for (const auto& words :
         {std::vector<std::string>{"keys"}, {"nodes", "--json"}, {"keys", "accept", "!10000002"}}) {
        INFO(words[0]);
        const auto result = cli(config, words);
        CHECK(result.code == 1);
        CHECK_THAT(result.output,
                   Catch::Contains(file.string()) && Catch::Contains("not a directory"));
        CHECK_THAT(result.output, !Catch::Contains("0 nodes"));
    }
}
