#pragma once
// Runs a program the installer needs (git, cmake) and collects what it printed. Main thread.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace meshbot::share {

struct ProgramResult {
    int exit_code = -1;  // -1: it did not run or was stopped at the deadline
    std::string output;  // stdout and stderr, interleaved, at most the last 64 KiB
};

// The program's path when it is on PATH, else empty.
std::filesystem::path find_program(const std::string& name);

// Runs `program` with `args` in `dir`, stdin from /dev/null, `env` added to this process's
// environment; stopped after `limit`. Never throws for the program's own failure.
ProgramResult run_program(const std::filesystem::path& program,
                          const std::vector<std::string>& args, const std::filesystem::path& dir,
                          const std::map<std::string, std::string>& env,
                          std::chrono::seconds limit);

}  // namespace meshbot::share
