// attack_signal_owner: signals without kill(). The kernel itself signals a descriptor's owner
// when I/O is possible on it (O_ASYNC), with the signal F_SETSIG names; a plugin that makes
// another process the owner (F_SETOWN) has the kernel signal that process for it. Target
// "owner" is the test process (signal_pid), which counts the SIGUSR2s it gets; "kill" tries
// kill() directly.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (!targets.signal_pid) return;
    const pid_t target = static_cast<pid_t>(*targets.signal_pid);
    int pipe_ends[2];
    if (::pipe(pipe_ends) != 0) return report("owner", errno);
    int error = 0;
    if (::fcntl(pipe_ends[0], F_SETOWN, target) != 0 ||
        ::fcntl(pipe_ends[0], F_SETSIG, SIGUSR2) != 0 ||
        ::fcntl(pipe_ends[0], F_SETFL, O_ASYNC | O_NONBLOCK) != 0 ||
        ::write(pipe_ends[1], "x", 1) != 1) {
        error = errno;
    }
    report("owner", error);
    ::close(pipe_ends[0]);
    ::close(pipe_ends[1]);
    report("kill", ::kill(target, SIGUSR2) == 0 ? 0 : errno);
}
