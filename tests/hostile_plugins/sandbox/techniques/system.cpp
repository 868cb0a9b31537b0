// attack_system: another program does the connecting. std::system() runs
//   bash -c 'exec 3<>/dev/tcp/127.0.0.1/PORT'
// whose redirection connects; the new process is not the plugin's library, so nothing that
// watches the library's calls sees it. Reached when bash exits 0.
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "../attack.hpp"

namespace {

void attempt(const std::string& target, int port) {
    const std::string command =
        "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + "' 2>/dev/null";
    errno = 0;
    const int status = std::system(command.c_str());
    if (status == -1) return attack::report(target, errno != 0 ? errno : ECHILD);
    attack::report_exit(target, status);
}

}  // namespace

void attack::run(const Targets& targets) {
    if (targets.radio_port) attempt("radio", *targets.radio_port);
    if (targets.listener_port) attempt("listener", *targets.listener_port);
}
