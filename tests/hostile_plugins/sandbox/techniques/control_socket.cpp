// attack_control_socket: the bot's control socket (AF_UNIX, in its data folder), the one an
// operator's `meshbot plugins` or `meshbot keys accept` talks to. The plugin connects (socket
// calls found by dlsym) and sends "plugins". Reached when connect() succeeded; what the bot
// answered, if anything, follows as "attack control_answer: ...".
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (targets.control_socket.empty()) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (targets.control_socket.size() >= sizeof address.sun_path)
        return blocked("control", "path too long for sockaddr_un");
    std::memcpy(address.sun_path, targets.control_socket.c_str(), targets.control_socket.size());
    const SocketCalls& calls = socket_calls();
    const int fd = calls.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return report("control", errno);
    if (calls.connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        ::close(fd);
        return report("control", error);
    }
    reached("control");
    const bool sent = ::write(fd, "plugins\n", 8) == 8;
    pollfd wait{fd, POLLIN, 0};
    char answer[64] = {};
    if (sent && ::poll(&wait, 1, 1000) == 1 && ::read(fd, answer, sizeof answer - 1) > 0) {
        say("attack control_answer: " + std::string(answer, std::strcspn(answer, "\n")));
    }
    ::close(fd);
}
