// Test plugin asking for the exec permission (permissions = ["exec"]; the operator grants it
// with [plugins.runs_program] grant_exec = true).
//   /run      starts /bin/sh -c 'exit 7' with posix_spawn and waits for it: "exit 7", or
//             "refused <strerror>" when the sandbox does not let it start a process
//   /detach   forks a child that tries setsid(), which would take it out of the runner's
//             process group (and so out of the reach of the bot's kill of it): "detached" or
//             "refused <strerror>"
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <meshbot/sdk.hpp>
#include <string>

extern char** environ;

namespace {

std::string run_shell() {
    char sh[] = "/bin/sh", dash_c[] = "-c", script[] = "exit 7";
    char* argv[] = {sh, dash_c, script, nullptr};
    pid_t pid = -1;
    if (const int rc = ::posix_spawn(&pid, sh, nullptr, nullptr, argv, environ); rc != 0)
        return std::string("refused ") + std::strerror(rc);
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return std::string("lost ") + std::strerror(errno);
    if (!WIFEXITED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    // The shell could not run /bin/sh's exec of itself: 126/127 mean exec was refused.
    return "exit " + std::to_string(WEXITSTATUS(status));
}

std::string detach() {
    int report[2];
    if (::pipe(report) != 0) return std::string("lost ") + std::strerror(errno);
    const pid_t child = ::fork();
    if (child < 0) {
        const int error = errno;
        ::close(report[0]);
        ::close(report[1]);
        return std::string("refused ") + std::strerror(error);
    }
    if (child == 0) {
        const int error = ::setsid() < 0 ? errno : 0;
        [[maybe_unused]] const auto written = ::write(report[1], &error, sizeof error);
        ::_exit(0);
    }
    ::close(report[1]);
    int error = EIO;
    [[maybe_unused]] const auto got = ::read(report[0], &error, sizeof error);
    ::close(report[0]);
    ::waitpid(child, nullptr, 0);
    return error == 0 ? "detached" : std::string("refused ") + std::strerror(error);
}

// Owns /run and /detach; event-loop thread (children are waited for on a worker).
class RunsProgramPlugin {
public:
    explicit RunsProgramPlugin(meshbot::Host& host) : host_(host) {
        host_.command({.name = "detach",
                       .help = "forks a child that tries setsid()",
                       .scope = meshbot::Scope::dm},
                      [this](const meshbot::Command& cmd) {
                          const std::uint64_t event = cmd.event();
                          host_.post_work(
                              [] { return detach(); },
                              [this, event](std::string answer) { host_.reply(event, answer); });
                      });
        host_.command(
            {.name = "run", .help = "runs /bin/sh -c 'exit 7'", .scope = meshbot::Scope::dm},
            [this](const meshbot::Command& cmd) {
                const std::uint64_t event = cmd.event();
                host_.post_work([] { return run_shell(); },
                                [this, event](std::string answer) { host_.reply(event, answer); });
            });
    }

private:
    meshbot::Host& host_;
};

}  // namespace

MESHBOT_PLUGIN(RunsProgramPlugin, "runs_program", "1.0.0")
