// What the attack plugins print (attack.hpp), and their try at their private folder. Built once
// and linked into every attack_<technique> plugin.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "attack.hpp"

namespace attack {

void say(std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void reached(std::string_view target) {
    say("attack " + std::string(target) + ": reached");
}

void blocked(std::string_view target, std::string_view why) {
    say("attack " + std::string(target) + ": blocked (" + std::string(why) + ")");
}

void report(std::string_view target, int error) {
    if (error == 0) return reached(target);
    blocked(target, std::strerror(error));
}

void report_exit(std::string_view target, int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return reached(target);
    blocked(target, WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status)));
}

// The one place a sandboxed plugin may write: $HOME, its private folder. The file is removed
// again, so that a run without the sandbox leaves nothing behind either.
void try_home() {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') return attack::say("attack home: blocked (HOME not set)");
    const std::string path = std::string(home) + "/attack-home-" + std::to_string(::getpid());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return attack::say(std::string("attack home: blocked (") + std::strerror(errno) + ")");
    }
    const bool written = ::write(fd, "home\n", 5) == 5;
    ::close(fd);
    ::unlink(path.c_str());
    attack::say(written ? "attack home: ok" : "attack home: blocked (write failed)");
}

}  // namespace attack
