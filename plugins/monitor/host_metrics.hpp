#pragma once
// Health of the machine the bot runs on, read from /proc and /sys (roots configurable so a test
// can point them at a folder of its own). Each figure is optional: a file that is missing or
// unreadable gives "n/a", never an error and never an alert.
//
// read_host_sample() does file I/O and runs on a post_work worker thread; it shares nothing.
// HostFigures::derive() and BotCpuMeter run on the event loop.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace monitor {

struct HostRoots {
    std::string proc = "/proc";
    std::string sys = "/sys";
};

// Raw readings, as the kernel gives them.
struct HostSample {
    std::optional<double> cpu_temp_c;  // the hottest thermal zone
    std::optional<double> load1, load5, load15;
    std::optional<std::uint64_t> mem_total_kb, mem_available_kb;
    std::optional<std::uint64_t> disk_free_bytes, disk_total_bytes;  // of the data directory
    std::optional<std::uint64_t> bot_rss_kb;
    std::optional<std::uint32_t> bot_threads;
    std::optional<std::uint64_t> bot_cpu_ticks;  // utime + stime of this process
    std::optional<double> host_uptime_s;
    std::chrono::steady_clock::time_point taken{};
};

// Reads everything it can. Never throws (a failure of one figure leaves it empty).
HostSample read_host_sample(const HostRoots& roots, const std::string& data_dir) noexcept;

// The bot's CPU use between two samples, in percent of one core (so above 100 on a busy
// multi-core machine, as the original bot's 150 % critical level assumes). Event loop only.
class BotCpuMeter {
public:
    // nullopt for the first sample, or when the process figures are missing; a sample less
    // than a second after the previous one gives the previous figure.
    std::optional<double> update(const HostSample& sample);

private:
    std::optional<std::uint64_t> last_ticks_;
    std::optional<double> last_pct_;
    std::chrono::steady_clock::time_point last_taken_{};
};

// What the monitor shows and judges, derived from one sample.
struct HostFigures {
    std::optional<double> cpu_temp_c;
    std::optional<double> load1, load5, load15;
    std::optional<double> mem_used_pct;
    std::optional<std::uint64_t> mem_used_kb, mem_total_kb;
    std::optional<double> disk_free_pct;
    std::optional<std::uint64_t> disk_free_bytes;
    std::optional<std::uint64_t> bot_rss_kb;
    std::optional<std::uint32_t> bot_threads;
    std::optional<double> bot_cpu_pct;
    std::optional<double> host_uptime_s;

    static HostFigures derive(const HostSample& sample, std::optional<double> bot_cpu_pct);
};

// Parsers, exposed for the unit tests. Each returns nullopt on malformed input.
std::optional<double> parse_first_double(const std::string& text);
std::optional<std::uint64_t> parse_meminfo_kb(const std::string& meminfo, const std::string& key);
std::optional<std::uint64_t> parse_status_kb(const std::string& status, const std::string& key);
// utime + stime (clock ticks) from /proc/<pid>/stat, whose comm field may hold spaces and ')'.
std::optional<std::uint64_t> parse_stat_cpu_ticks(const std::string& stat);

}  // namespace monitor
