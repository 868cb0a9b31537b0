// The monitor plugin's /proc and /sys reader, against fake roots: every figure that is there is
// read, every one that is not reads n/a, and nothing throws.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "monitor/host_metrics.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A scratch folder for one test case, removed afterwards.
struct Scratch {
    fs::path path;
    Scratch() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("monitor-unit-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~Scratch() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    void write(const std::string& name, const std::string& content) const {
        fs::create_directories((path / name).parent_path());
        std::ofstream(path / name) << content;
    }
};

}  // namespace

TEST_CASE("parsers read the kernel's formats", "[monitor][host_metrics]") {
    const std::string meminfo =
        "MemTotal:        3884436 kB\nMemFree:          123456 kB\n"
        "MemAvailable:    2000000 kB\nBuffers:           1000 kB\n";
    CHECK(monitor::parse_meminfo_kb(meminfo, "MemTotal") == 3884436u);
    CHECK(monitor::parse_meminfo_kb(meminfo, "MemAvailable") == 2000000u);
    CHECK_FALSE(monitor::parse_meminfo_kb(meminfo, "Mem"));  // a prefix of a key is not a key
    CHECK_FALSE(monitor::parse_meminfo_kb("MemTotal: lots\n", "MemTotal"));

    CHECK(monitor::parse_status_kb("Name:\tmeshbot\nVmRSS:\t    9216 kB\nThreads:\t5\n", "VmRSS") ==
          9216u);
    CHECK(monitor::parse_first_double("41234\n") == 41234.0);
    CHECK(monitor::parse_first_double("12345.67 54321.00\n") == 12345.67);
    CHECK_FALSE(monitor::parse_first_double(""));

    // utime = 120, stime = 30; the comm field holds a space and a ')'.
    const std::string stat =
        "4242 (mesh bot) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 120 30 0 0 20 0 5 0 100 "
        "123456789 2304 18446744073709551615";
    CHECK(monitor::parse_stat_cpu_ticks(stat) == 150u);
    CHECK_FALSE(monitor::parse_stat_cpu_ticks("4242 (short) S 1 2"));
    CHECK_FALSE(monitor::parse_stat_cpu_ticks("no parenthesis at all"));
}

TEST_CASE("a fake /proc and /sys are read in full", "[monitor][host_metrics]") {
    Scratch root;
    root.write("proc/loadavg", "0.52 0.41 0.30 1/123 4567\n");
    root.write("proc/meminfo", "MemTotal: 1000000 kB\nMemAvailable: 250000 kB\n");
    root.write("proc/uptime", "273600.50 1000000.00\n");
    root.write("proc/self/status", "VmRSS:\t 10240 kB\nThreads:\t7\n");
    root.write("proc/self/stat", "1 (meshbot) S 1 1 1 0 -1 0 0 0 0 0 200 100 0 0 20 0 7 0 1\n");
    // Three zones: a real one, a hotter one, and one without a sensor (must not count).
    root.write("sys/class/thermal/thermal_zone0/temp", "41234\n");
    root.write("sys/class/thermal/thermal_zone1/temp", "55000\n");
    root.write("sys/class/thermal/thermal_zone2/temp", "-273000\n");
    root.write("sys/class/thermal/cooling_device0/temp", "99000\n");

    const auto s = monitor::read_host_sample(
        {(root.path / "proc").string(), (root.path / "sys").string()}, root.path.string());
    CHECK(s.cpu_temp_c == Approx(55.0));
    CHECK(s.load1 == Approx(0.52));
    CHECK(s.load15 == Approx(0.30));
    CHECK(s.host_uptime_s == Approx(273600.5));
    CHECK(s.bot_rss_kb == 10240u);
    CHECK(s.bot_threads == 7u);
    CHECK(s.bot_cpu_ticks == 300u);
    REQUIRE(s.disk_free_bytes);
    REQUIRE(s.disk_total_bytes);

    const auto f = monitor::HostFigures::derive(s, 12.5);
    CHECK(f.mem_used_pct == Approx(75.0));
    CHECK(f.mem_used_kb == 750000u);
    REQUIRE(f.disk_free_pct);
    CHECK(*f.disk_free_pct >= 0.0);
    CHECK(*f.disk_free_pct <= 100.0);
    CHECK(f.bot_cpu_pct == 12.5);
}

TEST_CASE("empty roots give n/a for every figure, without throwing", "[monitor][host_metrics]") {
    Scratch root;
    const auto s = monitor::read_host_sample(
        {(root.path / "proc").string(), (root.path / "sys").string()}, "");
    CHECK_FALSE(s.cpu_temp_c);
    CHECK_FALSE(s.load1);
    CHECK_FALSE(s.mem_total_kb);
    CHECK_FALSE(s.host_uptime_s);
    CHECK_FALSE(s.bot_rss_kb);
    CHECK_FALSE(s.bot_cpu_ticks);
    CHECK_FALSE(s.disk_free_bytes);
    const auto f = monitor::HostFigures::derive(s, std::nullopt);
    CHECK_FALSE(f.mem_used_pct);
    CHECK_FALSE(f.disk_free_pct);

    // Files that exist but hold nonsense read as n/a too.
    root.write("proc/loadavg", "busy\n");
    root.write("proc/meminfo", "MemTotal: 10 kB\nMemAvailable: 20 kB\n");  // available > total
    root.write("sys/class/thermal/thermal_zone0/temp", "hot\n");
    const auto t = monitor::read_host_sample(
        {(root.path / "proc").string(), (root.path / "sys").string()}, "/no/such/dir");
    CHECK_FALSE(t.load1);
    CHECK_FALSE(t.cpu_temp_c);
    CHECK_FALSE(t.disk_free_bytes);
    CHECK_FALSE(monitor::HostFigures::derive(t, std::nullopt).mem_used_pct);
}

TEST_CASE("the bot's CPU figure is the tick delta over real time, in percent of one core",
          "[monitor][host_metrics]") {
    const long hz = ::sysconf(_SC_CLK_TCK);
    REQUIRE(hz > 0);
    monitor::BotCpuMeter meter;
    monitor::HostSample a;
    a.bot_cpu_ticks = 1000;
    a.taken = std::chrono::steady_clock::time_point(100s);
    CHECK_FALSE(meter.update(a));  // no baseline yet

    monitor::HostSample b = a;
    b.bot_cpu_ticks = 1000 + static_cast<std::uint64_t>(hz) * 3;  // 3 s of CPU in 2 s
    b.taken = a.taken + 2s;
    CHECK(meter.update(b) == Approx(150.0));

    // A sample right after keeps the previous figure (and the baseline).
    monitor::HostSample c = b;
    c.taken = b.taken + 100ms;
    CHECK(meter.update(c) == Approx(150.0));

    monitor::HostSample d = b;
    d.taken = b.taken + 10s;  // idle for 10 s
    CHECK(meter.update(d) == Approx(0.0));

    monitor::HostSample gone;
    gone.taken = d.taken + 10s;
    CHECK_FALSE(meter.update(gone));
}
