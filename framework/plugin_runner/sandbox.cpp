// The runner's own set-up of the sandbox: no new privileges, a user and network namespace of its
// own, no capabilities, resource limits; then Landlock and seccomp (their own files).
#include "plugin_runner/sandbox.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace meshbot::runner {

namespace {

// Enough for a plugin's threads and, when granted, the programs it runs; a bomb stops here.
constexpr rlim_t kMaxTasks = 64;
constexpr rlim_t kMaxOpenFiles = 256;
constexpr uid_t kUnprivilegedUid = 65534;  // nobody

std::string why(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

bool write_file(const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

// A user namespace (so that no root is needed) holding a network namespace with nothing in it
// but a loopback interface that is down (no route anywhere, whatever socket call is made) and
// an IPC namespace of its own (System V queues, semaphores and shared memory of other programs
// out of sight, and its own gone with it). The runner keeps its effective ids, mapped to
// themselves.
void enter_namespaces(SandboxReport& report) {
    // The kernel exempts a task whose real user is root from RLIMIT_NPROC, so a bot running as
    // root would leave its plugins' task limit unbound. Only the real user changes: files are
    // still opened as before (Landlock decides which), and the saved and effective ids keep
    // what the namespace set-up below needs.
    if (::getuid() == 0 && ::setresuid(kUnprivilegedUid, 0, 0) != 0) {
        report.missing.push_back(why("rlimits: cannot leave the root real user"));
    }
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC) == 0) {
        const bool mapped = write_file("/proc/self/setgroups", "deny") &&
                            write_file("/proc/self/uid_map",
                                       std::to_string(uid) + " " + std::to_string(uid) + " 1") &&
                            write_file("/proc/self/gid_map",
                                       std::to_string(gid) + " " + std::to_string(gid) + " 1");
        if (!mapped) report.missing.push_back(why("userns: cannot map the runner's ids"));
        report.applied.insert(report.applied.end(), {"userns", "netns", "ipcns"});
        return;
    }
    const std::string user_error = why("userns");
    report.missing.push_back(user_error);
    // Without user namespaces (disabled by sysctl, or restricted by AppArmor) a bot running as
    // root can still make the other two.
    if (::unshare(CLONE_NEWNET | CLONE_NEWIPC) == 0) {
        report.applied.insert(report.applied.end(), {"netns", "ipcns"});
        return;
    }
    report.missing.push_back(why("netns") +
                             "; without it, seccomp alone keeps a plugin off the network");
    report.missing.push_back("ipcns: not without a user namespace or root");
}

// Whatever capabilities the new user namespace gave are dropped: the plugin needs none.
void drop_capabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    ::syscall(SYS_capset, &header, data);
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

bool set_limit(int resource, rlim_t value, const char* name, std::string& error) {
    const rlimit limit{value, value};
    if (::setrlimit(resource, &limit) == 0) return true;
    error = why(name);
    return false;
}

bool set_memory_limit(const SandboxPlan& plan, std::string& error) {
#if defined(__SANITIZE_ADDRESS__)  // ASan reserves terabytes of address space up front
    (void)plan;
    (void)error;
    return true;
#else
    return plan.memory_limit_mb == 0 ||
           set_limit(RLIMIT_AS, static_cast<rlim_t>(plan.memory_limit_mb) << 20,
                     "setrlimit(RLIMIT_AS)", error);
#endif
}

bool apply_limits(const SandboxPlan& plan, bool own_user_namespace, SandboxReport& report,
                  std::string& error) {
    if (!set_limit(RLIMIT_NOFILE, kMaxOpenFiles, "setrlimit(RLIMIT_NOFILE)", error)) return false;
    // RLIMIT_NPROC counts the tasks of the runner's user id in its own user namespace; outside
    // one it would count every process of the bot's user (and not bind root at all).
    if (own_user_namespace) {
        if (!set_limit(RLIMIT_NPROC, kMaxTasks, "setrlimit(RLIMIT_NPROC)", error)) return false;
    } else {
        report.missing.push_back(
            "rlimits: no process limit without a user namespace (seccomp still refuses new "
            "processes unless exec is granted)");
    }
    if (!set_memory_limit(plan, error)) return false;
    report.applied.push_back("rlimits");
    return true;
}

bool has(const SandboxReport& report, const char* layer) {
    for (const auto& applied : report.applied) {
        if (applied == layer) return true;
    }
    return false;
}

}  // namespace

bool apply_sandbox(const SandboxPlan& plan, int broker_fd, SandboxReport& report,
                   std::string& error) {
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (!plan.enabled) return set_memory_limit(plan, error);  // the limit predates the sandbox
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        error = why("prctl(PR_SET_NO_NEW_PRIVS)");
        return false;
    }
    report.applied.push_back("nnp");
    enter_namespaces(report);
    drop_capabilities();
    if (!apply_limits(plan, has(report, "userns"), report, error)) return false;
    if (!apply_landlock(plan, report, error)) return false;
    return apply_seccomp(plan, broker_fd, report, error);
}

}  // namespace meshbot::runner
