// Landlock: the files a plugin may touch. Read-only system folders (libraries, locale, time
// zones, /proc and /sys for system monitors), a short list of /etc files, the plugin's own
// folder, and one private folder it may write. Everything else, including the bot's node store,
// control socket, config and the radio's serial device, is out of reach whoever owns it. From
// ABI 4 on, TCP bind and connect are refused outright (a granted plugin's connections are made
// by the host); from ABI 6 on, signals and abstract unix sockets stop at the sandbox.
//
// The constants are the kernel's uapi values (linux/landlock.h), spelled here because Debian's
// headers predate the newer ABIs; the kernel is asked which ABI it speaks.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "plugin_runner/sandbox.hpp"

namespace meshbot::runner {

namespace {

// struct landlock_ruleset_attr, grown by ABI version: 8 bytes (ABI 1-3), 16 (4-5), 24 (6+).
struct RulesetAttr {
    std::uint64_t handled_access_fs = 0;
    std::uint64_t handled_access_net = 0;
    std::uint64_t scoped = 0;
};

struct __attribute__((packed)) PathBeneathAttr {
    std::uint64_t allowed_access;
    std::int32_t parent_fd;
};

constexpr int kRulePathBeneath = 1;
constexpr unsigned kCreateRulesetVersion = 1U << 0;

enum : std::uint64_t {
    kExecute = 1ULL << 0,
    kWriteFile = 1ULL << 1,
    kReadFile = 1ULL << 2,
    kReadDir = 1ULL << 3,
    kRemoveDir = 1ULL << 4,
    kRemoveFile = 1ULL << 5,
    kMakeChar = 1ULL << 6,
    kMakeDir = 1ULL << 7,
    kMakeReg = 1ULL << 8,
    kMakeSock = 1ULL << 9,
    kMakeFifo = 1ULL << 10,
    kMakeBlock = 1ULL << 11,
    kMakeSym = 1ULL << 12,
    kRefer = 1ULL << 13,     // ABI 2
    kTruncate = 1ULL << 14,  // ABI 3
    kIoctlDev = 1ULL << 15,  // ABI 5
};
constexpr std::uint64_t kNetBindTcp = 1ULL << 0;         // ABI 4
constexpr std::uint64_t kNetConnectTcp = 1ULL << 1;      // ABI 4
constexpr std::uint64_t kScopeAbstractUnix = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;        // ABI 6

constexpr std::uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
constexpr std::uint64_t kReadOnly = kExecute | kReadFile | kReadDir;
constexpr std::uint64_t kPrivate = kWriteFile | kReadFile | kReadDir | kRemoveDir | kRemoveFile |
                                   kMakeDir | kMakeReg | kMakeSock | kMakeFifo | kMakeSym | kRefer |
                                   kTruncate;

constexpr const char* kSystemFolders[] = {"/usr",  "/lib", "/lib32", "/lib64", "/bin",
                                          "/sbin", "/opt", "/proc",  "/sys"};
// What libc and common libraries read from /etc: the loader's cache, names and addresses,
// time zone, locale aliases, TLS roots. Not all of /etc: the bot's own config may live there.
constexpr const char* kEtcFiles[] = {
    "/etc/ld.so.cache", "/etc/localtime",       "/etc/hosts",         "/etc/host.conf",
    "/etc/resolv.conf", "/etc/gai.conf",        "/etc/nsswitch.conf", "/etc/services",
    "/etc/protocols",   "/etc/passwd",          "/etc/group",         "/etc/locale.alias",
    "/etc/ssl",         "/etc/ca-certificates", "/etc/mime.types"};

std::uint64_t fs_rights_for(int abi) {
    std::uint64_t rights = kExecute | kWriteFile | kReadFile | kReadDir | kRemoveDir | kRemoveFile |
                           kMakeChar | kMakeDir | kMakeReg | kMakeSock | kMakeFifo | kMakeBlock |
                           kMakeSym;
    if (abi >= 2) rights |= kRefer;
    if (abi >= 3) rights |= kTruncate;
    if (abi >= 5) rights |= kIoctlDev;
    return rights;
}

// One descriptor owned until the rule is added.
struct PathFd {
    int fd;
    explicit PathFd(const char* path) : fd(::open(path, O_PATH | O_CLOEXEC)) {}
    ~PathFd() {
        if (fd >= 0) ::close(fd);
    }
    PathFd(const PathFd&) = delete;
    PathFd& operator=(const PathFd&) = delete;
};

// Allows `rights` beneath `path`. A path that does not exist is skipped (a system without
// /lib64, say); other failures are errors.
bool allow(int ruleset, const std::string& path, std::uint64_t rights, std::uint64_t handled,
           std::string& error) {
    PathFd target(path.c_str());
    if (target.fd < 0) {
        if (errno == ENOENT) return true;
        error = "landlock: " + path + ": " + std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(target.fd, &st) != 0) return true;
    if (!S_ISDIR(st.st_mode)) rights &= kFileRights;
    PathBeneathAttr rule{rights & handled, target.fd};
    if (::syscall(SYS_landlock_add_rule, ruleset, kRulePathBeneath, &rule, 0) != 0) {
        error = "landlock: " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

bool apply_landlock(const SandboxPlan& plan, SandboxReport& report, std::string& error) {
    const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
    if (abi < 1) {
        report.missing.push_back(
            errno == EOPNOTSUPP
                ? std::string("landlock: disabled in this kernel (add landlock to the lsm= boot "
                              "parameter)")
                : "landlock: the kernel has no Landlock (Linux 5.13+): " +
                      std::string(std::strerror(errno)));
        return true;
    }
    RulesetAttr attr;
    attr.handled_access_fs = fs_rights_for(static_cast<int>(abi));
    std::size_t size = sizeof attr.handled_access_fs;
    if (abi >= 4) {
        attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
        size += sizeof attr.handled_access_net;
    }
    if (abi >= 6) {
        attr.scoped = kScopeAbstractUnix | kScopeSignal;
        size += sizeof attr.scoped;
    }
    const int ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0));
    if (ruleset < 0) {
        error = std::string("landlock: cannot create a ruleset: ") + std::strerror(errno);
        return false;
    }
    const auto handled = attr.handled_access_fs;
    bool ok = true;
    for (const char* folder : kSystemFolders)
        ok = ok && allow(ruleset, folder, kReadOnly, handled, error);
    for (const char* file : kEtcFiles)
        ok = ok && allow(ruleset, file, kReadOnly, handled, error);
    ok = ok && allow(ruleset, "/dev/null", kReadFile | kWriteFile, handled, error) &&
         allow(ruleset, "/dev/zero", kReadFile, handled, error) &&
         allow(ruleset, "/dev/urandom", kReadFile, handled, error) &&
         allow(ruleset, "/dev/random", kReadFile, handled, error);
    if (!plan.plugin_dir.empty())
        ok = ok && allow(ruleset, plan.plugin_dir, kReadOnly, handled, error);
    if (!plan.private_dir.empty())
        ok = ok && allow(ruleset, plan.private_dir, kPrivate, handled, error);
    if (ok && ::syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
        error = std::string("landlock: cannot restrict the runner: ") + std::strerror(errno);
        ok = false;
    }
    ::close(ruleset);
    if (!ok) return false;
    report.applied.push_back("landlock");
    if (abi < 4) {
        report.missing.push_back(
            "landlock: no TCP rules before ABI 4 (Linux 6.7); the network "
            "namespace and seccomp still apply");
    }
    if (abi < 6) {
        report.missing.push_back(
            "landlock: no signal scoping before ABI 6 (Linux 6.12); seccomp "
            "still refuses signals to other processes");
    }
    return true;
}

}  // namespace meshbot::runner
