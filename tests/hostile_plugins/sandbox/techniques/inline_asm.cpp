// attack_inline_asm: the `syscall` instruction itself (x86_64), with no libc function and no
// symbol anywhere in the call: only the kernel can refuse it. Elsewhere it falls back to
// syscall(2), which the raw_syscall attack covers as well.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "../attack.hpp"

namespace {

// Returns the kernel's answer: a result >= 0, or -errno.
long kernel(long number, long a, long b, long c) {
#if defined(__x86_64__)
    long result;
    __asm__ __volatile__("syscall"
                         : "=a"(result)
                         : "a"(number), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
    return result;
#else
    const long result = ::syscall(number, a, b, c);
    return result < 0 ? -errno : result;
#endif
}

int asm_dial(const attack::Address& address) {
    const long fd = kernel(SYS_socket, address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return static_cast<int>(-fd);
    const long rc = kernel(SYS_connect, fd, reinterpret_cast<long>(address.get()), address.length);
    kernel(SYS_close, fd, 0, 0);
    return rc < 0 ? static_cast<int>(-rc) : 0;
}

}  // namespace

void attack::run(const Targets& targets) {
    for (const auto& [target, address] : tcp_targets(targets))
        report(target, asm_dial(address));
}
