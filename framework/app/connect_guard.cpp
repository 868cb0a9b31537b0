// The runtime connect guard: this executable's own connect() shadows libc's for every library
// loaded into the process, plugins included (it is exported with --export-dynamic-symbol).
// A connect to a radio endpoint from any socket but a radio link's is refused, so a plugin
// that was granted the network still cannot open a second connection to the radio and knock
// the bot off it. It is a guard, not a sandbox: a plugin can still make raw syscalls.

#include <dlfcn.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>

#include "radio/endpoint_registry.hpp"

extern "C" __attribute__((visibility("default"))) int connect(int fd,
                                                              const struct sockaddr* address,
                                                              socklen_t length) {
    using ConnectFn = int (*)(int, const struct sockaddr*, socklen_t);
    static const auto real_connect = reinterpret_cast<ConnectFn>(dlsym(RTLD_NEXT, "connect"));
    if (!meshbot::radio::connect_permitted(fd, address, length)) {
        // No logger here: this may run on any thread, inside any library.
        std::fprintf(stderr,
                     "meshbot: refused a connect() to the radio from outside the radio link\n");
        errno = EACCES;
        return -1;
    }
    if (real_connect == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real_connect(fd, address, length);
}
