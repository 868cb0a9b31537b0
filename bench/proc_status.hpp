#pragma once
// Reading a process's memory figures from /proc, for the benchmarks.

#include <fstream>
#include <string>

namespace meshbot::bench {

// A "Key:   1234 kB" line of /proc/<pid>/status in kB (VmHWM is the peak RSS); -1 if absent.
inline long status_kb(int pid, const std::string& key) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
    }
    return -1;
}

}  // namespace meshbot::bench
