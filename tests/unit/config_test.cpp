#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

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
    CHECK(r.replay_tail == Seconds{1.5});
    CHECK(r.dedupe_window == Seconds{600});
    CHECK(r.text_gap == Seconds{2});
    CHECK(r.outbox_capacity == 256);
    CHECK(r.outbox_expiry == Seconds{600});
    CHECK(result.config.log.level == "info");
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
replay_tail = 0
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
    CHECK(r.replay_tail == Seconds{0});
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
    CHECK(r.replay_tail == d.replay_tail);
    CHECK(r.dedupe_window == d.dedupe_window);
    CHECK(r.text_gap == d.text_gap);
    CHECK(r.outbox_capacity == d.outbox_capacity);
    CHECK(r.outbox_expiry == d.outbox_expiry);
    CHECK(result.config.log.level == defaults.log.level);
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
          "meshbot.toml:2:19: radio.connect_timeout: expected a number of seconds greater than 0, "
          "got string \"10s\"");
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
    CHECK_THAT(error_of("[radio]\nreplay_tail = -1\n"),
               Catch::StartsWith("meshbot.toml:2:15: radio.replay_tail: expected a number of "
                                 "seconds of at least 0"));
    CHECK_THAT(error_of("[radio]\nsilence_multiple = 1\n"),
               Catch::StartsWith("meshbot.toml:2:20: radio.silence_multiple: expected a number "
                                 "greater than 1"));
    CHECK_THAT(error_of("[radio]\nheartbeat_interval = 900\n"),
               Catch::Contains("radio.heartbeat_interval: expected a number of seconds greater "
                               "than 0 and below 900"));
    CHECK_THAT(error_of("[radio]\ndedupe_window = nan\n"),
               Catch::Contains("radio.dedupe_window: ") && Catch::Contains("got float nan"));
    CHECK_THAT(error_of("[radio]\noutbox_capacity = 0\n"),
               Catch::Contains("radio.outbox_capacity: expected an integer of at least 1"));
    CHECK_THAT(error_of("[log]\nlevel = \"verbose\"\n"),
               Catch::StartsWith("meshbot.toml:2:9: log.level: expected one of \"trace\""));
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

TEST_CASE("Plugin tables are accepted without a warning", "[config]") {
    const auto result = parse(R"(
[plugins]
dir = "/usr/lib/meshbot/plugins"

[plugins.echo]
enabled = true
channel = 0

[plugins.monitor.thresholds]
cpu = 90
)");
    CHECK(result.warnings.empty());
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
