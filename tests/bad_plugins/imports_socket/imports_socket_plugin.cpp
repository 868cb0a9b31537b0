// Exercises the load-time import audit and the runtime connect guard. The library imports
// socket() and connect(), so the host loads it only when the manifest asks for "network" (it
// does) AND the operator grants it ([plugins.imports_socket] grant_network = true). Once
// loaded, `/connect` dials 127.0.0.1:<[plugins.imports_socket] port> and replies
// "connect ok" or "connect refused: <strerror>": pointed at the radio's port, the host's
// interposed connect() must refuse it.

#include <meshbot/sdk.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

// "connect ok", or "connect refused: <strerror>" for any failure (socket() included).
std::string try_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("connect refused: ") + std::strerror(errno);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Blocking, but to 127.0.0.1 only: it is answered (accepted or refused) at once.
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return std::string("connect refused: ") + std::strerror(error);
    return "connect ok";
}

// Owns /connect; event-loop thread.
class ImportsSocketPlugin {
public:
    explicit ImportsSocketPlugin(meshbot::Host& host)
        : port_(host.config().get_or<std::uint16_t>("port", 0)) {
        host.command(
            {.name = "connect", .args = "", .help = "tries to connect to 127.0.0.1:<port>"},
            [this](const meshbot::Command& cmd) {
                if (port_ == 0) return cmd.reply("connect: no port configured");
                cmd.reply(try_connect(port_));
            });
    }

private:
    std::uint16_t port_;
};

}  // namespace

MESHBOT_PLUGIN(ImportsSocketPlugin, "imports_socket", "1.0.0")
