// The runtime connect guard: this executable's own connect(), sendto() and sendmsg() shadow
// libc's for every library loaded into the process, in-bot plugins included (they are
// exported with --export-dynamic-symbol). A connection to a radio endpoint (any spelling of
// this machine at a radio's port, or a radio's own address) from any socket but a radio
// link's is refused, so the bot's own code and a trusted plugin cannot open a second
// connection to the radio and knock the bot off it. TCP Fast Open connects inside sendto and
// sendmsg, so those are checked when they carry MSG_FASTOPEN. It is a guard, not a sandbox:
// code in this process can still make raw syscalls (docs/plugin-sandbox.md).

#include <dlfcn.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

#include "radio/endpoint_registry.hpp"

namespace {

bool refused(int fd, const void* address, socklen_t length) {
    if (meshbot::radio::connect_permitted(fd, address, length)) return false;
    // No logger here: this may run on any thread, inside any library.
    std::fprintf(stderr,
                 "meshbot: refused a connection to the radio from outside the radio link\n");
    errno = EACCES;
    return true;
}

template <typename Fn>
Fn next(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int connect(int fd,
                                                              const struct sockaddr* address,
                                                              socklen_t length) {
    using Fn = int (*)(int, const struct sockaddr*, socklen_t);
    static const auto real = next<Fn>("connect");
    if (refused(fd, address, length)) return -1;
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd, address, length);
}

extern "C" __attribute__((visibility("default"))) ssize_t sendto(int fd, const void* data,
                                                                 size_t size, int flags,
                                                                 const struct sockaddr* address,
                                                                 socklen_t length) {
    using Fn = ssize_t (*)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
    static const auto real = next<Fn>("sendto");
    if ((flags & MSG_FASTOPEN) != 0 && refused(fd, address, length)) return -1;
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd, data, size, flags, address, length);
}

extern "C" __attribute__((visibility("default"))) ssize_t sendmsg(int fd,
                                                                  const struct msghdr* message,
                                                                  int flags) {
    using Fn = ssize_t (*)(int, const struct msghdr*, int);
    static const auto real = next<Fn>("sendmsg");
    if ((flags & MSG_FASTOPEN) != 0 && message != nullptr &&
        refused(fd, message->msg_name, message->msg_namelen)) {
        return -1;
    }
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd, message, flags);
}
