#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/config_loader.hpp"

using meshbot::config::ConfigError;
using meshbot::config::LoadResult;
using meshbot::config::parse_config;
using meshbot::config::Seconds;
using meshbot::config::Transport;

namespace {

LoadResult parse(std::string_view text) {
    return parse_config(text, "meshbot.toml");
}

// The message of the ConfigError that parsing `text` throws ("" when it does not throw).
std::string error_of(std::string_view text) {
    try {
        (void)parse(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

// The unit test target has no MESHBOT_SOURCE_DIR; the example sits at a fixed place relative
// to this file.
const std::filesystem::path example_file =
    std::filesystem::path(__FILE__).parent_path() / "../../config/meshbot.example.toml";

}  // namespace

TEST_CASE("An empty file gives the documented defaults and no warnings", "[config]") {
    const auto result = parse("");
    const auto& r = result.config.radio;
    CHECK(result.warnings.empty());
    CHECK(result.config.source == "meshbot.toml");
    CHECK(r.transport == Transport::tcp);
    CHECK(r.host == "127.0.0.1");
    CHECK(r.port == 4403);
    CHECK(r.device == "/dev/ttyUSB0");
    CHECK(r.baud == 115200);
    CHECK(r.connect_timeout == Seconds{10});
    CHECK(r.handshake_timeout == Seconds{30});
    CHECK(r.heartbeat_interval == Seconds{60});
    CHECK(r.silence_multiple == 3.0);
    CHECK(r.backoff_initial == Seconds{1});
    CHECK(r.backoff_max == Seconds{60});
    CHECK(r.backoff_reset_after == Seconds{120});
    CHECK(r.dedupe_window == Seconds{600});
    CHECK(r.text_gap == Seconds{2});
    CHECK(r.outbox_capacity == 256);
    CHECK(r.outbox_expiry == Seconds{600});
    CHECK(result.config.log.level == "info");

    CHECK(result.config.bot.data_dir == "data");  // no folder in "meshbot.toml" to put it in
    const auto& c = result.config.commands;
    CHECK(c.prefix == "/");
    CHECK(c.dm);
    CHECK(c.channels == std::vector<unsigned>{0});
    CHECK(c.rate_limit == 5);
    CHECK(c.rate_window == Seconds{60});
    CHECK(c.reply_max_bytes == 200);
    CHECK(c.admins.empty());
    const auto& p = result.config.plugins;
    CHECK(p.dirs.empty());
    CHECK_FALSE(p.enabled.has_value());
    CHECK(p.settings.empty());
    CHECK(p.callback_budget == Seconds{0.05});
    CHECK(p.max_faults == 3);
}

TEST_CASE("Every key is read into the settings", "[config]") {
    const auto result = parse(R"(
[radio]
transport = "serial"
host = "radio.local"
port = 4404
device = "/dev/ttyACM0"
baud = 921600
connect_timeout = 5
handshake_timeout = 20
heartbeat_interval = 120
silence_multiple = 2.5
backoff_initial = 2
backoff_max = 300
backoff_reset_after = 90
dedupe_window = 900
text_gap = 3
outbox_capacity = 64
outbox_expiry = 1200

[log]
level = "debug"
)");
    const auto& r = result.config.radio;
    CHECK(result.warnings.empty());
    CHECK(r.transport == Transport::serial);
    CHECK(r.host == "radio.local");
    CHECK(r.port == 4404);
    CHECK(r.device == "/dev/ttyACM0");
    CHECK(r.baud == 921600);
    CHECK(r.connect_timeout == Seconds{5});
    CHECK(r.handshake_timeout == Seconds{20});
    CHECK(r.heartbeat_interval == Seconds{120});
    CHECK(r.silence_multiple == 2.5);
    CHECK(r.backoff_initial == Seconds{2});
    CHECK(r.backoff_max == Seconds{300});
    CHECK(r.backoff_reset_after == Seconds{90});
    CHECK(r.dedupe_window == Seconds{900});
    CHECK(r.text_gap == Seconds{3});
    CHECK(r.outbox_capacity == 64);
    CHECK(r.outbox_expiry == Seconds{1200});
    CHECK(result.config.log.level == "debug");
}

TEST_CASE("Durations accept fractional seconds", "[config]") {
    const auto result = parse("[radio]\nconnect_timeout = 2.5\ntext_gap = 2.25\n");
    CHECK(result.config.radio.connect_timeout == Seconds{2.5});
    CHECK(result.config.radio.text_gap == Seconds{2.25});
}

TEST_CASE("The example file loads with the defaults and without a warning", "[config]") {
    const auto result = meshbot::config::load_config(example_file);
    CHECK(result.warnings.empty());
    CHECK(result.config.source == example_file);

    // Every value in the example equals the built-in default.
    const auto defaults = parse("").config;
    const auto& r = result.config.radio;
    const auto& d = defaults.radio;
    CHECK(r.transport == d.transport);
    CHECK(r.host == d.host);
    CHECK(r.port == d.port);
    CHECK(r.device == d.device);
    CHECK(r.baud == d.baud);
    CHECK(r.connect_timeout == d.connect_timeout);
    CHECK(r.handshake_timeout == d.handshake_timeout);
    CHECK(r.heartbeat_interval == d.heartbeat_interval);
    CHECK(r.silence_multiple == d.silence_multiple);
    CHECK(r.backoff_initial == d.backoff_initial);
    CHECK(r.backoff_max == d.backoff_max);
    CHECK(r.backoff_reset_after == d.backoff_reset_after);
    CHECK(r.dedupe_window == d.dedupe_window);
    CHECK(r.text_gap == d.text_gap);
    CHECK(r.outbox_capacity == d.outbox_capacity);
    CHECK(r.outbox_expiry == d.outbox_expiry);
    CHECK(result.config.log.level == defaults.log.level);

    // The default data_dir is relative, so it lands beside the example.
    CHECK(result.config.bot.data_dir ==
          std::filesystem::absolute(example_file).parent_path() / "data");
    const auto& c = result.config.commands;
    const auto& dc = defaults.commands;
    CHECK(c.prefix == dc.prefix);
    CHECK(c.dm == dc.dm);
    CHECK(c.channels == dc.channels);
    CHECK(c.rate_limit == dc.rate_limit);
    CHECK(c.rate_window == dc.rate_window);
    CHECK(c.reply_max_bytes == dc.reply_max_bytes);
    CHECK(c.answer_backlog == dc.answer_backlog);
    CHECK(c.admins == dc.admins);
    const auto& p = result.config.plugins;
    const auto& dp = defaults.plugins;
    CHECK(p.dirs == dp.dirs);
    CHECK(p.enabled == dp.enabled);
    CHECK(p.callback_budget == dp.callback_budget);
    CHECK(p.max_faults == dp.max_faults);
    // The example's one plugin table only shows the form: it switches nothing on or off.
    REQUIRE(p.settings.size() == 1);
    CHECK_FALSE(p.settings.at("echo").enabled.has_value());
    CHECK_FALSE(p.settings.at("echo").grant_network.has_value());
    const auto& h = result.config.http;
    const auto& dh = defaults.http;
    CHECK(h.enabled == dh.enabled);
    CHECK(h.address == dh.address);
    CHECK(h.port == dh.port);
    CHECK(h.token == dh.token);
    CHECK(h.node_metrics == dh.node_metrics);
}

TEST_CASE("A TOML syntax error names file, line and column", "[config]") {
    const auto message = error_of("[radio]\nport = \n");
    CHECK_THAT(message, Catch::StartsWith("meshbot.toml:2:8: TOML syntax error: "));
}

TEST_CASE("A wrong type names position, key, what was expected and what was found", "[config]") {
    CHECK(error_of("[radio]\n\n\nport = \"abc\"\n") ==
          "meshbot.toml:4:8: radio.port: expected an integer from 1 to 65535, got string \"abc\"");
    CHECK(error_of("[radio]\nhost = 17\n") ==
          "meshbot.toml:2:8: radio.host: expected a string, got integer 17");
    CHECK(error_of("[radio]\nconnect_timeout = \"10s\"\n") ==
          "meshbot.toml:2:19: radio.connect_timeout: expected a number of seconds of at least 0.5 "
          "and below 3600, got string \"10s\"");
    CHECK(error_of("[radio]\nbaud = 9600.0\n") ==
          "meshbot.toml:2:8: radio.baud: expected an integer of at least 1, got float 9600.0");
    CHECK(error_of("[radio]\nport = true\n") ==
          "meshbot.toml:2:8: radio.port: expected an integer from 1 to 65535, got boolean true");
    CHECK(error_of("[radio]\nhost = [\"a\"]\n") ==
          "meshbot.toml:2:8: radio.host: expected a string, got an array");
    CHECK(error_of("radio = 5\n") == "meshbot.toml:1:9: radio: expected a table, got integer 5");
}

TEST_CASE("Values out of range are rejected with the key", "[config]") {
    CHECK(error_of("[radio]\nport = 0\n") ==
          "meshbot.toml:2:8: radio.port: expected an integer from 1 to 65535, got integer 0");
    CHECK(error_of("[radio]\ntransport = \"udp\"\n") ==
          "meshbot.toml:2:13: radio.transport: expected one of \"tcp\", \"serial\", got string "
          "\"udp\"");
    CHECK_THAT(error_of("[commands]\nanswer_backlog = -1\n"),
               Catch::StartsWith("meshbot.toml:2:18: commands.answer_backlog: expected a number "
                                 "of seconds of at least 1 and below 86400, or 0"));
    CHECK(parse("[commands]\nanswer_backlog = 0\n").config.commands.answer_backlog == Seconds{0});
    CHECK_THAT(error_of("[radio]\nsilence_multiple = 1\n"),
               Catch::StartsWith("meshbot.toml:2:20: radio.silence_multiple: expected a number "
                                 "greater than 1"));
    CHECK_THAT(error_of("[radio]\nheartbeat_interval = 900\n"),
               Catch::Contains("radio.heartbeat_interval: expected a number of seconds of at "
                               "least 1 and below 900"));
    CHECK_THAT(error_of("[radio]\ndedupe_window = nan\n"),
               Catch::Contains("radio.dedupe_window: ") && Catch::Contains("got float nan"));
    CHECK_THAT(error_of("[radio]\noutbox_capacity = 0\n"),
               Catch::Contains("radio.outbox_capacity: expected an integer of at least 1"));
    CHECK_THAT(error_of("[log]\nlevel = \"verbose\"\n"),
               Catch::StartsWith("meshbot.toml:2:9: log.level: expected one of \"trace\""));
}

TEST_CASE("Tiny durations are refused with their position", "[config][durations]") {
    // Each of these once passed: backoff_initial = backoff_max = 1e-9 made tens of thousands
    // of connection attempts in seconds.
    struct Case {
        std::string section, key, value;
    };
    const std::vector<Case> cases = {
        {"radio", "connect_timeout", "1e-9"},     {"radio", "handshake_timeout", "1e-9"},
        {"radio", "heartbeat_interval", "0.001"}, {"radio", "backoff_initial", "1e-9"},
        {"radio", "backoff_max", "1e-9"},         {"radio", "backoff_reset_after", "1e-9"},
        {"radio", "dedupe_window", "1e-9"},       {"radio", "telemetry_gap", "1e-9"},
        {"radio", "traceroute_gap", "1e-9"},      {"radio", "outbox_expiry", "1e-9"},
        {"commands", "rate_window", "1e-9"},      {"commands", "answer_backlog", "1e-9"},
        {"keys", "check_interval", "0.5"},        {"plugins", "callback_budget", "1e-9"},
        {"plugins", "fault_window", "0.5"},       {"plugins", "callback_timeout", "0.01"},
    };
    for (const auto& c : cases) {
        INFO(c.section << "." << c.key << " = " << c.value);
        const std::string column = std::to_string(c.key.size() + 4);
        CHECK_THAT(error_of("[" + c.section + "]\n" + c.key + " = " + c.value + "\n"),
                   Catch::StartsWith("meshbot.toml:2:" + column + ": " + c.section + "." + c.key +
                                     ": expected a number of seconds"));
    }
    // Both ends of the backoff tiny at once: each is refused on its own line.
    const auto both = error_of("[radio]\nbackoff_initial = 1e-9\nbackoff_max = 1e-9\n");
    CHECK_THAT(both, Catch::Contains("meshbot.toml:2:19: radio.backoff_initial: ") &&
                         Catch::Contains("meshbot.toml:3:15: radio.backoff_max: "));
    // Absurdly long timeouts are refused too.
    CHECK_THAT(error_of("[radio]\nhandshake_timeout = 86400\n"),
               Catch::StartsWith("meshbot.toml:2:21: radio.handshake_timeout: expected a number "
                                 "of seconds"));
    // 0 still turns the firmware pacing off.
    CHECK(parse("[radio]\ntelemetry_gap = 0\n").config.radio.telemetry_gap == Seconds{0});
}

TEST_CASE("A text_gap below 2 seconds is rejected, naming the key", "[config]") {
    CHECK(error_of("[radio]\ntext_gap = 1\n") ==
          "meshbot.toml:2:12: radio.text_gap: expected a number of seconds of at least 2 (the "
          "firmware drops faster texts), got integer 1");
    CHECK_THAT(error_of("[radio]\ntext_gap = 1.99\n"), Catch::Contains("radio.text_gap: "));
    CHECK(parse("[radio]\ntext_gap = 2\n").config.radio.text_gap == Seconds{2});
}

TEST_CASE("Keys that contradict each other are rejected", "[config]") {
    CHECK(error_of("[radio]\nbackoff_initial = 10\nbackoff_max = 5\n") ==
          "meshbot.toml:3:15: radio.backoff_max: must be at least radio.backoff_initial (10 s), "
          "got integer 5");
    CHECK(error_of("[radio]\nbackoff_initial = 100\n") ==
          "meshbot.toml:2:19: radio.backoff_initial: must not exceed radio.backoff_max (60 s, the "
          "default), got integer 100");
    CHECK(error_of("[radio]\nhost = \"\"\n") ==
          "meshbot.toml:2:8: radio.host: must not be empty when radio.transport is \"tcp\"");
    CHECK_THAT(error_of("[radio]\ntransport = \"serial\"\ndevice = \"\"\n"),
               Catch::StartsWith("meshbot.toml:3:10: radio.device: must not be empty"));
    // An empty host does not matter on serial, and serial without a device uses the default.
    const auto serial = parse("[radio]\ntransport = \"serial\"\nhost = \"\"\n").config.radio;
    CHECK(serial.device == "/dev/ttyUSB0");
}

TEST_CASE("Every invalid value is reported at once, in file order", "[config]") {
    CHECK(error_of("[radio]\ntext_gap = 1\nport = \"x\"\n\n[log]\nlevel = 3\n") ==
          "meshbot.toml:2:12: radio.text_gap: expected a number of seconds of at least 2 (the "
          "firmware drops faster texts), got integer 1\n"
          "meshbot.toml:3:8: radio.port: expected an integer from 1 to 65535, got string \"x\"\n"
          "meshbot.toml:6:9: log.level: expected one of \"trace\", \"debug\", \"info\", \"warn\", "
          "\"error\", \"critical\", \"off\", got integer 3");
}

TEST_CASE("An unknown key is a warning with its position and a suggestion", "[config]") {
    const auto result = parse("[radio]\nport = 4403\n\n\n\n\nhots = \"radio.local\"\n");
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0] ==
          "meshbot.toml:7:1: unknown key 'radio.hots' (did you mean 'host'?)");
    CHECK(result.config.radio.host == "127.0.0.1");

    // TOML keys are case-sensitive, so a capital letter is a typo worth pointing at.
    CHECK(parse("[radio]\nPort = 1\n").warnings.at(0) ==
          "meshbot.toml:2:1: unknown key 'radio.Port' (did you mean 'port'?)");
}

TEST_CASE("Unknown keys and tables are all warned about, in file order", "[config]") {
    const auto result = parse(R"([radoi]
port = 1
[radio]
level = "debug"
completely_unrelated = 1
[radio.extra]
x = 1
)");
    REQUIRE(result.warnings.size() == 4);
    CHECK(result.warnings[0] == "meshbot.toml:1:1: unknown table 'radoi' (did you mean 'radio'?)");
    CHECK(result.warnings[1] ==
          "meshbot.toml:4:1: unknown key 'radio.level' (did you mean 'log.level'?)");
    CHECK(result.warnings[2] == "meshbot.toml:5:1: unknown key 'radio.completely_unrelated'");
    CHECK(result.warnings[3] == "meshbot.toml:6:1: unknown table 'radio.extra'");
}

TEST_CASE("A key outside its section or cut short points at the key that was meant", "[config]") {
    const auto result = parse("transport = \"serial\"\n[radio]\nheartbeat = 30\n");
    REQUIRE(result.warnings.size() == 2);
    CHECK(result.warnings[0] ==
          "meshbot.toml:1:1: unknown key 'transport' (did you mean 'radio.transport'?)");
    CHECK(result.warnings[1] ==
          "meshbot.toml:3:1: unknown key 'radio.heartbeat' (did you mean 'heartbeat_interval'?)");
    CHECK(result.config.radio.transport == Transport::tcp);
}

TEST_CASE("A missing config file is a one-line error naming the path", "[config]") {
    const std::filesystem::path missing = "/nonexistent/meshbot.toml";
    try {
        (void)meshbot::config::load_config(missing);
        FAIL("load_config did not throw");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) ==
              "cannot read config file '/nonexistent/meshbot.toml': No such file or directory");
    }
}

TEST_CASE("A directory given as config file is a one-line error", "[config]") {
    CHECK_THROWS_WITH(meshbot::config::load_config("/"),
                      "cannot read config file '/': Is a directory");
}

TEST_CASE("Errors from a loaded file carry its path", "[config]") {
    // Per process, so that parallel test runs do not share the file.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("meshbot_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "bad.toml";
    {
        std::ofstream out(file);
        out << "[radio]\nport = 70000\n";
    }
    try {
        (void)meshbot::config::load_config(file);
        FAIL("load_config did not throw");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == file.string() +
                                           ":2:8: radio.port: expected an integer from 1 to "
                                           "65535, got integer 70000");
    }
    std::filesystem::remove_all(dir);
}

// --- [bot], [commands], [plugins] ----------------------------------------------------------

TEST_CASE("The bot, commands and plugins keys are read into the settings", "[config]") {
    const auto result = parse(R"(
[bot]
data_dir = "/var/lib/meshbot"

[commands]
prefix = "!bot"
dm = false
channels = [0, 3, 7, 3]
rate_limit = 2
rate_window = 30.5
answer_backlog = 300
reply_max_bytes = 50
admins = ["!0badc0de", "0xDEADBEEF", 42]

[plugins]
dirs = ["/usr/lib/meshbot/plugins", "/opt/meshbot"]
enabled = ["echo", "weather_2", "a-b"]
callback_budget = 0.2
max_faults = 1
)");
    CHECK(result.warnings.empty());
    CHECK(result.config.bot.data_dir == "/var/lib/meshbot");
    const auto& c = result.config.commands;
    CHECK(c.prefix == "!bot");
    CHECK_FALSE(c.dm);
    CHECK(c.channels == std::vector<unsigned>{0, 3, 7});  // a repeated entry counts once
    CHECK(c.rate_limit == 2);
    CHECK(c.rate_window == Seconds{30.5});
    CHECK(c.answer_backlog == Seconds{300});
    CHECK(c.reply_max_bytes == 50);
    CHECK(c.admins == std::vector<std::uint32_t>{0x0badc0de, 0xdeadbeef, 42});
    const auto& p = result.config.plugins;
    CHECK(p.dirs == std::vector<std::filesystem::path>{"/usr/lib/meshbot/plugins", "/opt/meshbot"});
    CHECK(p.enabled == std::vector<std::string>{"echo", "weather_2", "a-b"});
    CHECK(p.callback_budget == Seconds{0.2});
    CHECK(p.max_faults == 1);
    CHECK(p.settings.empty());

    // Empty lists are meaningful: no channel commands, and no plugin at all.
    const auto empty = parse("[commands]\nchannels = []\n[plugins]\nenabled = []\n").config;
    CHECK(empty.commands.channels.empty());
    REQUIRE(empty.plugins.enabled.has_value());
    CHECK(empty.plugins.enabled->empty());
}

TEST_CASE("Relative paths are relative to the config file's folder", "[config]") {
    const auto etc = parse_config(
        "[bot]\ndata_dir = \"state\"\n[plugins]\ndirs = [\"plugins\", \"../lib\", \"/opt/p\"]\n",
        "/etc/meshbot/meshbot.toml");
    CHECK(etc.config.bot.data_dir == "/etc/meshbot/state");
    CHECK(etc.config.plugins.dirs == std::vector<std::filesystem::path>{
                                         "/etc/meshbot/plugins", "/etc/meshbot/../lib", "/opt/p"});
    // The default data_dir is relative too, and moves with the file.
    CHECK(parse_config("", "/etc/meshbot/meshbot.toml").config.bot.data_dir == "/etc/meshbot/data");
    CHECK(parse_config("", "conf/meshbot.toml").config.bot.data_dir == "conf/data");
    // A source name without a folder leaves relative paths as they are.
    CHECK(parse("[bot]\ndata_dir = \"state\"\n").config.bot.data_dir == "state");
    CHECK(parse("[bot]\ndata_dir = \"/srv/bot\"\n").config.bot.data_dir == "/srv/bot");

    // A loaded file's folder is made absolute, so a later chdir cannot move the data.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("meshbot_config_paths_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "meshbot.toml";
    {
        std::ofstream out(file);
        out << "[plugins]\ndirs = [\"plugins\"]\n";
    }
    const auto loaded = meshbot::config::load_config(file).config;
    CHECK(loaded.bot.data_dir == dir / "data");
    CHECK(loaded.plugins.dirs == std::vector<std::filesystem::path>{dir / "plugins"});
    std::filesystem::remove_all(dir);
}

TEST_CASE("Admins are node ids in any of the usual spellings", "[config]") {
    const auto result = parse(R"([commands]
admins = ["!0badc0de", "!0BADC0DE", "0x0badc0de", "0Xbadc0de", 195936478, 0x0badc0de,
          "!deadbeef", 1, 4294967294])");
    CHECK(result.config.commands.admins ==
          std::vector<std::uint32_t>{0x0badc0de, 0xdeadbeef, 1, 0xfffffffe});
}

TEST_CASE("A bad [bot] or [commands] value names position, key and what was expected", "[config]") {
    CHECK(error_of("[bot]\ndata_dir = 5\n") ==
          "meshbot.toml:2:12: bot.data_dir: expected a non-empty path, got integer 5");
    CHECK(error_of("[bot]\ndata_dir = \"\"\n") ==
          "meshbot.toml:2:12: bot.data_dir: expected a non-empty path, got string \"\"");

    CHECK(error_of("[commands]\nprefix = 1\n") ==
          "meshbot.toml:2:10: commands.prefix: expected a string, got integer 1");
    CHECK(error_of("[commands]\nprefix = \"\"\n") ==
          "meshbot.toml:2:10: commands.prefix: expected 1 to 4 bytes without whitespace, got "
          "string \"\"");
    CHECK(error_of("[commands]\nprefix = \"!bot!\"\n") ==
          "meshbot.toml:2:10: commands.prefix: expected 1 to 4 bytes without whitespace, got "
          "string \"!bot!\"");
    CHECK(error_of("[commands]\nprefix = \"! \"\n") ==
          "meshbot.toml:2:10: commands.prefix: expected 1 to 4 bytes without whitespace, got "
          "string \"! \"");
    // Control characters are escaped in the message, which stays on one line.
    CHECK(error_of("[commands]\nprefix = \"\\t\"\n") ==
          "meshbot.toml:2:10: commands.prefix: expected 1 to 4 bytes without whitespace, got "
          "string \"\\t\"");
    CHECK_THAT(error_of("[commands]\nprefix = \"\\u00a0\"\n"),  // no-break space
               Catch::Contains("commands.prefix: expected 1 to 4 bytes without whitespace"));
    CHECK_THAT(error_of("[commands]\nprefix = \"\\u3000\"\n"),  // ideographic space
               Catch::Contains("commands.prefix: expected 1 to 4 bytes without whitespace"));
    CHECK(parse("[commands]\nprefix = \"\\u00a1\"\n").config.commands.prefix == "\u00a1");
    CHECK(parse("[commands]\nprefix = \"\\U0001F916\"\n").config.commands.prefix ==
          "\U0001F916");  // 4 bytes

    CHECK(error_of("[commands]\ndm = \"yes\"\n") ==
          "meshbot.toml:2:6: commands.dm: expected true or false, got string \"yes\"");
    CHECK(error_of("[commands]\nchannels = 1\n") ==
          "meshbot.toml:2:12: commands.channels: expected an array of channel indexes (integers "
          "from 0 to 7), got integer 1");
    CHECK(error_of("[commands]\nchannels = [0, 8, \"1\"]\n") ==
          "meshbot.toml:2:16: commands.channels[1]: expected an integer from 0 to 7, got integer "
          "8\n"
          "meshbot.toml:2:19: commands.channels[2]: expected an integer from 0 to 7, got string "
          "\"1\"");
    CHECK(error_of("[commands]\nrate_limit = 0\n") ==
          "meshbot.toml:2:14: commands.rate_limit: expected an integer of at least 1, got integer "
          "0");
    CHECK(error_of("[commands]\nrate_window = 0\n") ==
          "meshbot.toml:2:15: commands.rate_window: expected a number of seconds of at least 1, "
          "got integer 0");
    CHECK(error_of("[commands]\nreply_max_bytes = 201\n") ==
          "meshbot.toml:2:19: commands.reply_max_bytes: expected an integer from 50 to 200 (an "
          "encrypted DM holds 200 bytes of text plus the part numbering), got integer 201");
    CHECK_THAT(error_of("[commands]\nreply_max_bytes = 49\n"),
               Catch::Contains("commands.reply_max_bytes: expected an integer from 50 to 200"));
    CHECK(parse("[commands]\nreply_max_bytes = 200\n").config.commands.reply_max_bytes == 200);
}

TEST_CASE("A bad admin entry is named by its position in the list", "[config]") {
    CHECK(error_of("[commands]\nadmins = \"!0badc0de\"\n") ==
          "meshbot.toml:2:10: commands.admins: expected an array of node ids, got string "
          "\"!0badc0de\"");
    const std::string expected =
        R"(expected a node id such as "!0badc0de", "0x0badc0de" or 195936478, got )";
    CHECK(error_of(R"([commands]
admins = [
  "!0badc0de",
  "!0bad",
  "0x",
  1.5,
  -1,
  4294967296,
  "0x123456789",
  "0badc0de",
  "!ffffffff",
  0,
  "!0badc0dg",
]
)") == "meshbot.toml:4:3: commands.admins[1]: " + expected + "string \"!0bad\"\n" +
              "meshbot.toml:5:3: commands.admins[2]: " + expected + "string \"0x\"\n" +
              "meshbot.toml:6:3: commands.admins[3]: " + expected + "float 1.5\n" +
              "meshbot.toml:7:3: commands.admins[4]: " + expected + "integer -1\n" +
              "meshbot.toml:8:3: commands.admins[5]: " + expected + "integer 4294967296\n" +
              "meshbot.toml:9:3: commands.admins[6]: " + expected + "string \"0x123456789\"\n" +
              "meshbot.toml:10:3: commands.admins[7]: " + expected + "string \"0badc0de\"\n" +
              "meshbot.toml:11:3: commands.admins[8]: expected a node id, got string "
              "\"!ffffffff\" (the broadcast address)\n"
              "meshbot.toml:12:3: commands.admins[9]: expected a node id, got integer 0 (no node "
              "has number 0)\n"
              "meshbot.toml:13:3: commands.admins[10]: " +
              expected + "string \"!0badc0dg\"");
}

TEST_CASE("A bad [plugins] value names position, key and what was expected", "[config]") {
    CHECK(error_of("[plugins]\ndirs = \"plugins\"\n") ==
          "meshbot.toml:2:8: plugins.dirs: expected an array of paths, got string \"plugins\"");
    CHECK(error_of("[plugins]\ndirs = [\"a\", 3, \"\"]\n") ==
          "meshbot.toml:2:14: plugins.dirs[1]: expected a non-empty path, got integer 3\n"
          "meshbot.toml:2:17: plugins.dirs[2]: expected a non-empty path, got string \"\"");
    CHECK(error_of("[plugins]\nenabled = \"echo\"\n") ==
          "meshbot.toml:2:11: plugins.enabled: expected an array of plugin ids, got string "
          "\"echo\"");
    CHECK(error_of("[plugins]\nenabled = [\"echo\", \"Echo\"]\n") ==
          "meshbot.toml:2:20: plugins.enabled[1]: expected a plugin id (lowercase letters, "
          "digits, '_' and '-'), got string \"Echo\"");
    CHECK(error_of("[plugins]\ncallback_budget = 0\n") ==
          "meshbot.toml:2:19: plugins.callback_budget: expected a number of seconds of at least "
          "0.001 (a smaller budget would log every callback), got integer 0");
    CHECK(error_of("[plugins]\nmax_faults = 0\n") ==
          "meshbot.toml:2:14: plugins.max_faults: expected an integer of at least 1, got integer "
          "0");
    CHECK(error_of("plugins = []\n") ==
          "meshbot.toml:1:11: plugins: expected a table, got an array");
}

TEST_CASE("Every other key under [plugins] must be a table named by a plugin id", "[config]") {
    // A misspelt [plugins] key is an error, not a warning: the name would be taken for a plugin.
    CHECK(error_of("[plugins]\ndir = \"/x\"\n") ==
          "meshbot.toml:2:7: plugins.dir: expected a table [plugins.dir] of plugin settings, got "
          "string \"/x\" (did you mean 'dirs'?)");
    CHECK(error_of("[plugins]\necho = false\n") ==
          "meshbot.toml:2:8: plugins.echo: expected a table [plugins.echo] of plugin settings, "
          "got boolean false (to switch a plugin on or off, write enabled = false under "
          "[plugins.echo])");
    CHECK(error_of("[plugins]\nweather = 3\n") ==
          "meshbot.toml:2:11: plugins.weather: expected a table [plugins.weather] of plugin "
          "settings, got integer 3");
    CHECK_THAT(error_of("[[plugins.echo]]\nchannel = 1\n"),
               Catch::Contains("plugins.echo: expected a table [plugins.echo] of plugin "
                               "settings, got an array"));
    CHECK(error_of("[plugins.Echo]\nchannel = 1\n") ==
          "meshbot.toml:1:1: plugins.Echo: not a plugin id (ids use lowercase letters, digits, "
          "'_' and '-')");
    CHECK(error_of("\n[plugins.\"my plugin\"]\n") ==
          "meshbot.toml:2:1: plugins.\"my plugin\": not a plugin id (ids use lowercase letters, "
          "digits, '_' and '-')");
    CHECK(error_of("[plugins.echo]\nenabled = \"yes\"\ngrant_network = 1\n") ==
          "meshbot.toml:2:11: plugins.echo.enabled: expected true or false, got string \"yes\"\n"
          "meshbot.toml:3:17: plugins.echo.grant_network: expected true or false, got integer 1");
}

TEST_CASE("A plugin's table is kept whole as TOML, with its own keys unchecked", "[config]") {
    const auto result = parse(R"([plugins]
enabled = ["echo"]

[plugins.echo]
enabled = true
grant_network = false
channel = 2
mode = "broadcast"
ratio = 0.1
words = ["a", "b c"]

[plugins.echo.limits]
per_hour = 10

[plugins.weather]

[plugins.monitor.thresholds]
cpu = 90
)");
    CHECK(result.warnings.empty());  // channel, mode, ... belong to the plugin
    const auto& settings = result.config.plugins.settings;
    REQUIRE(settings.size() == 3);

    const auto& echo = settings.at("echo");
    CHECK(echo.enabled == true);
    CHECK(echo.grant_network == false);
    CHECK(echo.where == "meshbot.toml:4:1");
    const toml::table table = toml::parse(echo.table_toml);
    CHECK(table["channel"].value<int>() == 2);
    CHECK(table["mode"].value<std::string>() == "broadcast");
    CHECK(table["ratio"].value<double>() == 0.1);
    CHECK(table["words"][1].value<std::string>() == "b c");
    CHECK(table["limits"]["per_hour"].value<int>() == 10);
    CHECK(table["enabled"].value<bool>() == true);

    const auto& weather = settings.at("weather");
    CHECK_FALSE(weather.enabled.has_value());
    CHECK_FALSE(weather.grant_network.has_value());
    CHECK(weather.table_toml.empty());
    CHECK(weather.where == "meshbot.toml:15:1");

    // A table only named by a deeper header still belongs to its plugin.
    const auto& monitor = settings.at("monitor");
    CHECK(toml::parse(monitor.table_toml)["thresholds"]["cpu"].value<int>() == 90);
    CHECK(monitor.where == "meshbot.toml:17:1");

    // An inline table works the same.
    const auto inline_table = parse("[plugins]\necho = { channel = 3, enabled = false }\n");
    const auto& inline_echo = inline_table.config.plugins.settings.at("echo");
    CHECK(inline_echo.enabled == false);
    CHECK(toml::parse(inline_echo.table_toml)["channel"].value<int>() == 3);
    CHECK(inline_echo.where == "meshbot.toml:2:8");
}

TEST_CASE("Unknown keys in [bot] and [commands] are warnings with a suggestion", "[config]") {
    const auto result = parse(R"([bot]
datadir = "x"
[commands]
rate_limt = 3
admin = [1]
[plugins.echo]
channel = 1
)");
    REQUIRE(result.warnings.size() == 3);
    CHECK(result.warnings[0] ==
          "meshbot.toml:2:1: unknown key 'bot.datadir' (did you mean 'data_dir'?)");
    CHECK(result.warnings[1] ==
          "meshbot.toml:4:1: unknown key 'commands.rate_limt' (did you mean 'rate_limit'?)");
    CHECK(result.warnings[2] ==
          "meshbot.toml:5:1: unknown key 'commands.admin' (did you mean 'admins'?)");
    CHECK(result.config.bot.data_dir == "data");
    CHECK(result.config.commands.rate_limit == 5);
}

TEST_CASE("Errors from every section are reported together, in file order", "[config]") {
    CHECK(error_of("[plugins]\nmax_faults = 0\n[commands]\nrate_limit = 0\n[radio]\nport = 0\n") ==
          "meshbot.toml:2:14: plugins.max_faults: expected an integer of at least 1, got integer "
          "0\n"
          "meshbot.toml:4:14: commands.rate_limit: expected an integer of at least 1, got "
          "integer 0\n"
          "meshbot.toml:6:8: radio.port: expected an integer from 1 to 65535, got integer 0");
}
