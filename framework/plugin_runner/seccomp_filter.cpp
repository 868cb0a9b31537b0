// seccomp-bpf (libseccomp): the system calls a plugin never needs, refused by the kernel
// whatever way the plugin makes them (libc, dlsym, syscall(), inline asm, a helper library).
// Everything not listed is allowed: the list is of what reaches outside the runner (other
// processes, the kernel's attack surface, the network) rather than a guess at what every
// library needs. Only the native architecture's calls are allowed; another ABI's (int 0x80 on
// x86_64) kills the process.
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "plugin_channel/descriptor_passing.hpp"
#include "plugin_runner/sandbox.hpp"

namespace meshbot::runner {

namespace {

using Filter = std::unique_ptr<void, decltype(&seccomp_release)>;

// Other processes, the kernel's riskier interfaces, namespaces and mounts.
constexpr const char* kRefused[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "mount", "umount2", "pivot_root", "chroot",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "setns",
    "unshare", "name_to_handle_at", "open_by_handle_at", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct",
    "quotactl", "syslog", "iopl", "ioperm", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "pidfd_send_signal",
    // Memory no mapping counts: a memfd filled with write()
    // passes the address-space limit.
    "memfd_create", "memfd_secret"};
constexpr const char* kExec[] = {"execve", "execveat"};
constexpr const char* kNewProcess[] = {"fork", "vfork"};

constexpr scmp_datum_t kNamespaceFlags[] = {CLONE_NEWUSER,  CLONE_NEWNS,  CLONE_NEWNET,
                                            CLONE_NEWPID,   CLONE_NEWIPC, CLONE_NEWUTS,
                                            CLONE_NEWCGROUP};

struct Rules {
    scmp_filter_ctx ctx;
    std::string error;

    bool add(std::uint32_t action, const char* name,
             std::initializer_list<scmp_arg_cmp> args = {}) {
        const int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) return true;  // unknown to this architecture
        const int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                              args.size() ? args.begin() : nullptr);
        if (rc == 0) return true;
        error = std::string("seccomp: rule for ") + name + ": " + std::strerror(-rc);
        return false;
    }
};

// Signals the kernel sends on a descriptor's behalf (SIGIO, or any with F_SETSIG) go to the
// descriptor's owner: owning one must not name another process.
bool add_owner_rules(Rules& rules) {
    const auto self = static_cast<scmp_datum_t>(::getpid());
    constexpr scmp_datum_t kFioSetOwn = 0x8901;  // FIOSETOWN, SIOCSPGRP: the owner in memory
    constexpr scmp_datum_t kSiocSPgrp = 0x8902;
    return rules.add(SCMP_ACT_ERRNO(EPERM), "fcntl",
                     {SCMP_A1(SCMP_CMP_EQ, F_SETOWN), SCMP_A2(SCMP_CMP_NE, self)}) &&
           rules.add(SCMP_ACT_ERRNO(EPERM), "fcntl", {SCMP_A1(SCMP_CMP_EQ, F_SETOWN_EX)}) &&
           rules.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {SCMP_A1(SCMP_CMP_EQ, kFioSetOwn)}) &&
           rules.add(SCMP_ACT_ERRNO(EPERM), "ioctl", {SCMP_A1(SCMP_CMP_EQ, kSiocSPgrp)});
}

bool add_process_rules(Rules& rules, const SandboxPlan& plan) {
    // clone3 hides its flags in memory where a filter cannot read them; libc falls back to
    // clone, whose flags are a register.
    if (!rules.add(SCMP_ACT_ERRNO(ENOSYS), "clone3")) return false;
    for (const auto flag : kNamespaceFlags) {
        if (!rules.add(SCMP_ACT_ERRNO(EPERM), "clone", {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)}))
            return false;
    }
    if (plan.exec) {
        // The programs it runs stay in its process group, which ends with the runner.
        return rules.add(SCMP_ACT_ERRNO(EPERM), "setsid") &&
               rules.add(SCMP_ACT_ERRNO(EPERM), "setpgid");
    }
    for (const char* name : kExec) {
        if (!rules.add(SCMP_ACT_ERRNO(EACCES), name)) return false;
    }
    // Threads, yes; processes, no: without exec a plugin has no use for them, and a fork bomb
    // ends at its first fork.
    for (const char* name : kNewProcess) {
        if (!rules.add(SCMP_ACT_ERRNO(EPERM), name)) return false;
    }
    if (!rules.add(SCMP_ACT_ERRNO(EPERM), "clone",
                   {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)})) {
        return false;
    }
    // Signals to anyone but itself. (A granted exec'd program must signal its own children,
    // so then only Landlock's scoping applies.)
    const auto self = static_cast<scmp_datum_t>(::getpid());
    for (const char* name : {"kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"}) {
        if (!rules.add(SCMP_ACT_ERRNO(EPERM), name, {SCMP_A0(SCMP_CMP_NE, self)})) return false;
    }
    return rules.add(SCMP_ACT_ERRNO(EPERM), "tkill");
}

bool add_network_rules(Rules& rules, const SandboxPlan& plan) {
    // TCP Fast Open connects inside sendto/sendmsg, past any connect() check.
    if (!rules.add(SCMP_ACT_ERRNO(EOPNOTSUPP), "sendto",
                   {SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN)}) ||
        !rules.add(SCMP_ACT_ERRNO(EOPNOTSUPP), "sendmsg",
                   {SCMP_A2(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN)}) ||
        !rules.add(SCMP_ACT_ERRNO(EOPNOTSUPP), "sendmmsg",
                   {SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN)})) {
        return false;
    }
    // A unix datagram socket, even one of a pair, sends to any socket file by name (/dev/log,
    // the journal, another program's) with sendto or sendmsg, where no filter can read the
    // name; a stream socket needs connect(), which is refused or brokered.
    constexpr scmp_datum_t kSocketTypeMask = 0xf;
    for (const char* name : {"socket", "socketpair"}) {
        if (!rules.add(SCMP_ACT_ERRNO(EACCES), name,
                       {SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
                        SCMP_A1(SCMP_CMP_MASKED_EQ, kSocketTypeMask, SOCK_DGRAM)})) {
            return false;
        }
    }
    if (!plan.network) {
        return rules.add(SCMP_ACT_ERRNO(EACCES), "socket", {SCMP_A0(SCMP_CMP_NE, AF_UNIX)}) &&
               rules.add(SCMP_ACT_ERRNO(EACCES), "connect");
    }
    // Granted: unix, IPv4 and IPv6 sockets (a rule compares an argument once, hence the list),
    // and every connect() decided and made by the host.
    for (scmp_datum_t family = 0; family <= AF_INET6; ++family) {
        if (family == AF_UNIX || family == AF_INET || family == AF_INET6) continue;
        if (!rules.add(SCMP_ACT_ERRNO(EACCES), "socket", {SCMP_A0(SCMP_CMP_EQ, family)}))
            return false;
    }
    return rules.add(SCMP_ACT_ERRNO(EACCES), "socket", {SCMP_A0(SCMP_CMP_GT, AF_INET6)}) &&
           rules.add(SCMP_ACT_NOTIFY, "connect");
}

// The listener goes to the host and nowhere else: a plugin that held it could answer its own
// connect() calls.
bool hand_over(int listener, int broker_fd, std::string& error) {
    const bool sent = channel::send_descriptor(broker_fd, listener);
    if (!sent) {
        error =
            std::string("seccomp: cannot hand the listener to the host: ") + std::strerror(errno);
    }
    ::close(listener);
    return sent;
}

}  // namespace

bool apply_seccomp(const SandboxPlan& plan, int broker_fd, SandboxReport& report,
                   std::string& error) {
    Filter filter(seccomp_init(SCMP_ACT_ALLOW), &seccomp_release);
    if (!filter) {
        report.missing.push_back("seccomp: libseccomp cannot build a filter here");
        return true;
    }
    // Another ABI's system calls (int 0x80, x32) end the whole runner, not just the thread.
    seccomp_attr_set(filter.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    Rules rules{filter.get(), {}};
    bool ok = true;
    for (const char* name : kRefused)
        ok = ok && rules.add(SCMP_ACT_ERRNO(EPERM), name);
    ok = ok && add_owner_rules(rules) && add_process_rules(rules, plan) &&
         add_network_rules(rules, plan);
    if (!ok) {
        error = rules.error;
        return false;
    }
    if (const int rc = seccomp_load(filter.get()); rc != 0) {
        if (rc == -EINVAL || rc == -ENOSYS) {
            report.missing.push_back(std::string("seccomp: the kernel refused the filter: ") +
                                     std::strerror(-rc));
            return true;
        }
        error = std::string("seccomp: cannot load the filter: ") + std::strerror(-rc);
        return false;
    }
    report.applied.push_back("seccomp");
    if (plan.network) {
        const int listener = seccomp_notify_fd(filter.get());
        if (listener < 0 || broker_fd < 0) {
            error = "seccomp: no listener for the host's network broker";
            return false;
        }
        if (!hand_over(listener, broker_fd, error)) return false;
        report.applied.push_back("broker");
    }
    return true;
}

}  // namespace meshbot::runner
