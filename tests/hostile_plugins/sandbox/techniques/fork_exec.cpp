// attack_fork_exec: fork() and execv("/bin/bash", {"bash", "-c", "exec 3<>/dev/tcp/..."}), as
// system() does underneath, but by hand: a new process running another program connects.
// Reached when bash exits 0.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "../attack.hpp"

namespace {

void attempt(const std::string& target, int port) {
    std::string script = "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port);
    char bash[] = "bash";
    char dash_c[] = "-c";
    char* const argv[] = {bash, dash_c, script.data(), nullptr};
    const pid_t child = ::fork();
    if (child < 0) return attack::report(target, errno);
    if (child == 0) {
        ::execv("/bin/bash", argv);
        ::_exit(126);  // exec refused
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child) return attack::report(target, errno);
    attack::report_exit(target, status);
}

}  // namespace

void attack::run(const Targets& targets) {
    if (targets.radio_port) attempt("radio", *targets.radio_port);
    if (targets.listener_port) attempt("listener", *targets.listener_port);
}
