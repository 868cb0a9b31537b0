// SIGHUP against the real bot and simulator: the config file is read again and what can change
// without a restart is applied ([log] level, [commands], a changed [plugins.<id>] table) while
// the radio link stays up; a broken file changes nothing and says where it is broken.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "support/bot_process.hpp"
#include "support/notify_socket.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using namespace meshbot::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kNode2 = 0x10000002;
constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;

// Rewrites the file in one rename, as editors do, so that the bot never reads half of it.
void rewrite(const fs::path& path, const std::string& text) {
    const fs::path next = path.string() + ".new";
    std::ofstream(next) << text;
    fs::rename(next, path);
}

// The texts the simulator's radio received from the bot for `to`.
std::vector<std::string> texts(const SimProcess& sim, std::uint32_t to) {
    std::vector<std::string> out;
    for (const auto& r : texts_to(sim, to))
        out.push_back(r.get<std::string>("text"));
    return out;
}

bool wait_text(const SimProcess& sim, std::uint32_t to, const std::string& text,
               std::chrono::milliseconds timeout) {
    return sim
        .wait_for(
            [&](const Record& r) {
                return record_is(r, "rx", "packet") && r.get<std::uint32_t>("to", 0) == to &&
                       r.get<std::string>("text", "") == text;
            },
            timeout)
        .has_value();
}

// The first line from index `from` on containing `needle`, "" when none does (shown in full
// when a check fails).
std::string line_after(const ChildProcess& log, std::size_t from, std::string_view needle) {
    const auto lines = log.lines();
    for (std::size_t i = from; i < lines.size(); ++i) {
        if (lines[i].find(needle) != std::string::npos) return lines[i];
    }
    return {};
}

// The first line from index `from` on logged at debug level ("2026-12-03 13:04:48.924 debug
// ..."), "" when none was.
std::string debug_line_after(const ChildProcess& log, std::size_t from) {
    static const std::regex debug_level(R"(^\S+ \S+ debug )");
    const auto lines = log.lines();
    for (std::size_t i = from; i < lines.size(); ++i) {
        if (std::regex_search(lines[i], debug_level)) return lines[i];
    }
    return {};
}

}  // namespace

TEST_CASE(
    "SIGHUP applies the log level, [commands] and a changed plugin table without dropping "
    "the link; a broken file keeps the running config",
    "[daemon][service][reload]") {
    NotifySocket systemd;
    SimProcess sim;
    // echo's table changes below, monitor's does not: only echo may be reloaded.
    const std::string plugins = "dirs = [" + quoted(build_dir() / "plugins") +
                                "]\nenabled = [\"echo\", \"monitor\"]\n"
                                "[plugins.echo]\nmode = \"broadcast\"\n"
                                "[plugins.monitor]\ncheck_interval = 60\n";
    RunningBot bot(config_for(sim, plugins, "prefix = \"/\"\nrate_limit = 20\n"), {systemd.env()});
    auto& log = *bot.process;
    const fs::path file = bot.dir.path() / "meshbot.toml";
    INFO(log.output());
    REQUIRE(systemd.wait_for(0, "READY", "1", 10s));

    // Before: "/" commands, echo broadcasts, debug lines are logged.
    sim.command("text from=!10000002 channel=0 /echo before");
    REQUIRE(wait_text(sim, kBroadcast, "N002: before", 15s));
    REQUIRE(debug_line_after(log, 0) != "");

    const std::string original = file_text(file);
    std::string changed = replaced_once(original, "prefix = \"/\"", "prefix = \"!\"");
    changed = replaced_once(changed, "level = \"debug\"", "level = \"info\"");
    changed = replaced_once(changed, "mode = \"broadcast\"", "mode = \"reply\"");
    // A setting only a restart applies: named in the log, the link left alone.
    changed = replaced_once(changed, "\n[commands]\n", "connect_timeout = 7\n\n[commands]\n");
    rewrite(file, changed);
    const auto reloaded_from = log.line_count();
    const auto notified_from = systemd.count();
    log.send_signal(SIGHUP);

    REQUIRE(log.wait_for_line_after(reloaded_from, "config reload: log.level debug -> info", 10s));
    CHECK(log.wait_for_line_after(reloaded_from, "config reload: applied commands.prefix", 5s));
    CHECK(log.wait_for_line_after(
        reloaded_from, "radio.connect_timeout changed: takes effect after a restart", 5s));
    CHECK(log.wait_for_line_after(
        reloaded_from, "config reload: [plugins.echo] changed: reloading plugin echo", 5s));
    REQUIRE(log.wait_for_line_after(reloaded_from, "config reload: plugin echo 1.0.0 loaded", 15s));
    CHECK(line_after(log, reloaded_from, "reloading plugin monitor") == "");
    CHECK(line_after(log, reloaded_from, "plugin monitor: reload") == "");
    CHECK(log.wait_for_line_after(
        reloaded_from, "config reload: done: 3 change(s) applied, 1 waiting for a restart", 5s));
    CHECK(systemd.wait_for(notified_from, "RELOADING", "1", 5s));
    CHECK(systemd.wait_for(notified_from, "READY", "1", 5s));

    // After: "/" is no command any more (no answer, not even "unknown command"), "!" is, and
    // echo answers the sender alone (mode = "reply").
    const auto direct_before = texts(sim, kNode2).size();
    sim.command("text from=!10000002 to=!0badc0de /echo old prefix");
    sim.command("text from=!10000002 to=!0badc0de !echo new prefix");
    REQUIRE(wait_text(sim, kNode2, "N002: new prefix", 15s));
    const auto direct = texts(sim, kNode2);
    CHECK(direct.size() == direct_before + 1);  // nothing for "/echo old prefix"
    CHECK(texts(sim, kBroadcast) == std::vector<std::string>{"N002: before"});
    CHECK(debug_line_after(log, reloaded_from) == "");

    // A broken file (a wrong type): named with file:line:column, nothing changes.
    const std::string broken = replaced_once(changed, "rate_limit = 20", "rate_limit = \"many\"");
    rewrite(file, broken);
    const auto broken_from = log.line_count();
    log.send_signal(SIGHUP);
    REQUIRE(log.wait_for_line_after(broken_from, "config reload: nothing applied", 10s));
    CHECK(log.wait_for_line_after(broken_from, "config reload: " + file.string() + ":", 0ms));
    CHECK(log.wait_for_line_after(broken_from, "rate_limit", 0ms));
    sim.command("text from=!10000002 to=!0badc0de !echo still here");
    CHECK(wait_text(sim, kNode2, "N002: still here", 15s));
    CHECK(log.running());

    // The radio saw one connection from the bot, all along.
    CHECK(sim.count("accept") == 1);
    CHECK(sim.count("close") == 0);
}
