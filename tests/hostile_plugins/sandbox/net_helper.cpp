// libattack_net_helper.so: the helper library attack_needed_helper links (DT_NEEDED, found
// beside the plugin through its RPATH $ORIGIN). It imports socket() and connect() in plain
// sight; the import audit reads the plugin's own .dynsym only, never its dependencies'.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

// Connects to host:port (numeric IPv4) and closes again: 0 when it connected, else the errno.
extern "C" __attribute__((visibility("default"))) int attack_helper_dial(const char* host,
                                                                         int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host, &address.sin_addr) != 1) return EINVAL;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int error = rc == 0 ? 0 : errno;
    ::close(fd);
    return error;
}
