// What a plugin is granted, and the bot's own guard: the netclient test plugin, granted the
// network, through the host's connect broker (allowed ports yes, the radio never, names looked
// up by the host, a flood of refusals within the log budget); runs_program with and without the
// exec permission; and an in-bot plugin held back from the radio by the bot's connect guard.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>

#include "support/bot_process.hpp"
#include "support/sandbox_harness.hpp"
#include "support/sandbox_probe.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;

namespace fs = std::filesystem;

#define SANDBOX_TAGS "[plugins][isolation][sandbox]"

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
