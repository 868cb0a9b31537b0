// attack_udp_sendto: a UDP datagram needs no connect() at all: sendto() alone reaches any
// address. Target "udp" is a socket the test bound on 127.0.0.1; "reached" only says sendto()
// took the datagram, the test checks whether it arrived.
#include <unistd.h>

#include <cerrno>

#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (!targets.udp_port) return;
    const auto address = ip_address("127.0.0.1", *targets.udp_port);
    const SocketCalls& calls = socket_calls();
    const int fd = calls.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return report("udp", errno);
    static const char data[] = "attack_udp_sendto";
    const ssize_t sent =
        calls.sendto(fd, data, sizeof data - 1, 0, address->get(), address->length);
    report("udp", sent >= 0 ? 0 : errno);
    ::close(fd);
}
