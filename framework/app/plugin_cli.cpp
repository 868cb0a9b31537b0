#include "app/plugin_cli.hpp"

#include <unistd.h>

#include <iostream>
#include <map>

#include "app/control_server.hpp"
#include "app/daemon.hpp"
#include "app/plugin_info.hpp"
#include "plugin_host/manifest.hpp"
#include "plugin_share/installer.hpp"
#include "plugin_share/plugin_index.hpp"
#include "plugin_share/share_error.hpp"

namespace meshbot::app {

namespace {

// How long the bot may take to stop a plugin's old runner and start its new one: it answers
// within kAnswerDeadline.
constexpr auto kReloadTimeout = kAnswerDeadline + std::chrono::seconds(5);

// Which flags each verb takes, and how many words follow it (-1: one or more).
struct Verb {
    int words;
    bool grants, dry_run, sdk, plugin, to;
};
const std::map<std::string, Verb> kVerbs = {
    {"install", {1, true, true, true, true, false}},
    {"update", {1, true, true, true, true, true}},
    {"remove", {1, false, true, false, false, false}},
    {"list", {0, false, false, false, false, false}},
    {"search", {-1, false, false, false, false, false}},
    {"index", {-1, false, false, false, false, false}},
    {"restart", {1, false, false, false, false, false}},
    {"reload", {1, false, false, false, false, false}},
    {"info", {1, false, false, false, false, false}},
};

std::optional<std::string> ask_bot(const config::AppConfig& config, const std::string& request) {
    return ask_running_bot(config, request, kReloadTimeout);
}

int index_command(const PluginCommandLine& line, const config::AppConfig& config) {
    share::IndexSet indexes(config);
    try {
        if (line.words[2] == "add") {
            const auto name = indexes.add(line.words[3]);
            std::cout << "added the plugin index " << name << "\n";
            return 0;
        }
        for (const auto& index : indexes.load())
            std::cout << index.name << "  " << index.plugins.size() << " plugins  "
                      << index.folder.string() << "\n";
        return 0;
    } catch (const share::ShareError& e) {
        std::cout << e.what() << "\n";
        return 1;
    }
}

int search_command(const PluginCommandLine& line, const config::AppConfig& config) {
    try {
        const std::vector<std::string> words(line.words.begin() + 2, line.words.end());
        const auto found = share::IndexSet(config).search(words);
        if (found.empty()) {
            std::cout << "no plugin in the added indexes matches\n";
            return 1;
        }
        for (const auto& [index, entry] : found) {
            std::string newest;
            for (const auto& v : entry.versions) {
                if (newest.empty() || plugins::version_older(newest, v.version)) newest = v.version;
            }
            std::cout << entry.id << " " << newest << "  (" << entry.license << ", index " << index
                      << ")\n  " << entry.description << "\n";
        }
        return 0;
    } catch (const share::ShareError& e) {
        std::cout << e.what() << "\n";
        return 1;
    }
}

}  // namespace

std::string check_plugin_command(const PluginCommandLine& line) {
    if (line.words.size() < 2) return "which plugin command? (install, update, remove, list, ...)";
    const auto verb = kVerbs.find(line.words[1]);
    if (verb == kVerbs.end()) return "unknown plugin command '" + line.words[1] + "'";
    const auto& v = verb->second;
    const auto given = static_cast<int>(line.words.size()) - 2;
    if (v.words >= 0 && given != v.words)
        return "meshbot plugin " + line.words[1] + " takes " +
               (v.words == 0 ? "no argument" : "one argument");
    if (v.words < 0 && given < 1) return "meshbot plugin " + line.words[1] + " needs words";
    if (line.words[1] == "index" &&
        !((line.words[2] == "add" && given == 2) || (line.words[2] == "list" && given == 1)))
        return "usage: meshbot plugin index add SOURCE | meshbot plugin index list";
    const auto refuse = [&](bool allowed, bool used, const char* flag) {
        return !allowed && used ? std::string(flag) + " does not go with plugin " + line.words[1]
                                : std::string();
    };
    for (const auto& problem :
         {refuse(v.grants, !line.grants.empty(), "--grant"),
          refuse(v.dry_run, line.dry_run, "--dry-run"), refuse(v.sdk, !line.sdk.empty(), "--sdk"),
          refuse(v.plugin, !line.plugin.empty(), "--plugin"),
          refuse(v.to, !line.to.empty(), "--to")}) {
        if (!problem.empty()) return problem;
    }
    for (const auto& g : line.grants) {
        const auto& known = plugins::known_permissions;
        if (std::find(std::begin(known), std::end(known), g) == std::end(known))
            return "--grant " + g + ": not a permission (network, exec)";
    }
    return {};
}

int run_plugin_command(const PluginCommandLine& line, const config::AppConfig& config) {
    const auto& verb = line.words[1];
    if (verb == "restart") return restart_plugin(config, line.words[2]);
    if (verb == "info") return show_plugin_info(config, line.words[2]);
    if (verb == "reload") return reload_plugin(config, line.words[2]);
    if (verb == "index") return index_command(line, config);
    if (verb == "search") return search_command(line, config);

    share::IndexSet indexes(config);
    share::Installer installer(
        config, std::cout, std::cin,
        [&config](const std::string& request) { return ask_bot(config, request); },
        [&indexes](const share::PluginSource& id) { return indexes.lookup(id); });
    share::InstallOptions options;
    options.grants = line.grants;
    options.dry_run = line.dry_run;
    options.interactive = ::isatty(STDIN_FILENO) == 1;
    options.sdk = line.sdk;
    options.plugin = line.plugin;
    options.to = line.to;
    if (verb == "install") return installer.install(line.words[2], options);
    if (verb == "update") return installer.update(line.words[2], options);
    if (verb == "remove") return installer.remove(line.words[2], options);
    return installer.list();
}

}  // namespace meshbot::app
