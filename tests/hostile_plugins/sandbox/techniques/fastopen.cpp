// attack_fastopen: TCP Fast Open. sendto(fd, data, len, MSG_FASTOPEN, address) on a fresh TCP
// socket connects and sends in one call: no connect() is ever made, so a defence that watches
// connect() alone misses it. (sendto found by dlsym, like socket.)
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>

#include "../attack.hpp"

namespace {

int fast_open(const attack::Address& address) {
    const attack::SocketCalls& calls = attack::socket_calls();
    const int fd = calls.socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    static const char data[] = "x";
    const ssize_t sent =
        calls.sendto(fd, data, 1, MSG_FASTOPEN | MSG_NOSIGNAL, address.get(), address.length);
    const int error = sent >= 0 ? 0 : errno;
    ::close(fd);
    return error;
}

}  // namespace

void attack::run(const Targets& targets) {
    for (const auto& [target, address] : tcp_targets(targets))
        report(target, fast_open(address));
}
