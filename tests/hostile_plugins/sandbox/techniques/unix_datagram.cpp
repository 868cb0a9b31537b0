// attack_unix_datagram: a unix datagram socket sends to any socket file by name (/dev/log, the
// journal, another program's) with sendto() alone, no connect() needed, and a network namespace
// does not stand in the way of a file. One of a socketpair() does the same. Target "unix" is a
// datagram socket the test bound in its own folder, tried from a socket ("unix") and from one
// of a pair ("unix_pair"); "reached" only says sendto() took the datagram, the test checks
// whether it arrived.
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (targets.unix_path.empty()) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (targets.unix_path.size() >= sizeof address.sun_path) return report("unix", ENAMETOOLONG);
    std::memcpy(address.sun_path, targets.unix_path.data(), targets.unix_path.size());
    const SocketCalls& calls = socket_calls();
    static const char data[] = "attack_unix_datagram";
    const auto send_from = [&](const char* target, int fd) {
        const ssize_t sent =
            calls.sendto(fd, data, sizeof data - 1, 0, reinterpret_cast<const sockaddr*>(&address),
                         sizeof address);
        report(target, sent >= 0 ? 0 : errno);
        ::close(fd);
    };
    const int fd = calls.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        report("unix", errno);
    } else {
        send_from("unix", fd);
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return report("unix_pair", errno);
    }
    ::close(pair[1]);
    send_from("unix_pair", pair[0]);
}
