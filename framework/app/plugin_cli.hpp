#pragma once
// `meshbot plugin ...`: the operator's commands for one plugin or for sharing them.
//   install SOURCE [--grant P]... [--dry-run] [--sdk PREFIX] [--plugin ID]
//   update ID [--to REF] [--grant P]... [--dry-run] [--sdk PREFIX]
//   remove ID [--dry-run] | list | search WORDS... | index add SOURCE | index list
//   restart ID | reload ID                       (through the running bot's control socket)
// Main thread.

#include <filesystem>
#include <string>
#include <vector>

#include "config/app_config.hpp"

namespace meshbot::app {

// The command line after `meshbot`: the words from "plugin" on, and the flags given.
struct PluginCommandLine {
    std::vector<std::string> words;   // {"plugin", "install", "./weather.meshbot-plugin"}
    std::vector<std::string> grants;  // --grant, each
    bool dry_run = false;
    std::filesystem::path sdk;
    std::string plugin;
    std::string to;
};

// A usage problem with the words and flags, or "" when they make a command.
std::string check_plugin_command(const PluginCommandLine& line);

// Runs it; returns the exit code (0 done, 1 refused or failed, 3 no bot for restart/reload).
int run_plugin_command(const PluginCommandLine& line, const config::AppConfig& config);

}  // namespace meshbot::app
