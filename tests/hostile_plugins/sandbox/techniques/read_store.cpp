// attack_read_store: the bot's own files, read by the plugin: the node store ("store": every
// node's keys and positions), the bot's config file ("config") and the bot's environment
// through /proc/<bot>/environ ("bot_environ"; the bot is the runner's parent). Reached when at
// least one byte was read.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "../attack.hpp"

namespace {

void attempt(const char* target, const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return attack::report(target, errno);
    char buffer[256];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    const int error = errno;
    ::close(fd);
    if (n > 0) return attack::reached(target);
    attack::blocked(target, n == 0 ? "empty" : std::strerror(error));
}

}  // namespace

void attack::run(const Targets& targets) {
    if (!targets.store_path.empty()) attempt("store", targets.store_path);
    if (!targets.config_path.empty()) attempt("config", targets.config_path);
    attempt("bot_environ", "/proc/" + std::to_string(::getppid()) + "/environ");
}
