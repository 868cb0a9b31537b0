// attack_memfd: memory that no mapping holds. A memfd filled with write() is never part of the
// process's address space, so RLIMIT_AS does not count it; left unchecked a plugin holds as
// much as the machine has, and the kernel's out-of-memory killer may pick the bot instead.
// Reached when 128 MiB (twice the test's 64 MiB limit) were held at once.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "../attack.hpp"

void attack::run(const Targets&) {
    constexpr std::size_t kChunk = 1 << 20;
    constexpr int kChunks = 128;
    const int fd = ::memfd_create("attack", MFD_CLOEXEC);
    if (fd < 0) return report("memfd", errno);
    const std::vector<char> chunk(kChunk, 'm');
    int error = 0;
    for (int i = 0; i < kChunks && error == 0; ++i) {
        if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size()))
            error = errno != 0 ? errno : ENOSPC;
    }
    ::close(fd);
    report("memfd", error);
}
