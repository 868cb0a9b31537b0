// attack_raw_syscall: socket and connect as syscall(SYS_socket, ...) and syscall(SYS_connect,
// ...): no libc wrapper runs, so only the kernel can refuse them.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "../attack.hpp"

namespace {

int raw_dial(const attack::Address& address) {
    const long fd = ::syscall(SYS_socket, address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const long rc = ::syscall(SYS_connect, fd, address.get(), address.length);
    const int error = rc == 0 ? 0 : errno;
    ::syscall(SYS_close, fd);
    return error;
}

}  // namespace

void attack::run(const Targets& targets) {
    for (const auto& [target, address] : tcp_targets(targets))
        report(target, raw_dial(address));
}
