// attack_hidden_dynsym: imports socket() and connect() directly, by name, and is then rewritten
// after linking (hide_dynsym, POST_BUILD) so that its .dynsym section header no longer says
// SHT_DYNSYM. The import audit finds .dynsym through the section headers and so sees no imports
// at all; the dynamic loader never reads section headers (it follows PT_DYNAMIC) and binds the
// imports as usual.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "../attack.hpp"

namespace {

int direct_dial(const attack::Address& address) {
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const int rc = ::connect(fd, address.get(), address.length);
    const int error = rc == 0 ? 0 : errno;
    ::close(fd);
    return error;
}

}  // namespace

void attack::run(const Targets& targets) {
    for (const auto& [target, address] : tcp_targets(targets))
        report(target, direct_dial(address));
}
