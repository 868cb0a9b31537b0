// attack_serial: the radio's serial device, opened by the plugin: read, it would steal the
// bot's frames; written, it would speak to the radio as the bot. "serial" opens it read-write
// (O_NOCTTY: never as a controlling terminal), "serial_read" read-only. Opening is enough to
// count as reached; nothing is read or written.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "../attack.hpp"

namespace {

void attempt(const char* target, const std::string& path, int mode) {
    const int fd = ::open(path.c_str(), mode | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return attack::report(target, errno);
    ::close(fd);
    attack::reached(target);
}

}  // namespace

void attack::run(const Targets& targets) {
    if (targets.serial_path.empty()) return;
    attempt("serial", targets.serial_path, O_RDWR);
    attempt("serial_read", targets.serial_path, O_RDONLY);
}
