// The plugin sandbox against the attack plugins of tests/hostile_plugins/sandbox: one plugin
// per way out of a runner (dlsym, raw system calls, inline assembly, libc's own rexec, a helper
// library, libcurl, TCP Fast Open, UDP, another program, io_uring, a load-time thread, a hidden
// import table, other spellings of this machine, the serial device, the bot's files and control
// socket, fork and memory bombs). Each attack is first shown to work with [plugins] sandbox =
// false where that is safe, so that its test can fail; then, sandboxed, it must reach nothing
// while the bot, its one radio connection and echo go on, and the bot must report every layer
// this kernel offers (support/sandbox_probe.hpp) as applied. Last, the netclient test plugin,
// granted the network, shows the host's connect broker: allowed ports yes, the radio never.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "support/bot_process.hpp"
#include "support/sandbox_probe.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::build_dir;
using meshbot::testing::check_bot_traffic;
using meshbot::testing::ChildProcess;
using meshbot::testing::echo_answers;
using meshbot::testing::lan_ipv4;
using meshbot::testing::offered_layers;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
using meshbot::testing::texts_to;

namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kNode2 = 0x10000002;
const std::vector<std::string> kLayerOrder = {"nnp",     "userns",   "netns",   "ipcns",
                                              "seccomp", "landlock", "rlimits", "broker"};

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

// A TCP listener on <address>:0. Its thread accepts and counts connections and holds each open
// until the listener goes: a client that waits for an answer (rexec does) gets neither an
// answer nor an end of file.
class TcpListener {
public:
    explicit TcpListener(const char* address = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        REQUIRE(::inet_pton(AF_INET, address, &a.sin_addr) == 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t length = sizeof a;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~TcpListener() {
        stop_ = true;
        thread_.join();
        for (const int fd : held_)
            ::close(fd);
        ::close(fd_);
    }
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    std::uint16_t port() const { return port_; }
    std::string port_text() const { return std::to_string(port_); }
    std::size_t accepted() const { return accepted_; }
    bool wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (accepted_ < n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        return accepted_ >= n;
    }

private:
    void run() {
        while (!stop_) {
            pollfd ready{fd_, POLLIN, 0};
            if (::poll(&ready, 1, 20) != 1) continue;
            const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            held_.push_back(client);  // this thread's only, until the destructor joined it
            ++accepted_;
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> accepted_{0};
    std::vector<int> held_;
    std::thread thread_;
};

// A datagram socket: UDP bound on 127.0.0.1:0, or unix bound at a path. received() counts the
// datagrams that arrived, never waiting.
class DatagramSink {
public:
    DatagramSink() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t length = sizeof a;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0);
        port_ = ntohs(a.sin_port);
    }
    explicit DatagramSink(const fs::path& path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        REQUIRE(path.string().size() < sizeof a.sun_path);
        std::strcpy(a.sun_path, path.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~DatagramSink() { ::close(fd_); }
    DatagramSink(const DatagramSink&) = delete;
    DatagramSink& operator=(const DatagramSink&) = delete;

    std::uint16_t port() const { return port_; }
    std::size_t received() {
        char buffer[512];
        while (::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0)
            ++received_;
        return received_;
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::size_t received_ = 0;
};

// SIGUSR2s this test process received: attack_signal_owner aims at it.
std::atomic<int> g_sigusr2{0};

int sigusr2_count() {
    static const bool installed = [] {
        struct sigaction action {};
        action.sa_handler = [](int) { g_sigusr2.fetch_add(1); };
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        return ::sigaction(SIGUSR2, &action, nullptr) == 0;
    }();
    return installed ? g_sigusr2.load() : -1;
}

// A System V shared memory segment (mode 0600) holding a secret, for attack_sysv_ipc to look
// for by its key; removed with the object.
class IpcSecret {
public:
    IpcSecret() : key_(0x6d620000 | (::getpid() & 0xffff)) {
        id_ = ::shmget(key_, 4096, IPC_CREAT | IPC_EXCL | 0600);
        REQUIRE(id_ >= 0);
        void* memory = ::shmat(id_, nullptr, 0);
        REQUIRE(memory != reinterpret_cast<void*>(-1));
        std::memcpy(memory, "meshbot-secret", 14);
        ::shmdt(memory);
    }
    ~IpcSecret() { ::shmctl(id_, IPC_RMID, nullptr); }
    IpcSecret(const IpcSecret&) = delete;
    IpcSecret& operator=(const IpcSecret&) = delete;
    int key() const { return key_; }

private:
    int key_;
    int id_ = -1;
};

// One bot's files, named before it starts so that they can be handed to an attack plugin as
// targets. The node store is the snapshot of tests/fixtures/store-format-1 (written against the
// simulator), so there is a store to read from the first moment.
struct BotFiles {
    TempDir dir;
    fs::path data = dir.path() / "data";
    fs::path config = dir.path() / "meshbot.toml";
    fs::path store = data / "nodes.db";
    fs::path control = data / "control.sock";
    fs::path outside = dir.path() / "outside.txt";
    fs::path beside_store = data / "attack_write_outside.txt";  // attack_write_outside's name

    BotFiles() {
        fs::create_directories(data);
        fs::copy_file(fs::path(MESHBOT_SOURCE_DIR) / "tests/fixtures/store-format-1/nodes.db",
                      store);
    }
};

// The bot's config: the simulator (TCP, or its serial pty), the data folder of `files`, echo and
// the plugin `id` enabled; `keys` are more [plugins] keys, `tables` the plugins' own tables.
std::string bot_config(const SimProcess& sim, const BotFiles& files, const std::string& id,
                       const std::string& keys, const std::string& tables) {
    const std::string radio =
        sim.serial_path().empty()
            ? "host = \"127.0.0.1\"\nport = " + std::to_string(sim.port()) + "\n"
            : "transport = \"serial\"\ndevice = " + quoted(fs::path(sim.serial_path())) + "\n";
    return "[radio]\n" + radio +
           "replay_tail = 0\n\n[commands]\nchannels = [0]\nadmins = [\"!10000001\"]\n"
           "rate_limit = 1000\n\n[log]\nlevel = \"debug\"\n\n[bot]\ndata_dir = " +
           quoted(files.data) + "\n\n[plugins]\ndirs = [" + quoted(build_dir() / "plugins") + ", " +
           quoted(build_dir() / "tests/hostile_plugins") + ", " +
           quoted(build_dir() / "tests/test_plugins") + "]\nenabled = [\"echo\", \"" + id +
           "\"]\nmax_faults = 1\n" + keys + "\n" + tables;
}

// Fails the test with the process's whole output when `needle` does not come in time.
void require_line(ChildProcess& process, const std::string& needle,
                  std::chrono::milliseconds timeout) {
    if (process.wait_for_line(needle, timeout)) return;
    FAIL("no line containing \"" << needle << "\" within " << timeout.count() << " ms:\n"
                                 << process.output());
}

// Writes the config and starts the bot on it, ready on the simulator.
std::unique_ptr<ChildProcess> start_bot(const BotFiles& files, const std::string& config) {
    std::ofstream(files.config) << config;
    auto bot = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin_path("meshbot").string(), "--config", files.config.string()});
    require_line(*bot, "ready: node", 15s);
    return bot;
}

// `meshbot plugins`' row for plugin `id` (from the running bot, else checked by the CLI).
std::string plugin_row(const BotFiles& files, const std::string& id) {
    ChildProcess cli({bin_path("meshbot").string(), "plugins", "--config", files.config.string()});
    cli.wait_exit(15s);
    std::istringstream in(cli.output());
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(id + " ", 0) == 0) return line;
    }
    return "(no row for " + id + " in:\n" + cli.output() + ")";
}

// The layers of the bot's "plugin <id>: sandbox: ..." line (not of its "not applied" warnings).
std::vector<std::string> logged_layers(ChildProcess& bot, const std::string& id) {
    const std::string needle = "plugin " + id + ": sandbox: ";
    require_line(bot, needle, 5s);
    for (const auto& line : bot.lines()) {
        const auto at = line.find(needle);
        if (at == std::string::npos || line.find(" not applied: ") != std::string::npos) continue;
        std::istringstream words(line.substr(at + needle.size()));
        std::vector<std::string> layers;
        for (std::string w; words >> w;)
            layers.push_back(w);
        return layers;
    }
    FAIL("only \"not applied\" lines for " << id << ":\n" << bot.output());
    return {};
}

// Every layer this kernel offers was applied, "broker" last exactly when the network was
// granted, all in the documented order.
void check_layers(const std::vector<std::string>& applied, bool broker) {
    INFO("applied: " << join(applied) << "; this kernel offers: " << join(offered_layers()));
    for (const auto& layer : offered_layers()) {
        INFO("layer " << layer);
        CHECK(contains(applied, layer));
    }
    CHECK(contains(applied, "broker") == broker);
    if (broker) CHECK((!applied.empty() && applied.back() == "broker"));
    auto rank = [](const std::string& layer) {
        return std::find(kLayerOrder.begin(), kLayerOrder.end(), layer) - kLayerOrder.begin();
    };
    CHECK(std::is_sorted(applied.begin(), applied.end(),
                         [&](const auto& a, const auto& b) { return rank(a) < rank(b); }));
}

// Sends a DM command from !10000002 and returns the bot's next text to it.
std::string ask(SimProcess& sim, const std::string& text) {
    const auto before = texts_to(sim, kNode2).size();
    sim.command("text from=!10000002 to=!0badc0de " + text);
    const bool arrived =
        sim.wait_for([&](const Record&) { return texts_to(sim, kNode2).size() > before; }, 10s)
            .has_value();
    return arrived ? texts_to(sim, kNode2).at(before).get<std::string>("text", "") : "(nothing)";
}

// ---------------------------------------------------------------------------- attack plugins

// One attack plugin and what it is shown to reach without the sandbox.
struct Technique {
    std::string name = {};                      // the plugin attack_<name>
    std::vector<std::string> unsandboxed = {};  // reached with sandbox = false ({}: not run so)
    bool serial = false;                        // the simulator on a serial pty instead of TCP
    const char* listen_on = "127.0.0.1";        // the test listener's address
    std::string plugin_keys = {};               // more [plugins] keys
    bool finishes = true;                       // says "attack: done" (the memory bomb does not)
};

// One run of one attack plugin: the simulator, the test's listener and datagram sockets, a bot
// that loads echo and the plugin, with every target in the plugin's table.
struct AttackRun {
    std::string id;
    SimProcess sim;
    TcpListener listener;
    DatagramSink udp;
    BotFiles files;
    DatagramSink unix_sink{files.dir.path() / "sink.sock"};
    IpcSecret ipc;
    int signals_before = sigusr2_count();
    std::unique_ptr<ChildProcess> bot;

    AttackRun(const Technique& t, bool sandbox)
        : id("attack_" + t.name),
          sim(SimProcess::Options{.serial = t.serial}),
          listener(t.listen_on) {
        std::string table = "[plugins." + id + "]\n";
        table += t.serial ? "serial_path = " + quoted(fs::path(sim.serial_path())) + "\n"
                          : "radio_port = " + std::to_string(sim.port()) + "\n";
        table += "listener_port = " + listener.port_text() +
                 "\nudp_port = " + std::to_string(udp.port()) +
                 "\nunix_path = " + quoted(files.dir.path() / "sink.sock") +
                 "\nsignal_pid = " + std::to_string(::getpid()) +
                 "\nipc_key = " + std::to_string(ipc.key()) + "\n";
        if (const auto lan = lan_ipv4(); !lan.empty()) table += "lan_address = \"" + lan + "\"\n";
        table += "store_path = " + quoted(files.store) +
                 "\ncontrol_socket = " + quoted(files.control) +
                 "\nconfig_path = " + quoted(files.config) +
                 "\noutside_path = " + quoted(files.outside) + "\n";
        const std::string keys = (sandbox ? "" : "sandbox = false\n") + t.plugin_keys;
        bot = start_bot(files, bot_config(sim, files, id, keys, table));
        // create() runs the attack, and the bot is ready only once its plugins have started.
        if (t.finishes) require_line(*bot, "[" + id + "] attack: done", 5s);
    }

    // target -> "reached", "blocked (...)" or "ok", from the plugin's "attack <target>: ..." lines.
    std::map<std::string, std::string> results() const {
        const std::regex pattern("\\[" + id + "\\] attack ([a-z0-9_]+): (.*)$");
        std::map<std::string, std::string> out;
        for (const auto& line : bot->lines()) {
            std::smatch m;
            if (std::regex_search(line, m, pattern)) out[m[1]] = m[2];
        }
        return out;
    }
};

std::string result_of(const std::map<std::string, std::string>& results, const std::string& t) {
    const auto it = results.find(t);
    return it == results.end() ? "(not tried)" : it->second;
}

// sandbox = false: the attack reaches every target it is expected to, seen from the far end too.
void check_works(AttackRun& run, const Technique& t) {
    INFO(run.bot->output());
    require_line(*run.bot, "plugin " + run.id + ": sandbox: off", 5s);
    const auto results = run.results();
    bool radio = false, listener = false;
    for (const auto& target : t.unsandboxed) {
        INFO("attack " << target);
        CHECK(result_of(results, target) == "reached");
        radio = radio || target.rfind("radio", 0) == 0;
        listener = listener || target == "listener" || target == "lan_listener";
    }
    if (radio) CHECK(run.sim.count("accept") >= 2);  // the plugin's connection, then the bot's
    if (listener) CHECK(run.listener.wait_accepted(1, 2s));
    if (contains(t.unsandboxed, "udp")) {
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (run.udp.received() == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        CHECK(run.udp.received() >= 1);
    }
    if (contains(t.unsandboxed, "unix")) CHECK(run.unix_sink.received() >= 1);
    if (contains(t.unsandboxed, "owner")) {
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (sigusr2_count() == run.signals_before && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
        CHECK(sigusr2_count() > run.signals_before);
    }
    if (contains(t.unsandboxed, "outside")) CHECK(fs::exists(run.files.outside));
    if (contains(t.unsandboxed, "data_dir")) CHECK(fs::exists(run.files.beside_store));
}

// Sandboxed: every layer applied, no target reached (seen from both ends), the private folder
// writable, and the bot with its one radio connection and echo unharmed.
void check_contained(AttackRun& run, const Technique& t) {
    INFO(run.bot->output());
    const auto layers = logged_layers(*run.bot, run.id);
    check_layers(layers, false);
    const auto results = run.results();
    for (const auto& [target, result] : results) {
        INFO("attack " << target << ": " << result);
        CHECK(result != "reached");
    }
    CHECK(result_of(results, "home") == "ok");
    for (const auto& target : t.unsandboxed) {  // each was tried, not skipped
        INFO("attack " << target);
        CHECK(results.count(target) == 1);
    }
    CHECK(echo_answers(run.sim, "contained"));
    if (t.finishes)
        CHECK_THAT(plugin_row(run.files, run.id), Catch::Contains("sandbox: " + join(layers)));
    CHECK(run.listener.accepted() == 0);
    CHECK(run.udp.received() == 0);
    CHECK(run.unix_sink.received() == 0);
    CHECK(sigusr2_count() == run.signals_before);
    if (!t.serial) CHECK(run.sim.count("accept") == 1);
    CHECK_FALSE(fs::exists(run.files.outside));
    CHECK_FALSE(fs::exists(run.files.beside_store));
    CHECK(run.bot->running());
    check_bot_traffic(run.sim);
}

void attack_test(const Technique& t) {
    if (!t.unsandboxed.empty()) {
        SECTION("with sandbox = false the attack works") {
            AttackRun run(t, false);
            check_works(run, t);
        }
    }
    SECTION("in the sandbox it reaches nothing; the bot, its radio link and echo go on") {
        AttackRun run(t, true);
        check_contained(run, t);
    }
}

}  // namespace

#define SANDBOX_TAGS "[plugins][isolation][sandbox]"

TEST_CASE("sandbox: socket calls found by dlsym(RTLD_NEXT)", SANDBOX_TAGS) {
    attack_test({.name = "dlsym_next", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: socket and connect as raw syscall()", SANDBOX_TAGS) {
    attack_test({.name = "raw_syscall", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: socket and connect by the syscall instruction", SANDBOX_TAGS) {
    attack_test({.name = "inline_asm", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: glibc's rexec_af connecting inside libc", SANDBOX_TAGS) {
    attack_test({.name = "rexec", .unsandboxed = {"radio", "listener"}});
}

// Without the sandbox the helper's connect() is an ordinary import: the radio's port may be
// refused by a connect() guard, a local listener is not.
TEST_CASE("sandbox: a helper library the plugin links connects for it", SANDBOX_TAGS) {
    attack_test({.name = "needed_helper", .unsandboxed = {"listener"}});
}

TEST_CASE("sandbox: libcurl opened with dlopen connects for it", SANDBOX_TAGS) {
    attack_test({.name = "dlopen_curl", .unsandboxed = {"listener"}});
}

TEST_CASE("sandbox: TCP Fast Open connects in sendto without connect", SANDBOX_TAGS) {
    attack_test({.name = "fastopen", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: a UDP datagram by sendto", SANDBOX_TAGS) {
    attack_test({.name = "udp_sendto", .unsandboxed = {"udp"}});
}

TEST_CASE("sandbox: unix datagrams to a socket file by name, from a socket and a socketpair",
          SANDBOX_TAGS) {
    attack_test({.name = "unix_datagram", .unsandboxed = {"unix", "unix_pair"}});
}

TEST_CASE("sandbox: the kernel made to signal the bot's side (F_SETOWN, O_ASYNC) or kill()",
          SANDBOX_TAGS) {
    attack_test({.name = "signal_owner", .unsandboxed = {"owner", "kill"}});
}

TEST_CASE("sandbox: another program's System V shared memory, by its key", SANDBOX_TAGS) {
    attack_test({.name = "sysv_ipc", .unsandboxed = {"ipc"}});
}

TEST_CASE("sandbox: memory held in a memfd, past the address-space limit", SANDBOX_TAGS) {
    attack_test(
        {.name = "memfd", .unsandboxed = {"memfd"}, .plugin_keys = "memory_limit_mb = 64\n"});
}

TEST_CASE("sandbox: system() runs bash, whose /dev/tcp connects", SANDBOX_TAGS) {
    attack_test({.name = "system", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: fork and execv of bash, whose /dev/tcp connects", SANDBOX_TAGS) {
    attack_test({.name = "fork_exec", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: io_uring makes the socket and the connection", SANDBOX_TAGS) {
    attack_test({.name = "io_uring", .unsandboxed = {"radio", "listener"}});
}

TEST_CASE("sandbox: a thread started by a static constructor at load time", SANDBOX_TAGS) {
    attack_test({.name = "ctor_thread", .unsandboxed = {"radio", "listener"}});
}

// That it loads at all (with sandbox = false too) shows the audit did not see its imports.
TEST_CASE("sandbox: socket imports hidden from the audit after linking", SANDBOX_TAGS) {
    attack_test({.name = "hidden_dynsym", .unsandboxed = {"listener"}});
}

TEST_CASE("sandbox: 0.0.0.0, another spelling of this machine", SANDBOX_TAGS) {
    attack_test({.name = "unspecified", .unsandboxed = {"radio", "listener"}});
}

// The simulator listens on 127.0.0.1 only: [::1] and [::] are refused by the kernel even without
// the sandbox, the IPv4-mapped address gets through.
TEST_CASE("sandbox: the radio's port at [::1], [::] and [::ffff:127.0.0.1]", SANDBOX_TAGS) {
    attack_test({.name = "ipv6_loopback", .unsandboxed = {"radio_mapped"}});
}

// The simulator listens on 127.0.0.1 only, so "lan" (its port at the LAN address) is refused
// without the sandbox too; the listener, bound on every address, shows the way works.
TEST_CASE("sandbox: the machine's own LAN address", SANDBOX_TAGS) {
    if (lan_ipv4().empty()) {
        WARN("no non-loopback IPv4 address on this machine: nothing to test");
        return;
    }
    attack_test({.name = "lan_address", .unsandboxed = {"lan_listener"}, .listen_on = "0.0.0.0"});
}

TEST_CASE("sandbox: the radio's serial device", SANDBOX_TAGS) {
    attack_test({.name = "serial", .unsandboxed = {"serial", "serial_read"}, .serial = true});
}

TEST_CASE("sandbox: the bot's node store, config and environment", SANDBOX_TAGS) {
    attack_test({.name = "read_store", .unsandboxed = {"store", "config", "bot_environ"}});
}

TEST_CASE("sandbox: the bot's control socket", SANDBOX_TAGS) {
    attack_test({.name = "control_socket", .unsandboxed = {"control"}});
}

TEST_CASE("sandbox: files created outside the private folder", SANDBOX_TAGS) {
    attack_test({.name = "write_outside", .unsandboxed = {"outside", "data_dir"}});
}

TEST_CASE("sandbox: 64 forks and 512 threads", SANDBOX_TAGS) {
    attack_test({.name = "fork_bomb", .unsandboxed = {"fork", "threads"}});
}

// The memory limit predates the sandbox (it holds with sandbox = false too), so this is shown
// sandboxed only: the runner ends at the limit and the bot goes on.
TEST_CASE("sandbox: a memory bomb ends its own runner at the memory limit", SANDBOX_TAGS) {
    const Technique t{
        .name = "memory_bomb", .plugin_keys = "memory_limit_mb = 64\n", .finishes = false};
    AttackRun run(t, true);
    require_line(*run.bot, "[attack_memory_bomb] attack memory: start", 5s);
    require_line(*run.bot,
                 "plugin attack_memory_bomb: while starting: its runner ran out of memory "
                 "(limit 64 MiB)",
                 10s);
    check_contained(run, t);
}

// ---------------------------------------------------------------- netclient: granted network

namespace {

// A bot with echo and netclient; `grant` adds grant_network and allows `allowed`'s port.
struct NetclientBot {
    SimProcess sim;
    TcpListener allowed;
    TcpListener unlisted;
    BotFiles files;
    std::unique_ptr<ChildProcess> bot;

    std::string config(bool sandbox, bool grant) const {
        const std::string table = grant ? "[plugins.netclient]\ngrant_network = true\n"
                                          "allow_local_ports = [" +
                                              allowed.port_text() + "]\n"
                                        : "";
        return bot_config(sim, files, "netclient", sandbox ? "" : "sandbox = false\n", table);
    }
    void start(bool sandbox) { bot = start_bot(files, config(sandbox, true)); }
    std::string radio() const { return std::to_string(sim.port()); }
};

}  // namespace

TEST_CASE("sandbox: a plugin granted the network reaches the local ports it is allowed, no other",
          SANDBOX_TAGS) {
    NetclientBot n;
    SECTION("with sandbox = false an unlisted port and even the radio are reachable") {
        n.start(false);
        CHECK_THAT(ask(n.sim, "/connect 127.0.0.1 " + n.unlisted.port_text()),
                   Catch::StartsWith("connected 127.0.0.1:"));
        CHECK(n.unlisted.wait_accepted(1, 2s));
        // Last: this one knocks the bot off the radio for a moment (newest connection wins).
        CHECK_THAT(ask(n.sim, "/connect 127.0.0.1 " + n.radio()), Catch::StartsWith("connected"));
        CHECK(n.sim.count("accept") >= 2);
    }
    SECTION("in the sandbox, through the host's broker, blocking or not") {
        n.start(true);
        check_layers(logged_layers(*n.bot, "netclient"), true);
        CHECK(ask(n.sim, "/connect 127.0.0.1 " + n.allowed.port_text()) ==
              "connected 127.0.0.1:" + n.allowed.port_text());
        CHECK(n.allowed.wait_accepted(1, 2s));
        CHECK(ask(n.sim, "/connectnb 127.0.0.1 " + n.allowed.port_text()) ==
              "connected 127.0.0.1:" + n.allowed.port_text());
        CHECK(n.allowed.wait_accepted(2, 2s));
        // A name is looked up by the host (the plugin's namespace has no name server) and the
        // connection to what it became is decided like any other.
        CHECK(ask(n.sim, "/connect localhost " + n.allowed.port_text()) ==
              "connected 127.0.0.1:" + n.allowed.port_text());
        CHECK(n.bot->wait_for_line("plugin netclient: looked up localhost: ", 2s));
        CHECK(n.allowed.wait_accepted(3, 2s));
        CHECK(ask(n.sim, "/connect 127.0.0.1 " + n.unlisted.port_text()) ==
              "refused Permission denied");
        CHECK(ask(n.sim, "/connectnb 127.0.0.1 " + n.unlisted.port_text()) ==
              "refused Permission denied");
        CHECK(n.unlisted.accepted() == 0);
        // A plugin looping on a refused connection is refused each time, and logged within its
        // line budget (100 a second), not 1,000 times.
        CHECK(ask(n.sim, "/connectmany 127.0.0.1 " + n.unlisted.port_text() + " 1000") ==
              "1000 tried, 0 connected");
        const auto lines = n.bot->lines();
        const auto refusals = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
            return l.find("plugin netclient: refused a connection to") != std::string::npos;
        });
        CHECK(refusals < 400);
        CHECK(n.sim.count("accept") == 1);
        check_bot_traffic(n.sim);
    }
}

TEST_CASE("sandbox: a plugin granted the network cannot reach the radio by any spelling",
          SANDBOX_TAGS) {
    NetclientBot n;
    n.start(true);
    std::vector<std::string> hosts = {"127.0.0.1", "0.0.0.0",          "::1",
                                      "::",        "::ffff:127.0.0.1", "localhost"};
    if (const auto lan = lan_ipv4(); !lan.empty()) hosts.push_back(lan);
    for (const auto& host : hosts) {
        INFO("/connect " << host << " <radio port>");
        CHECK(ask(n.sim, "/connect " + host + " " + n.radio()) == "refused Permission denied");
    }
    CHECK(ask(n.sim, "/connectnb 127.0.0.1 " + n.radio()) == "refused Permission denied");
    CHECK(n.sim.count("accept") == 1);
    CHECK(echo_answers(n.sim, "undisturbed"));
    check_bot_traffic(n.sim);
}

TEST_CASE("sandbox: without grant_network the network plugin fails the import audit",
          SANDBOX_TAGS) {
    NetclientBot n;
    std::ofstream(n.files.config) << n.config(true, false);
    // No bot runs: the listing checks the plugins itself (the audit needs no runner).
    CHECK_THAT(plugin_row(n.files, "netclient"), Catch::Contains("failed_audit"));
}

// ------------------------------------------------------------------ runs_program: granted exec

TEST_CASE("sandbox: a plugin starts programs only when its exec permission is granted",
          SANDBOX_TAGS) {
    SimProcess sim;
    BotFiles files;
    SECTION("not granted: no new process") {
        auto bot = start_bot(files, bot_config(sim, files, "runs_program", "", ""));
        CHECK(ask(sim, "/run") == "refused Operation not permitted");
        check_layers(logged_layers(*bot, "runs_program"), false);
        CHECK(echo_answers(sim, "after"));
    }
    SECTION("granted: it runs, still inside the sandbox") {
        auto bot = start_bot(files, bot_config(sim, files, "runs_program", "",
                                               "[plugins.runs_program]\ngrant_exec = true\n"));
        CHECK(ask(sim, "/run") == "exit 7");
        // What it starts stays in its process group, which ends with its runner.
        CHECK(ask(sim, "/detach") == "refused Operation not permitted");
        check_layers(logged_layers(*bot, "runs_program"), false);
        CHECK(echo_answers(sim, "after"));
    }
    check_bot_traffic(sim);
}

// ------------------------------------------------- the bot's own guard, for in-bot plugins

// isolation = "none": no sandbox, only the connect(), sendto() and sendmsg() the bot exports
// stand between a plugin in its process and the radio. They must refuse every spelling of this
// machine at the radio's port, Fast Open included.
TEST_CASE("sandbox: in the bot's process the connect guard refuses the radio by any spelling",
          SANDBOX_TAGS) {
    NetclientBot n;
    n.bot = start_bot(n.files, bot_config(n.sim, n.files, "netclient", "",
                                          "[plugins.netclient]\ngrant_network = true\n"
                                          "isolation = \"none\"\n"));
    // Fast Open works here at all (so the refusal below can fail): an unlisted port is fine
    // for the guard, which protects the radio only.
    CHECK(ask(n.sim, "/fastopen 127.0.0.1 " + n.unlisted.port_text()) ==
          "connected 127.0.0.1:" + n.unlisted.port_text());
    CHECK(n.unlisted.wait_accepted(1, 2s));
    std::vector<std::string> hosts = {"127.0.0.1", "0.0.0.0",          "::1",
                                      "::",        "::ffff:127.0.0.1", "localhost"};
    if (const auto lan = lan_ipv4(); !lan.empty()) hosts.push_back(lan);
    for (const auto& host : hosts) {
        INFO(host << " at the radio's port");
        CHECK(ask(n.sim, "/connect " + host + " " + n.radio()) == "refused Permission denied");
        CHECK(ask(n.sim, "/fastopen " + host + " " + n.radio()) == "refused Permission denied");
    }
    CHECK(n.sim.count("accept") == 1);
    CHECK(echo_answers(n.sim, "guarded"));
    check_bot_traffic(n.sim);
}
