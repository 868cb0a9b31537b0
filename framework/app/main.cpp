// meshbot: a bot host that owns the one connection to a Meshtastic radio.

#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>
#include <optional>
#include <vector>

#include "app/daemon.hpp"
#include "app/plugin_cli.hpp"
#include "app/store_cli.hpp"
#include "config/config_loader.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "radio/endpoint_registry.hpp"

namespace po = boost::program_options;

namespace {

using meshbot::app::kExitUsage;
constexpr int kExitConfig = 78;  // EX_CONFIG from sysexits.h

const char* const kUsage =
    "usage: meshbot --config FILE                   run the bot\n"
    "       meshbot --check-config FILE             validate FILE (and the plugin tables against\n"
    "                                               their plugins' schemas) and exit\n"
    "       meshbot plugins --config FILE           list the plugins with their state (the\n"
    "                                               running bot's, or each probed in a runner)\n"
    "       meshbot plugin restart|reload ID --config FILE\n"
    "                                               restart a plugin of the running bot, or\n"
    "                                               reload it from disk (new, changed, removed)\n"
    "       meshbot plugin install SOURCE --config FILE [--grant PERMISSION]... [--dry-run]\n"
    "                                               SOURCE: a .meshbot-plugin package, a plugin\n"
    "                                               folder, a git URL[@ref] (file://, https://,\n"
    "                                               ssh://; built with --sdk PREFIX) or an id\n"
    "                                               from an index; a running bot loads it\n"
    "       meshbot plugin update ID [--to REF] | remove ID | list --config FILE\n"
    "       meshbot plugin info ID --config FILE    what a plugin is and its settings\n"
    "       meshbot plugin search WORDS | index add SOURCE | index list --config FILE\n"
    "       meshbot status --config FILE            the running bot's link, nodes and store;\n"
    "                                               exit 1 when keys are not being saved\n"
    "       meshbot nodes --config FILE [--json]    list the nodes in the node store\n"
    "       meshbot keys --config FILE [--json]     list their keys; CHANGED ones need a look\n"
    "       meshbot keys accept NODE --config FILE  trust the new key NODE presents (NODE: !id,\n"
    "                                               number, short or long name); works while\n"
    "                                               the bot runs, through its control socket\n"
    "       meshbot --version | --help\n"
    "nodes and keys never connect to the radio.\n"
    "The running bot: SIGTERM or SIGINT stops it (a second one at once); SIGHUP reads the\n"
    "config file again and applies [log] level, [commands] and changed [plugins.<id>] tables\n"
    "(docs/configuration.md, \"Reloading with SIGHUP\").\n";

std::optional<meshbot::config::LoadResult> load(const std::string& path) {
    try {
        auto result = meshbot::config::load_config(path);
        for (const auto& w : result.warnings)
            std::cerr << "meshbot: warning: " << w << "\n";
        return result;
    } catch (const meshbot::config::ConfigError& e) {
        std::cerr << "meshbot: " << e.what() << "\n";
        return std::nullopt;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // A write to a closed socket (a runner that died, a control client gone) is an error to
    // handle, not a reason for the bot to die.
    std::signal(SIGPIPE, SIG_IGN);
    po::options_description options("options");
    // clang-format off
    options.add_options()
        ("config,c", po::value<std::string>(), "run with this config file")
        ("check-config", po::value<std::string>(), "validate a config file and exit")
        ("json", "nodes, keys: print JSON instead of a table")
        ("grant", po::value<std::vector<std::string>>(), "plugin install/update: grant a "
         "permission the plugin asks for (network, exec)")
        ("dry-run", "plugin install/update/remove: check everything, change nothing")
        ("sdk", po::value<std::string>(), "plugin install/update: the meshbot SDK prefix to "
         "build git sources against")
        ("plugin", po::value<std::string>(), "plugin install: which plugin, when a source "
         "builds several")
        ("to", po::value<std::string>(), "plugin update: the git ref, package or version to "
         "move to")
        ("version", "print the version and exit")
        ("help,h", "print this help and exit");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("command", po::value<std::vector<std::string>>(),
                         "subcommand and its words");
    po::options_description all;
    all.add(options).add(hidden);
    po::positional_options_description positional;
    positional.add("command", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
                  vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "meshbot: " << e.what() << "\n" << kUsage;
        return kExitUsage;
    }

    if (vm.count("help")) {
        std::cout << kUsage << "\n" << options;
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "meshbot " << MESHBOT_VERSION << "\n";
        return 0;
    }
    if (vm.count("check-config")) {
        const auto path = vm["check-config"].as<std::string>();
        const auto loaded = load(path);
        if (!loaded) return kExitConfig;
        const auto plugins = meshbot::plugins::check_plugin_tables(loaded->config);
        for (const auto& w : plugins.warnings)
            std::cerr << "meshbot: warning: " << w << "\n";
        for (const auto& e : plugins.errors)
            std::cerr << "meshbot: " << e << "\n";
        if (!plugins.errors.empty()) return kExitConfig;
        std::cout << path << ": ok\n";
        return 0;
    }
    if (!vm.count("config")) {
        std::cerr << "meshbot: no config file given\n" << kUsage;
        return kExitUsage;
    }

    const auto words = vm.count("command") ? vm["command"].as<std::vector<std::string>>()
                                           : std::vector<std::string>{};
    const std::string command = words.empty() ? "" : words[0];
    std::optional<meshbot::app::StoreCommand> store_command;
    meshbot::app::PluginCommandLine plugin_line;
    if (command == "nodes" || command == "keys") {
        std::string error;
        store_command = meshbot::app::parse_store_command(words, vm.count("json") > 0, error);
        if (!store_command) {
            std::cerr << "meshbot: " << error << "\n" << kUsage;
            return kExitUsage;
        }
    } else if (command == "plugin") {
        plugin_line.words = words;
        if (vm.count("grant")) plugin_line.grants = vm["grant"].as<std::vector<std::string>>();
        plugin_line.dry_run = vm.count("dry-run") > 0;
        if (vm.count("sdk")) plugin_line.sdk = vm["sdk"].as<std::string>();
        if (vm.count("plugin")) plugin_line.plugin = vm["plugin"].as<std::string>();
        if (vm.count("to")) plugin_line.to = vm["to"].as<std::string>();
        if (const auto problem = meshbot::app::check_plugin_command(plugin_line);
            !problem.empty()) {
            std::cerr << "meshbot: " << problem << "\n" << kUsage;
            return kExitUsage;
        }
    } else if (!command.empty() && command != "plugins" && command != "status") {
        std::cerr << "meshbot: unknown command '" << command << "'\n" << kUsage;
        return kExitUsage;
    } else if (words.size() > 1 || vm.count("json")) {
        std::cerr << "meshbot: unexpected '" << (words.size() > 1 ? words[1] : "--json") << "'\n"
                  << kUsage;
        return kExitUsage;
    }
    if (command != "plugin") {
        for (const char* flag : {"grant", "dry-run", "sdk", "plugin", "to"}) {
            if (vm.count(flag)) {
                std::cerr << "meshbot: --" << flag << " goes with meshbot plugin ...\n" << kUsage;
                return kExitUsage;
            }
        }
    }
    const auto loaded = load(vm["config"].as<std::string>());
    if (!loaded) return kExitConfig;
    // Anything left (a data directory the file system refuses, a radio endpoint in use) ends
    // with its message, not with std::terminate.
    try {
        if (store_command) return meshbot::app::run_store_command(*store_command, loaded->config);
        meshbot::app::configure_logging(loaded->config.log);
        if (command == "plugins") return meshbot::app::list_plugins(loaded->config);
        if (command == "status") return meshbot::app::show_status(loaded->config);
        if (command == "plugin")
            return meshbot::app::run_plugin_command(plugin_line, loaded->config);
        return meshbot::app::run_daemon(loaded->config);
    } catch (const std::exception& e) {
        std::cerr << "meshbot: " << e.what() << "\n";
        return 1;
    }
}
