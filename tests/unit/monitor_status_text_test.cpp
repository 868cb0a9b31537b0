// The monitor plugin's texts: /sys always one part of at most 200 bytes, n/a where figures are
// missing, alert messages short and cut only at UTF-8 character boundaries.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "monitor/status_text.hpp"
#include "plugin_host/utf8_chunker.hpp"

using monitor::format_duration;
using monitor::kPartBytes;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

monitor::HostFigures busy_host() {
    monitor::HostFigures h;
    h.cpu_temp_c = 141.26;
    h.load1 = 123.45;
    h.load5 = 99.99;
    h.load15 = 88.88;
    h.mem_used_pct = 99.9;
    h.mem_used_kb = 999'999'999;
    h.mem_total_kb = 1'000'000'000;
    h.disk_free_pct = 0.1;
    h.disk_free_bytes = 123'456'789'012'345;
    h.bot_rss_kb = 99'999'999;
    h.bot_threads = 12345;
    h.bot_cpu_pct = 1234.5;
    h.host_uptime_s = 99'999'999;
    return h;
}

monitor::RadioFigures busy_radio() {
    monitor::RadioFigures r;
    meshbot::Status s;
    s.link_up = true;
    s.started_at = kNow - 99'999'999;
    s.connected_since = kNow - 88'888'888;
    s.last_rx = kNow - 3;
    s.sessions = 4'000'000'000u;
    s.nodes_known = 4'000'000'000u;
    s.nodes_on_radio = 250;
    s.frames_in = 18'000'000'000'000'000'000u;
    r.status = s;
    meshbot::DeviceMetrics m;
    m.battery_level = 87;
    m.voltage = 4.1f;
    m.channel_utilization = 100.0f;
    m.air_util_tx = 12.5f;
    m.uptime_seconds = 4'000'000'000u;
    r.self_metrics = m;
    return r;
}

}  // namespace

TEST_CASE("durations read as the largest two units", "[monitor][text]") {
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(42) == "42s");
    CHECK(format_duration(300) == "5m");
    CHECK(format_duration(7200) == "2h");
    CHECK(format_duration(7500) == "2h5m");
    CHECK(format_duration(3 * 86400 + 4 * 3600 + 59) == "3d4h");
    CHECK(format_duration(-5) == "0s");
}

TEST_CASE("fit_bytes never splits a UTF-8 character, and pack_lines joins within the budget",
          "[monitor][text]") {
    const std::string emoji = "\xF0\x9F\x93\xA1";  // 📡, 4 bytes
    std::string text;
    for (int i = 0; i < 60; ++i)
        text += emoji;
    for (std::size_t max = 190; max <= 200; ++max) {
        const auto cut = monitor::fit_bytes(text, max);
        CHECK(cut.size() <= max);
        CHECK(cut.size() % 4 == 0);
        CHECK(meshbot::plugins::is_valid_utf8(cut));
    }
    const auto packed = monitor::pack_lines(
        {std::string(120, 'a'), std::string(70, 'b'), std::string(50, 'c'), std::string(300, 'd')},
        kPartBytes);
    REQUIRE(packed.size() == 3);
    CHECK(packed[0] == std::string(120, 'a') + "; " + std::string(70, 'b'));
    CHECK(packed[1] == std::string(50, 'c'));
    CHECK(packed[2] == std::string(200, 'd'));
}

TEST_CASE("/sys fits one part even with every figure at its widest", "[monitor][text]") {
    const auto line = monitor::sys_line(busy_host(), busy_radio(), kNow, {});
    INFO(line);
    CHECK(line.size() <= kPartBytes);
    CHECK_THAT(line, Catch::StartsWith("up "));
    CHECK_THAT(line, Catch::Contains("radio ok"));

    // With every alert active, the alert names are kept and the line still fits.
    std::vector<std::string_view> all;
    for (const auto& m : monitor::kMetrics)
        all.push_back(m.name);
    const auto alerting = monitor::sys_line(busy_host(), busy_radio(), kNow, all);
    INFO(alerting);
    CHECK(alerting.size() <= kPartBytes);
    CHECK_THAT(alerting, Catch::EndsWith("link_down"));
}

TEST_CASE("/sys of an ordinary machine reads like the original", "[monitor][text]") {
    monitor::HostFigures h;
    h.host_uptime_s = 3 * 86400 + 4 * 3600;
    h.cpu_temp_c = 41.2;
    h.load1 = 0.3;
    h.mem_used_pct = 38;
    h.disk_free_pct = 71;
    h.bot_rss_kb = 9 * 1024;
    h.bot_cpu_pct = 1.2;
    monitor::RadioFigures r;
    meshbot::Status s;
    s.link_up = true;
    s.started_at = kNow - 7200;
    s.connected_since = kNow - 7200;
    s.sessions = 1;
    s.nodes_known = 12;
    r.status = s;
    r.self_metrics = meshbot::DeviceMetrics{87, 4.0f, 12.0f, 1.0f, 1000};
    CHECK(monitor::sys_line(h, r, kNow, {}) ==
          "up 3d4h cpu 41C load 0.30 mem 38% disk 71% free; bot 2h 9.0M 1%; radio ok 2h, 12 "
          "nodes, bat 87%, ch 12%");
}

TEST_CASE("a radio link that is down says so, and for how long", "[monitor][text]") {
    monitor::RadioFigures r;
    r.status = meshbot::Status{};
    r.status->nodes_known = 3;
    r.down_for = 300;
    CHECK_THAT(monitor::sys_line({}, r, kNow, {}), Catch::EndsWith("; radio DOWN 5m, 3 nodes"));
    CHECK_THAT(monitor::status_report({}, r, kNow, {}, {}), Catch::Contains("\nradio: DOWN 5m, "));
}

TEST_CASE("with nothing known, /sys and /status say n/a", "[monitor][text]") {
    const auto line = monitor::sys_line({}, {}, kNow, {});
    CHECK(line == "up n/a cpu n/a load n/a mem n/a disk n/a; bot n/a n/a n/a; radio n/a");
    const auto report = monitor::status_report({}, {}, kNow, {}, {});
    CHECK_THAT(report, Catch::Contains("host: up n/a, cpu n/a"));
    CHECK_THAT(report, Catch::Contains("radio: n/a"));
    CHECK(meshbot::plugins::is_valid_utf8(report));
}

TEST_CASE("/status covers host, bot, radio, keys, nodes, alerts and watched nodes",
          "[monitor][text]") {
    auto radio = busy_radio();
    radio.status->keys_pushed = 4;
    monitor::ThresholdLine temp{&monitor::info(monitor::Metric::cpu_temp), monitor::Level::critical,
                                70.0};
    monitor::ThresholdLine load{&monitor::info(monitor::Metric::load), monitor::Level::ok, 0.5};
    monitor::WatchLine n2{"N002", "!10000002", {0x10000002, kNow - 1200, true, true, 12u}};
    monitor::WatchLine n3{"N003", "!10000003", {0x10000003, kNow - 30, true, false, {}}};
    const auto report = monitor::status_report(busy_host(), radio, kNow, {temp, load}, {n2, n3});
    for (const char* part :
         {"host: ", "\nbot: ", "\nradio: up", "\nkeys: ", "4 pushed",
          "\nnodes: ", "\nown node: bat 87%", "\nalerts: cpu_temp critical 70.0C (2 checked)",
          "\nwatch: N002 OFFLINE 20m ago; N003 30s ago"}) {
        CHECK_THAT(report, Catch::Contains(part));
    }
}

TEST_CASE("alert messages are short and say what happened", "[monitor][text]") {
    const auto& temp = monitor::info(monitor::Metric::cpu_temp);
    monitor::ThresholdSpec spec;
    spec.enabled = true;
    spec.warn = 60;
    spec.critical = 68;
    using Kind = monitor::ThresholdEvent::Kind;
    CHECK(
        monitor::threshold_message(temp, spec, {Kind::warning, 61.25, std::chrono::seconds(300)}) ==
        "WARNING cpu temp 61.2C (>= 60.0C for 5m)");
    CHECK(monitor::threshold_message(temp, spec, {Kind::critical, 70, {}}) ==
          "CRITICAL cpu temp 70.0C (>= 68.0C)");
    CHECK(monitor::threshold_message(temp, spec, {Kind::recovered, 50, {}}) ==
          "OK cpu temp back to 50.0C");

    const auto& link = monitor::info(monitor::Metric::link_down);
    spec.warn = 120;
    CHECK(monitor::threshold_message(link, spec, {Kind::warning, 185, {}}) ==
          "WARNING radio link down 3m (>= 2m)");
    CHECK(monitor::threshold_message(link, spec, {Kind::recovered, 0, {}}) ==
          "OK radio link up again");

    using W = monitor::WatchEvent;
    CHECK(monitor::watch_message({W::Kind::offline, 0x10000002, 960, 0, 0}, "N002", "!10000002",
                                 900) == "N002 !10000002 offline: not heard for 16m (limit 15m)");
    CHECK(monitor::watch_message({W::Kind::back_online, 0x10000002, 1200, 0, 0}, "N002",
                                 "!10000002",
                                 900) == "N002 !10000002 back online after 20m silent");
    CHECK(monitor::watch_message({W::Kind::rebooted, 0x10000002, 0, 12, 7200}, "N002", "!10000002",
                                 900) == "N002 !10000002 rebooted: uptime 12s, was 2h");
}
