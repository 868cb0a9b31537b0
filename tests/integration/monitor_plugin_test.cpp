// The monitor plugin in the real meshbot process, against the simulator: watched nodes going
// offline, coming back and rebooting; thresholds on host and radio figures; /sys and /status;
// telemetry probes within the firmware's throttle; missing /proc and /sys.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/utf8_chunker.hpp"
#include "radio/node_id.hpp"
#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::build_dir;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::record_is;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
using meshbot::testing::texts_to;

namespace {

constexpr std::uint32_t kAdmin = 0x10000001;  // N001, the admin in config_for
constexpr std::uint32_t kNode2 = 0x10000002;
constexpr std::uint32_t kNode3 = 0x10000003;
constexpr std::uint32_t kNode5 = 0x10000005;
constexpr std::uint32_t kWatched = 0x20000001;  // from the node file below
constexpr std::uint32_t kBroadcast = 0xFFFFFFFF;

// A node of our own in the simulator's NodeDB, heard just now, so that it is not "offline"
// the moment the bot starts (the generated nodes were heard minutes ago).
constexpr const char* kWatchedNodeFile = R"([[node]]
num = 0x20000001
long = "Watched relay"
short = "WTCH"
last_heard_ago = 0
uptime = 5000
)";

std::string plugin_dirs() {
    return "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"monitor\"]\n";
}

std::vector<std::string> texts(const SimProcess& sim, std::uint32_t to) {
    std::vector<std::string> out;
    for (const Record& r : texts_to(sim, to))
        out.push_back(r.get<std::string>("text", ""));
    return out;
}

std::size_t count_containing(const std::vector<std::string>& list, const std::string& needle) {
    return static_cast<std::size_t>(std::count_if(list.begin(), list.end(), [&](const auto& t) {
        return t.find(needle) != std::string::npos;
    }));
}

// Waits until `to` has received at least `n` texts containing `needle`.
bool wait_text(const SimProcess& sim, std::uint32_t to, const std::string& needle, std::size_t n,
               std::chrono::milliseconds timeout) {
    return sim
        .wait_for([&](const Record&) { return count_containing(texts(sim, to), needle) >= n; },
                  timeout)
        .has_value();
}

// Sends `text` as a DM to the bot and returns the first new text the sender gets back.
std::string ask(SimProcess& sim, std::uint32_t from, const std::string& text,
                const std::string& options = {}) {
    const auto before = texts(sim, from).size();
    sim.command("text from=" + meshbot::radio::node_id(from) + " to=!0badc0de " + options + text);
    REQUIRE(sim.wait_for([&](const Record&) { return texts(sim, from).size() > before; }, 15s));
    return texts(sim, from).at(before);
}

// Every text the bot sent, to anyone, is one valid part of at most 200 bytes.
void check_every_part(const SimProcess& sim) {
    for (const Record& r : sim.records("rx", "packet")) {
        if (r.get<unsigned>("portnum", 0) != 1) continue;
        const auto text = r.get<std::string>("text", "");
        INFO(text);
        CHECK(text.size() <= 200);
        CHECK(meshbot::plugins::is_valid_utf8(text));
    }
}

}  // namespace

TEST_CASE("a watched node going silent, coming back and rebooting is reported once per cooldown",
          "[plugins][monitor]") {
    TempDir files;
    SimProcess sim(SimProcess::Options{
        .extra_args = {"--node-file", files.write("nodes.toml", kWatchedNodeFile).string()}});
    RunningBot bot(config_for(sim, plugin_dirs() + R"([plugins.monitor]
check_interval = 1
alert_nodes = ["!10000001", "!10000003"]
watch = ["!20000001"]
offline_after = 4
watch_cooldown = 300
)"));
    sim.command("beacon from=!20000001 every=1");
    sim.command("silence from=!20000001");
    for (const auto to : {kAdmin, kNode3})
        REQUIRE(wait_text(sim, to, "WTCH !20000001 offline: not heard for", 1, 20s));

    sim.command("return from=!20000001");
    for (const auto to : {kAdmin, kNode3})
        REQUIRE(wait_text(sim, to, "WTCH !20000001 back online after", 1, 20s));

    sim.command("node-reboot from=!20000001");
    for (const auto to : {kAdmin, kNode3})
        REQUIRE(wait_text(sim, to, "WTCH !20000001 rebooted: uptime", 1, 20s));

    // The same again within watch_cooldown: seen and logged, not sent.
    sim.command("silence from=!20000001");
    REQUIRE(
        bot.process->wait_for_line("not sent, within watch_cooldown: WTCH !20000001 offline", 20s));
    sim.command("return from=!20000001");
    sim.command("node-reboot from=!20000001");
    REQUIRE(bot.process->wait_for_line("not sent, within watch_cooldown: WTCH !20000001 rebooted",
                                       20s));

    for (const auto to : {kAdmin, kNode3}) {
        const auto got = texts(sim, to);
        INFO("texts to " << meshbot::radio::node_id(to));
        CHECK(count_containing(got, " offline: ") == 1);
        CHECK(count_containing(got, " back online ") == 1);
        CHECK(count_containing(got, " rebooted: ") == 1);
        // DMs, acknowledged, never broadcasts.
        for (const Record& r : texts_to(sim, to))
            CHECK(r.get<bool>("want_ack"));
    }
    CHECK(texts_to(sim, kBroadcast).empty());
    CHECK(bot.process->running());
    check_every_part(sim);
}

TEST_CASE("thresholds on host figures: warning after warn_for, critical at once, recovery",
          "[plugins][monitor]") {
    // A fake /proc whose load average the test sets; nothing else in it, so the other
    // figures are n/a and must stay silent. It lives in the monitor's private folder, the one
    // folder besides the system's that its sandbox lets it read.
    TempDir data;
    const auto set_load = [&](const char* loadavg) {
        data.write("plugin-data/monitor/proc/loadavg", loadavg);
    };
    const auto fake_proc = data.path() / "plugin-data/monitor/proc";
    set_load("3.00 1.00 1.00 1/100 4242\n");
    SimProcess sim;
    RunningBot bot(
        config_for(sim,
                   plugin_dirs() + "[plugins.monitor]\ncheck_interval = 1\n" +
                       "alert_nodes = [\"!10000001\"]\nproc_root = " + quoted(fake_proc) +
                       "\nsys_root = " + quoted(fake_proc / "no-sys") + R"(
[plugins.monitor.thresholds.load]
warn = 2.0
warn_for = 2
critical = 8.0
cooldown = 600
[plugins.monitor.thresholds.cpu_temp]
warn = 0.0
warn_for = 0
[plugins.monitor.thresholds.mem_used_pct]
warn = 0.0
warn_for = 0
)",
                   {}, "[bot]\ndata_dir = " + quoted(data.path()) + "\n"));
    REQUIRE(wait_text(sim, kAdmin, "WARNING load 3.00 (>= 2.00 for ", 1, 15s));
    set_load("9.50 3.00 1.00 1/100 4242\n");
    REQUIRE(wait_text(sim, kAdmin, "CRITICAL load 9.50 (>= 8.00)", 1, 15s));
    set_load("0.10 3.00 1.00 1/100 4242\n");
    REQUIRE(wait_text(sim, kAdmin, "OK load back to 0.10", 1, 15s));

    // Critical again within the cooldown: nothing is sent, so no recovery either.
    set_load("9.50 3.00 1.00 1/100 4242\n");
    REQUIRE(
        bot.process->wait_for_line("not sent, within cooldown: CRITICAL load 9.50 (>= 8.00)", 10s));
    set_load("0.10 3.00 1.00 1/100 4242\n");
    sim.wait_for_count("rx", "packet", 4, 4s);  // deadline: nothing more may come
    const auto got = texts(sim, kAdmin);
    CHECK(got.size() == 3);
    CHECK(count_containing(got, "cpu temp") == 0);  // n/a never alerts
    CHECK(count_containing(got, "mem used") == 0);
    check_every_part(sim);
}

TEST_CASE("thresholds on the radio: our node's battery from its telemetry", "[plugins][monitor]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugin_dirs() + R"([plugins.monitor]
check_interval = 1
alert_nodes = ["!10000001"]
[plugins.monitor.thresholds.battery]
warn = 20
warn_for = 0
critical = 10
cooldown = 600
)"));
    sim.command("telemetry from=!0badc0de battery=15 voltage=3.6");
    REQUIRE(wait_text(sim, kAdmin, "WARNING battery 15% (<= 20%)", 1, 15s));
    sim.command("telemetry from=!0badc0de battery=5 voltage=3.3");
    REQUIRE(wait_text(sim, kAdmin, "CRITICAL battery 5% (<= 10%)", 1, 15s));
    sim.command("telemetry from=!0badc0de battery=90 voltage=4.1");
    REQUIRE(wait_text(sim, kAdmin, "OK battery back to 90%", 1, 15s));
    // /sys shows the battery and the channel use of our own node.
    const auto line = ask(sim, kNode2, "/sys");
    CHECK_THAT(line, Catch::Contains("bat 90%"));
    check_every_part(sim);
}

TEST_CASE("a radio link down for longer than link_down is reported once it is back",
          "[plugins][monitor]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugin_dirs() + R"([plugins.monitor]
check_interval = 1
alert_nodes = ["!10000001"]
[plugins.monitor.thresholds.link_down]
warn = 2
warn_for = 0
critical = 3600
)"));
    sim.command("reboot 5");  // the radio drops us and refuses connections for 5 s
    REQUIRE(bot.process->wait_for_line("link lost", 5s));
    REQUIRE(bot.process->wait_for_line("alert: WARNING radio link down", 10s));
    // The alert travels over the link it is about: it waits in the outbox, then both arrive.
    REQUIRE(wait_text(sim, kAdmin, "WARNING radio link down ", 1, 30s));
    REQUIRE(wait_text(sim, kAdmin, "OK radio link up again", 1, 15s));
    CHECK(texts(sim, kAdmin).size() == 2);
    check_every_part(sim);
}

TEST_CASE("watching the bot's own node reports the radio restarting", "[plugins][monitor]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugin_dirs() + R"([plugins.monitor]
check_interval = 1
alert_nodes = ["!10000001"]
watch = ["!0badc0de"]
offline_after = 3
)"));
    sim.command("telemetry from=!0badc0de uptime=5000 battery=80");
    sim.command("telemetry from=!0badc0de uptime=4 battery=80");
    REQUIRE(wait_text(sim, kAdmin, "!0badc0de rebooted: uptime 4s, was 1h23m", 1, 15s));
    // Heard as long as the link is up: never "offline", however quiet the radio is.
    sim.wait_for_count("rx", "packet", 2, 5s);  // deadline: offline_after and two checks
    CHECK(texts(sim, kAdmin).size() == 1);
    check_every_part(sim);
}

TEST_CASE("/sys answers anyone in one part of at most 200 bytes", "[plugins][monitor]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugin_dirs() + "[plugins.monitor]\n"));
    const auto line = ask(sim, kNode2, "/sys");
    INFO(line);
    CHECK(line.size() <= 200);
    CHECK_THAT(line, Catch::StartsWith("up "));  // not "(1/2) ": one part
    CHECK_THAT(line, Catch::Contains(" load "));
    CHECK_THAT(line, Catch::Contains("; bot "));
    CHECK_THAT(line, Catch::Contains("; radio ok "));
    CHECK_THAT(line, Catch::Contains(" nodes"));
    sim.wait_for_count("rx", "packet", 2, 3s);  // deadline: a second part would come by now
    CHECK(texts(sim, kNode2).size() == 1);
    check_every_part(sim);
}

TEST_CASE("with /proc and /sys pointed at an empty folder, /sys says n/a and nothing alerts",
          "[plugins][monitor]") {
    TempDir empty;
    SimProcess sim;
    RunningBot bot(
        config_for(sim, plugin_dirs() + "[plugins.monitor]\ncheck_interval = 1\n" +
                            "alert_nodes = [\"!10000001\"]\nproc_root = " + quoted(empty.path()) +
                            "\nsys_root = " + quoted(empty.path()) + R"(
[plugins.monitor.thresholds.cpu_temp]
warn = 0.0
warn_for = 0
[plugins.monitor.thresholds.bot_cpu]
warn = 0.0
warn_for = 0
[plugins.monitor.thresholds.load]
warn = 0.0
warn_for = 0
[plugins.monitor.thresholds.mem_used_pct]
warn = 0.0
warn_for = 0
)"));
    const auto line = ask(sim, kNode2, "/sys");
    INFO(line);
    CHECK(line.size() <= 200);
    CHECK_THAT(line, Catch::StartsWith("up n/a cpu n/a load n/a mem n/a disk "));
    CHECK_THAT(line, Catch::Contains("; bot "));
    CHECK_THAT(line, Catch::Contains(" n/a n/a; radio ok"));  // rss and cpu of the bot

    sim.wait_for_count("rx", "packet", 2, 4s);  // deadline: four checks, and no alert
    CHECK(texts(sim, kAdmin).empty());
    CHECK(bot.process->running());
    CHECK_THAT(ask(sim, kNode3, "/sys"), Catch::StartsWith("up n/a"));
    check_every_part(sim);
}

TEST_CASE("/status is refused unless an admin asks in a PKI DM, then gives the full picture",
          "[plugins][monitor]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugin_dirs() + R"([plugins.monitor]
watch = ["!10000002"]
[plugins.monitor.thresholds.cpu_temp]
)"));
    CHECK_THAT(ask(sim, kNode2, "/status", "pki=1 "), Catch::StartsWith("refused"));  // no admin
    CHECK_THAT(ask(sim, kAdmin, "/status"), Catch::StartsWith("refused"));  // admin, plain DM

    const auto before = texts(sim, kAdmin).size();
    const auto first = ask(sim, kAdmin, "/status", "pki=1 ");
    REQUIRE_THAT(first, Catch::StartsWith("(1/"));
    const auto total = std::stoul(first.substr(3, first.find(')') - 3));
    REQUIRE(sim.wait_for([&](const Record&) { return texts(sim, kAdmin).size() >= before + total; },
                         30s));
    std::string report;
    const auto got = texts(sim, kAdmin);
    for (std::size_t i = before; i < before + total; ++i)
        report += got[i].substr(got[i].find(") ") + 2);
    INFO(report);
    for (const char* part :
         {"host: up ", "bot: up ", "radio: up ", "keys: ", "nodes: ", "alerts: ", "watch: N002"})
        CHECK_THAT(report, Catch::Contains(part));
    check_every_part(sim);
}

TEST_CASE(
    "probes ask watched nodes for telemetry, at least 10 s apart, and an answer counts as a "
    "sighting",
    "[plugins][monitor]") {
    SimProcess sim(SimProcess::Options{.nodes = 7});
    // N005 was last heard 15 minutes ago (the simulator's generated NodeDB), so it starts
    // offline; its answer to the first probe brings it back.
    RunningBot bot(config_for(sim, plugin_dirs() + R"([plugins.monitor]
check_interval = 1
alert_nodes = ["!10000001"]
watch = ["!10000005", "!10000002", "!10000003", "!10000004", "!10000006", "!10000007"]
offline_after = 600
probe_interval = 30
)"));
    REQUIRE(bot.process->wait_for_line("probe_interval = 30 is below the minimum", 5s));
    REQUIRE(wait_text(sim, kAdmin, "!10000005 offline", 1, 10s));
    REQUIRE(wait_text(sim, kAdmin, "!10000005 back online", 1, 30s));

    auto is_probe = [](const Record& r) {
        return record_is(r, "rx", "packet") && r.get<unsigned>("portnum", 0) == 67;
    };
    REQUIRE(sim.wait_for(
        [&](const Record&) {
            const auto all = sim.records("rx", "packet");
            return std::count_if(all.begin(), all.end(), is_probe) >= 2;
        },
        30s));
    std::vector<Record> probes;
    for (const Record& r : sim.records("rx", "packet")) {
        if (is_probe(r)) probes.push_back(r);
    }
    REQUIRE(probes.size() >= 2);
    CHECK(probes[0].get<std::uint32_t>("to") == kNode5);
    CHECK(probes[1].get<std::uint32_t>("to") == kNode2);
    for (std::size_t i = 0; i < probes.size(); ++i) {
        CHECK(probes[i].get<bool>("want_response"));
        CHECK(probes[i].get<std::string>("payload_hex") == "1200");  // Telemetry{device_metrics{}}
        if (i > 0) CHECK(probes[i].get<double>("t") - probes[i - 1].get<double>("t") >= 10.0);
    }
    CHECK(sim.count("throttled") == 0);
    check_every_part(sim);
}

TEST_CASE("a bad monitor config keeps the plugin from loading and names the key",
          "[plugins][monitor]") {
    SimProcess sim;
    TempDir dir;
    // Types and ranges are the manifest's schema's (failed_config, checked by the host); what
    // only the plugin knows (node ids, a critical level against warn) is its own (failed_init).
    struct Case {
        std::string body;
        std::string state;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"watch = [\"bob\"]", "failed_init", "config key 'watch' holds 'bob'"},
        {"check_interval = 0", "failed_config",
         "plugins.monitor.check_interval: expected an integer of at least 1, got integer 0"},
        {"thresholds.load = 3", "failed_init", "config key 'thresholds.load' must be a table"},
        {"thresholds = 3", "failed_config",
         "plugins.monitor.thresholds: expected a table, got integer 3"},
        {"[plugins.monitor.thresholds.battery]\nwarn = 20\ncritical = 30", "failed_init",
         "config key 'thresholds.battery.critical' must not be above warn"},
    };
    for (const auto& [body, state, message] : cases) {
        INFO(body);
        const auto config = dir.write(
            "meshbot.toml", config_for(sim, plugin_dirs() + "[plugins.monitor]\n" + body + "\n"));
        ChildProcess listing(
            {bin_path("meshbot").string(), "plugins", "--config", config.string()});
        REQUIRE(listing.wait_exit(10s) == 1);
        INFO(listing.output());
        CHECK(listing.wait_for_line(state, 1s));
        CHECK(listing.wait_for_line(message, 1s));
    }
}
