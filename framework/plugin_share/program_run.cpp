#include "plugin_share/program_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace meshbot::share {

namespace fs = std::filesystem;

namespace {

// posix_spawn's file actions, destroyed whatever happens.
class SpawnActions {
public:
    SpawnActions() { posix_spawn_file_actions_init(&actions_); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
    posix_spawn_file_actions_t* get() { return &actions_; }

private:
    posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
public:
    SpawnAttributes() { posix_spawnattr_init(&attributes_); }
    ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    posix_spawnattr_t* get() { return &attributes_; }

private:
    posix_spawnattr_t attributes_;
};

// Waits for `pid` until `deadline`; true with its status when it ended. A pidfd makes the wait
// an event, not a polling loop.
bool wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline, int& status) {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            if (pidfd >= 0) ::close(pidfd);
            return false;
        }
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60000)));
        } else {
            ::usleep(20000);  // no pidfd (kernel before 5.3): look again shortly
        }
    }
    if (pidfd >= 0) ::close(pidfd);
    return true;
}

}  // namespace

fs::path find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream folders(path ? path : "/usr/local/bin:/usr/bin:/bin");
    std::string folder;
    while (std::getline(folders, folder, ':')) {
        if (folder.empty()) continue;
        const fs::path candidate = fs::path(folder) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

ProgramResult run_program(const fs::path& program, const std::vector<std::string>& args,
                          const fs::path& dir, const std::map<std::string, std::string>& env,
                          std::chrono::seconds limit) {
    ProgramResult result;
    // Output goes to a file rather than a pipe: a pipe would need a reader to keep a chatty
    // build from blocking, and the deadline would need watching beside it.
    char log_name[] = "/tmp/meshbot-run-XXXXXX";
    const int log_fd = ::mkstemp(log_name);
    if (log_fd < 0) {
        result.output = std::string("cannot create a temporary file: ") + std::strerror(errno);
        return result;
    }
    ::unlink(log_name);

    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        if (!env.count(entry.substr(0, entry.find('=')))) env_text.push_back(entry);
    }
    for (const auto& [key, value] : env)
        env_text.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (auto& e : env_text)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_text{program.string()};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    SpawnActions actions;
    posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(actions.get(), log_fd, 1);
    posix_spawn_file_actions_adddup2(actions.get(), log_fd, 2);
    posix_spawn_file_actions_addchdir_np(actions.get(), dir.c_str());
    // Its own process group: at the deadline the whole build (compilers too) is stopped.
    SpawnAttributes attributes;
    posix_spawnattr_setflags(attributes.get(), POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(attributes.get(), 0);

    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, program.c_str(), actions.get(), attributes.get(),
                                      argv.data(), envp.data());
    if (spawned != 0) {
        result.output = "cannot run " + program.string() + ": " + std::strerror(spawned);
        ::close(log_fd);
        return result;
    }
    int status = 0;
    if (!wait_until(pid, std::chrono::steady_clock::now() + limit, status)) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        result.output = program.filename().string() + " did not finish within " +
                        std::to_string(limit.count()) + " s\n";
    } else if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else {
        result.output = program.filename().string() + " was killed by signal " +
                        std::to_string(WTERMSIG(status)) + "\n";
    }
    std::string printed;
    const off_t size = ::lseek(log_fd, 0, SEEK_END);
    const off_t from = size > 65536 ? size - 65536 : 0;
    printed.resize(static_cast<std::size_t>(size - from));
    if (::pread(log_fd, printed.data(), printed.size(), from) < 0) printed.clear();
    ::close(log_fd);
    result.output += printed;
    return result;
}

}  // namespace meshbot::share
