#include "support/sandbox_probe.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

namespace meshbot::testing {

namespace {

// Whether a fresh child process may unshare these namespaces. A child, because unshare of a
// user namespace refuses a multi-threaded caller (the test runner has threads) and because the
// namespaces must not stick to the test process. The child only calls async-signal-safe
// functions, as a fork of a multi-threaded process must.
bool child_can_unshare(int flags) {
    const pid_t child = ::fork();
    if (child < 0) return false;
    if (child == 0) ::_exit(::unshare(flags) == 0 ? 0 : 1);
    int status = 0;
    if (::waitpid(child, &status, 0) != child) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool seccomp_offered() {
    // PR_GET_SECCOMP fails with EINVAL on a kernel built without seccomp.
    if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) return false;
    std::ifstream actions("/proc/sys/kernel/seccomp/actions_avail");
    const std::string text((std::istreambuf_iterator<char>(actions)),
                           std::istreambuf_iterator<char>());
    return text.find("user_notif") != std::string::npos;
}

bool landlock_offered() {
    const long abi =
        ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi >= 1;
}

std::vector<std::string> probe() {
    std::vector<std::string> layers = {"nnp"};
    if (child_can_unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC)) {
        layers.insert(layers.end(), {"userns", "netns", "ipcns"});
    } else if (child_can_unshare(CLONE_NEWNET | CLONE_NEWIPC)) {
        layers.insert(layers.end(), {"netns", "ipcns"});
    }
    if (seccomp_offered()) layers.push_back("seccomp");
    if (landlock_offered()) layers.push_back("landlock");
    layers.push_back("rlimits");
    return layers;
}

}  // namespace

const std::vector<std::string>& offered_layers() {
    static const std::vector<std::string> layers = probe();
    return layers;
}

std::string lan_ipv4() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {};
    std::string found;
    for (const ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
        if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
        const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
        char text[INET_ADDRSTRLEN] = {};
        if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) found = text;
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace meshbot::testing
