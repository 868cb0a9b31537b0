// The plugin sandbox against the attack plugins of tests/hostile_plugins/sandbox: one plugin
// per way out of a runner (dlsym, raw system calls, inline assembly, libc's own rexec, a helper
// library, libcurl, TCP Fast Open, UDP and unix datagrams, another program, io_uring, a
// load-time thread, a hidden import table, other spellings of this machine, the serial device,
// the bot's files and control socket, signals, System V IPC, fork, memory and memfd bombs).
// Each attack is first shown to work with [plugins] sandbox = false where that is safe, so that
// its test can fail; then, sandboxed, it must reach nothing while the bot, its one radio
// connection and echo go on, and the bot must report every layer this kernel offers
// (support/sandbox_probe.hpp) as applied.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <regex>

#include "support/bot_process.hpp"
#include "support/sandbox_harness.hpp"
#include "support/sandbox_probe.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;

namespace fs = std::filesystem;

namespace {

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
