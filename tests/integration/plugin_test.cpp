// Plugins in the real meshbot process, against the simulator: the echo tutorial plugin, help,
// long replies, rate limits, privileged commands, bad plugins and the network guard.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "plugin_host/utf8_chunker.hpp"
#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::build_dir;
using meshbot::testing::check_bot_traffic;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
using meshbot::testing::texts_to;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBot = "!0badc0de";  // the simulator's own node
// The simulator's generated nodes: !10000001 "N001", !10000002 "N002", ...
constexpr std::uint32_t kNode1 = 0x10000001;
constexpr std::uint32_t kNode3 = 0x10000003;

bool wait_texts(const SimProcess& sim, std::size_t count, std::chrono::milliseconds timeout) {
    return sim.wait_for_count("rx", "packet", count, timeout);
}

std::string plugin_line(const ChildProcess& listing, const std::string& id) {
    for (const auto& line : listing.lines()) {
        if (line.rfind(id + " ", 0) == 0) return line;
    }
    return {};
}

}  // namespace

TEST_CASE(
    "echo repeats DM and channel commands on channel 0 and answers an empty one with its usage",
    "[plugins]") {
    SimProcess sim;
    RunningBot bot(
        config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]"));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /echo hello");
    sim.command("text from=!10000002 channel=0 /echo hi there");
    sim.command(std::string("text from=!10000003 to=") + kBot + " /echo");
    REQUIRE(wait_texts(sim, 3, 15s));

    const auto broadcasts = texts_to(sim, 0xFFFFFFFF);
    REQUIRE(broadcasts.size() == 2);
    CHECK(broadcasts[0].get<std::string>("text") == "N001: hello");
    CHECK(broadcasts[1].get<std::string>("text") == "N002: hi there");
    for (const auto& b : broadcasts)
        CHECK(b.get<unsigned>("channel") == 0);
    CHECK(broadcasts[1].get<double>("t") - broadcasts[0].get<double>("t") >= 2.0);

    const auto usage = texts_to(sim, kNode3);
    REQUIRE(usage.size() == 1);
    CHECK(usage[0].get<std::string>("text") == "usage: /echo <text>");
    CHECK(usage[0].get<bool>("want_ack"));
    CHECK(sim.count("rate_limited") == 0);
    check_bot_traffic(sim);
}

TEST_CASE("help lists every loaded plugin's commands within the byte budget, help echo gives usage",
          "[plugins]") {
    SimProcess sim;
    const auto dirs = "dirs = [" + quoted(build_dir() / "plugins") + ", " +
                      quoted(build_dir() / "tests/test_plugins") + "]";
    RunningBot bot(config_for(sim, dirs));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /help");
    REQUIRE(wait_texts(sim, 1, 10s));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /help echo");
    REQUIRE(wait_texts(sim, 2, 10s));
    const auto replies = texts_to(sim, kNode1);
    REQUIRE(replies.size() == 2);
    const auto list = replies[0].get<std::string>("text");
    CHECK(list.size() <= 200);
    for (const char* cmd : {"/echo", "/long", "/secret", "/help"})
        CHECK_THAT(list, Catch::Contains(cmd));
    CHECK(replies[1].get<std::string>("text") == "/echo <text>: repeat your text on the channel");
    check_bot_traffic(sim);
}

TEST_CASE(
    "a 1000-byte reply arrives as numbered parts of at most 200 bytes, valid UTF-8, 2 s apart",
    "[plugins]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, "dirs = [" + quoted(build_dir() / "tests/test_plugins") + "]"));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /long");
    REQUIRE(sim.wait_for_count("rx", "packet", 6, 30s));
    // Give a seventh part, if the bot wrongly sent one, the time to arrive.
    sim.wait_for_count("rx", "packet", 7, 2500ms);
    const auto parts = texts_to(sim, kNode1);
    REQUIRE(parts.size() == 6);

    std::string expected;
    for (int i = 0; expected.size() < 990; ++i)
        expected += "é€📡" + std::to_string(i % 10);
    while (expected.size() < 1000)
        expected += '.';

    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto text = parts[i].get<std::string>("text");
        CHECK(text.size() <= 200);
        CHECK(meshbot::plugins::is_valid_utf8(text));
        const std::string prefix = "(" + std::to_string(i + 1) + "/6) ";
        REQUIRE(text.rfind(prefix, 0) == 0);
        joined += text.substr(prefix.size());
        if (i > 0) CHECK(parts[i].get<double>("t") - parts[i - 1].get<double>("t") >= 2.0);
    }
    CHECK(joined == expected);
    CHECK(sim.count("rate_limited") == 0);
    check_bot_traffic(sim);
}

TEST_CASE("a plugin disabled in config is never loaded and is listed as disabled_by_config",
          "[plugins]") {
    SimProcess sim;
    TempDir dir;
    // The plugin's constructor writes its mark in its private folder.
    const auto mark = dir.path() / "data/plugin-data/static_mark/static_mark.loaded";
    const std::string bot = "[bot]\ndata_dir = " + quoted(dir.path() / "data") + "\n";
    const auto plugins =
        "dirs = [" + quoted(build_dir() / "tests/bad_plugins") + "]\nenabled = [\"static_mark\"]\n";

    const auto off = dir.write(
        "off.toml", config_for(sim, plugins + "[plugins.static_mark]\nenabled = false\n", {}, bot));
    ChildProcess listing({bin_path("meshbot").string(), "plugins", "--config", off.string()});
    REQUIRE(listing.wait_exit(10s) == 0);
    CHECK_THAT(plugin_line(listing, "static_mark"), Catch::Contains("disabled_by_config"));
    CHECK_FALSE(fs::exists(mark));

    // The mark does appear when the plugin is loaded: the check above can fail.
    const auto on = dir.write("on.toml", config_for(sim, plugins, {}, bot));
    ChildProcess loading({bin_path("meshbot").string(), "plugins", "--config", on.string()});
    REQUIRE(loading.wait_exit(10s) == 0);
    CHECK_THAT(plugin_line(loading, "static_mark"), Catch::Contains("loaded"));
    CHECK(fs::exists(mark));
    check_bot_traffic(sim);
}

TEST_CASE("each bad plugin gets its state and a message naming its file, and echo keeps answering",
          "[plugins]") {
    SimProcess sim;
    const auto bad = build_dir() / "tests/bad_plugins";
    const auto plugins = "dirs = [" + quoted(build_dir() / "plugins") + ", " + quoted(bad) + "]\n" +
                         "callback_budget = 0.2\n[plugins.static_mark]\nenabled = false\n";
    const std::string commands = "rate_limit = 100\n";
    TempDir dir;
    const auto config = dir.write("meshbot.toml", config_for(sim, plugins, commands));
    ChildProcess listing({bin_path("meshbot").string(), "plugins", "--config", config.string()});
    REQUIRE(listing.wait_exit(10s) == 1);  // enabled plugins could not load

    const std::map<std::string, std::string> expected = {
        {"bad_major", "failed_version"},     {"no_entry", "failed_load"},
        {"throws_init", "failed_init"},      {"imports_socket", "failed_audit"},
        {"steals_echo", "failed_init"},      {"no_manifest", "failed_manifest"},
        {"bad_manifest", "failed_manifest"}, {"throws_callback", "loaded"},
        {"blocks_loop", "loaded"},           {"echo", "loaded"},
    };
    const auto lines = listing.lines();
    for (const auto& [id, state] : expected) {
        INFO(id);
        const auto line = plugin_line(listing, id);
        CHECK_THAT(line, Catch::Contains(state));
        if (state != "loaded") {
            // The reason follows on the next line and names the plugin's file.
            const auto it = std::find(lines.begin(), lines.end(), line);
            REQUIRE(it != lines.end());
            REQUIRE(std::next(it) != lines.end());
            CHECK_THAT(*std::next(it), Catch::Contains((bad / id).string()));
        }
    }

    RunningBot bot(config_for(sim, plugins, commands));
    const std::string dm = std::string("text from=!10000002 to=") + kBot + " ";
    for (int i = 0; i < 3; ++i)
        sim.command(dm + "/boom");
    REQUIRE(bot.process->wait_for_line("throws_callback: faulted", 10s));
    sim.command(dm + "/slow");
    REQUIRE(bot.process->wait_for_line("blocks_loop: command handler", 10s));
    sim.command(dm + "/echo still here");
    REQUIRE(sim.wait_for(
        [](const Record& r) {
            return meshbot::testing::record_is(r, "rx", "packet") &&
                   r.get<std::string>("text", "") == "N002: still here";
        },
        15s));
    CHECK(bot.process->running());
    check_bot_traffic(sim);
}

TEST_CASE(
    "a plugin importing socket APIs is refused, and granted network it still cannot reach the "
    "radio",
    "[plugins]") {
    SimProcess sim;
    const auto dirs = "dirs = [" + quoted(build_dir() / "tests/bad_plugins") +
                      "]\nenabled = [\"imports_socket\"]\n";
    {
        TempDir dir;
        const auto refused = dir.write("refused.toml", config_for(sim, dirs));
        ChildProcess listing(
            {bin_path("meshbot").string(), "plugins", "--config", refused.string()});
        REQUIRE(listing.wait_exit(10s) == 1);
        CHECK_THAT(plugin_line(listing, "imports_socket"), Catch::Contains("failed_audit"));
    }
    RunningBot bot(config_for(sim, dirs +
                                       "[plugins.imports_socket]\ngrant_network = true\nport = " +
                                       std::to_string(sim.port()) + "\n"));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /connect");
    REQUIRE(wait_texts(sim, 1, 10s));
    const auto reply = texts_to(sim, kNode1);
    REQUIRE(reply.size() == 1);
    CHECK_THAT(reply[0].get<std::string>("text"), Catch::StartsWith("connect refused"));
    CHECK(sim.count("accept") == 1);
    CHECK(sim.count("close") == 0);
    check_bot_traffic(sim);
}

TEST_CASE("10 commands in 10 s from one node: 5 run and one slow-down notice", "[plugins]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") + "]"));
    for (int i = 1; i <= 10; ++i) {
        sim.command(std::string("text from=!10000001 to=") + kBot + " /echo number " +
                    std::to_string(i));
    }
    REQUIRE(wait_texts(sim, 6, 30s));
    sim.wait_for_count("rx", "packet", 7, 3s);  // nothing more may come
    const auto echoes = texts_to(sim, 0xFFFFFFFF);
    const auto notices = texts_to(sim, kNode1);
    REQUIRE(echoes.size() == 5);
    for (int i = 0; i < 5; ++i)
        CHECK(echoes[static_cast<std::size_t>(i)].get<std::string>("text") ==
              "N001: number " + std::to_string(i + 1));
    REQUIRE(notices.size() == 1);
    CHECK_THAT(notices[0].get<std::string>("text"), Catch::StartsWith("slow down: retry in"));
    check_bot_traffic(sim);
}

TEST_CASE("a privileged command runs only for an admin in a PKI-encrypted DM", "[plugins]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, "dirs = [" + quoted(build_dir() / "tests/test_plugins") + "]"));
    sim.command("text from=!10000001 channel=0 /secret");                     // admin, channel
    sim.command(std::string("text from=!10000001 to=") + kBot + " /secret");  // admin, plain DM
    sim.command(std::string("text from=!10000002 to=") + kBot + " pki=1 /secret");  // not an admin
    REQUIRE(wait_texts(sim, 3, 15s));
    for (const auto& r : sim.records("rx", "packet"))
        CHECK_THAT(r.get<std::string>("text"), Catch::StartsWith("refused"));
    sim.command(std::string("text from=!10000001 to=") + kBot + " pki=1 /secret");  // admin, PKI DM
    REQUIRE(wait_texts(sim, 4, 10s));
    CHECK(sim.records("rx", "packet").back().get<std::string>("text") == "secret ok");
    check_bot_traffic(sim);
}

TEST_CASE("the plugin template, built out of tree, loads into the host and answers", "[template]") {
    SimProcess sim;
    RunningBot bot(config_for(
        sim, "dirs = [" + quoted(build_dir() / "out_of_tree/template-build/plugins") + "]"));
    REQUIRE(bot.process->wait_for_line("plugin hello", 5s));
    sim.command(std::string("text from=!10000001 to=") + kBot + " /hello");
    REQUIRE(wait_texts(sim, 1, 10s));
    CHECK_THAT(texts_to(sim, kNode1).at(0).get<std::string>("text"), Catch::Contains("N001"));
    check_bot_traffic(sim);
}

TEST_CASE("a plugin built against the ABI 1.0 headers loads and makes nested calls", "[plugins]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, "dirs = [" + quoted(build_dir() / "tests/abi10_plugins") +
                                       "]\n[plugins.abi10]\ngreeting = \"hi\"\n"));
    const std::string dm = std::string("text from=!10000001 to=") + kBot + " ";
    sim.command(dm + "/old N003");
    REQUIRE(wait_texts(sim, 1, 10s));
    sim.command(dm + "/old nobody-by-that-name");
    REQUIRE(wait_texts(sim, 2, 10s));
    sim.command(dm + "/oldwork");
    REQUIRE(wait_texts(sim, 3, 10s));
    const auto replies = texts_to(sim, kNode1);
    REQUIRE(replies.size() == 3);
    CHECK(replies[0].get<std::string>("text") == "hi N003, call 1 (abi 1.0)");
    CHECK(replies[1].get<std::string>("text") == "hi nobody, call 2 (abi 1.0)");
    CHECK(replies[2].get<std::string>("text") == "work done: 42");
    check_bot_traffic(sim);
}

TEST_CASE("unsubscribing ids a plugin does not hold as subscriptions changes nothing",
          "[plugins]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, "dirs = [" + quoted(build_dir() / "plugins") + ", " +
                                       quoted(build_dir() / "tests/hostile_plugins") +
                                       "]\nenabled = [\"echo\", \"crasher\"]\n"));
    const std::string dm = std::string("text from=!10000001 to=") + kBot + " ";
    sim.command(dm + "/unsubscribe_all");
    REQUIRE(wait_texts(sim, 1, 10s));
    // Its commands' own records were among those ids: they must still run.
    sim.command(dm + "/alive");
    REQUIRE(wait_texts(sim, 2, 10s));
    sim.command(dm + "/echo still");
    REQUIRE(wait_texts(sim, 3, 10s));
    const auto replies = texts_to(sim, kNode1);
    REQUIRE(replies.size() == 2);
    CHECK(replies[0].get<std::string>("text") == "unsubscribed");
    CHECK(replies[1].get<std::string>("text") == "alive");
    CHECK(texts_to(sim, 0xFFFFFFFF).at(0).get<std::string>("text") == "N001: still");
    CHECK(bot.process->running());
    check_bot_traffic(sim);
}
