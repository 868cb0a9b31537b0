#include "host_metrics.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace monitor {

namespace {

namespace fs = std::filesystem;

// /proc and /sys files report a size of 0, so read until EOF; cap what we keep, since every
// file read here is a few hundred bytes (a wrong root must not make us slurp a huge file).
std::optional<std::string> read_small_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string out(8192, '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return std::nullopt;
    return out;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end == s.data()) return std::nullopt;
    return v;
}

// The value after "Key:" on its own line, e.g. "MemTotal:  3884436 kB" -> 3884436.
std::optional<std::uint64_t> keyed_number(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string line;
    const std::string prefix = key + ":";
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) != 0) continue;
        std::string_view rest(line);
        rest.remove_prefix(prefix.size());
        rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t")));
        return parse_u64(rest);
    }
    return std::nullopt;
}

// Thermal zones report millidegrees; a zone without a sensor reads 0 or a sentinel such as
// -273000, and those must not hide or fake a real reading.
std::optional<double> hottest_zone(const fs::path& thermal) {
    std::error_code ec;
    std::optional<double> hottest;
    fs::directory_iterator it(thermal, ec);
    if (ec) return std::nullopt;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->path().filename().string().rfind("thermal_zone", 0) != 0) continue;
        const auto text = read_small_file(it->path() / "temp");
        if (!text) continue;
        const auto milli = parse_first_double(*text);
        if (!milli) continue;
        const double celsius = *milli / 1000.0;
        if (celsius <= 0 || celsius >= 200) continue;
        hottest = std::max(hottest.value_or(celsius), celsius);
    }
    return hottest;
}

}  // namespace

std::optional<double> parse_first_double(const std::string& text) {
    // strtod rather than from_chars<double>: the latter is missing from older libstdc++.
    const char* begin = text.c_str();
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin) return std::nullopt;
    return v;
}

std::optional<std::uint64_t> parse_meminfo_kb(const std::string& meminfo, const std::string& key) {
    return keyed_number(meminfo, key);
}

std::optional<std::uint64_t> parse_status_kb(const std::string& status, const std::string& key) {
    return keyed_number(status, key);
}

std::optional<std::uint64_t> parse_stat_cpu_ticks(const std::string& stat) {
    // "pid (comm) state ppid ..."; comm may contain anything, so cut at the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(stat.substr(close + 1));
    std::vector<std::string> fields;
    for (std::string f; in >> f;)
        fields.push_back(f);
    // Fields after comm start at field 3 (state); utime is field 14, stime field 15.
    if (fields.size() < 13) return std::nullopt;
    const auto utime = parse_u64(fields[11]);
    const auto stime = parse_u64(fields[12]);
    if (!utime || !stime) return std::nullopt;
    return *utime + *stime;
}

HostSample read_host_sample(const HostRoots& roots, const std::string& data_dir) noexcept {
    HostSample s;
    s.taken = std::chrono::steady_clock::now();
    try {
        const fs::path proc(roots.proc);
        const fs::path sys(roots.sys);
        s.cpu_temp_c = hottest_zone(sys / "class" / "thermal");

        if (const auto text = read_small_file(proc / "loadavg")) {
            std::istringstream in(*text);
            double a = 0, b = 0, c = 0;
            if (in >> a >> b >> c) {
                s.load1 = a;
                s.load5 = b;
                s.load15 = c;
            }
        }
        if (const auto text = read_small_file(proc / "meminfo")) {
            s.mem_total_kb = parse_meminfo_kb(*text, "MemTotal");
            s.mem_available_kb = parse_meminfo_kb(*text, "MemAvailable");
        }
        if (const auto text = read_small_file(proc / "uptime")) {
            s.host_uptime_s = parse_first_double(*text);
        }
        if (const auto text = read_small_file(proc / "self" / "status")) {
            s.bot_rss_kb = parse_status_kb(*text, "VmRSS");
            if (const auto threads = parse_status_kb(*text, "Threads")) {
                s.bot_threads = static_cast<std::uint32_t>(*threads);
            }
        }
        if (const auto text = read_small_file(proc / "self" / "stat")) {
            s.bot_cpu_ticks = parse_stat_cpu_ticks(*text);
        }
        struct statvfs vfs {};
        if (!data_dir.empty() && ::statvfs(data_dir.c_str(), &vfs) == 0 && vfs.f_blocks > 0) {
            s.disk_free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
            s.disk_total_bytes = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
        }
    } catch (...) {
        // Allocation failure or a filesystem error: whatever was read so far stands.
    }
    return s;
}

std::optional<double> BotCpuMeter::update(const HostSample& sample) {
    if (!sample.bot_cpu_ticks) {
        last_ticks_.reset();
        last_pct_.reset();
        return std::nullopt;
    }
    const double elapsed = std::chrono::duration<double>(sample.taken - last_taken_).count();
    // Under a second apart the tick resolution (10 ms) makes a new figure meaningless: keep
    // the previous one and the previous baseline.
    if (last_ticks_ && elapsed < 1.0) return last_pct_;
    static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    if (last_ticks_ && ticks_per_second > 0 && *sample.bot_cpu_ticks >= *last_ticks_) {
        const double busy = static_cast<double>(*sample.bot_cpu_ticks - *last_ticks_) /
                            static_cast<double>(ticks_per_second);
        last_pct_ = 100.0 * busy / elapsed;
    }
    last_ticks_ = sample.bot_cpu_ticks;
    last_taken_ = sample.taken;
    return last_pct_;
}

HostFigures HostFigures::derive(const HostSample& s, std::optional<double> bot_cpu_pct) {
    HostFigures f;
    f.cpu_temp_c = s.cpu_temp_c;
    f.load1 = s.load1;
    f.load5 = s.load5;
    f.load15 = s.load15;
    if (s.mem_total_kb && s.mem_available_kb && *s.mem_total_kb > 0 &&
        *s.mem_available_kb <= *s.mem_total_kb) {
        f.mem_total_kb = s.mem_total_kb;
        f.mem_used_kb = *s.mem_total_kb - *s.mem_available_kb;
        f.mem_used_pct =
            100.0 * static_cast<double>(*f.mem_used_kb) / static_cast<double>(*s.mem_total_kb);
    }
    if (s.disk_free_bytes && s.disk_total_bytes && *s.disk_total_bytes > 0) {
        f.disk_free_bytes = s.disk_free_bytes;
        f.disk_free_pct = 100.0 * static_cast<double>(*s.disk_free_bytes) /
                          static_cast<double>(*s.disk_total_bytes);
    }
    f.bot_rss_kb = s.bot_rss_kb;
    f.bot_threads = s.bot_threads;
    f.bot_cpu_pct = bot_cpu_pct;
    f.host_uptime_s = s.host_uptime_s;
    return f;
}

}  // namespace monitor
