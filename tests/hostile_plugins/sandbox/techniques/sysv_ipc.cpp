// attack_sysv_ipc: System V shared memory is found by a key, machine-wide unless a process has
// an IPC namespace of its own; files, network namespaces and socket rules do not come into it.
// Target "ipc" is a segment the test made (key ipc_key, mode 0600, the bot's user) holding a
// secret: reached when the plugin could attach it and read the secret's first bytes.
#include <sys/ipc.h>
#include <sys/shm.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "../attack.hpp"

void attack::run(const Targets& targets) {
    if (!targets.ipc_key) return;
    const int segment = ::shmget(static_cast<key_t>(*targets.ipc_key), 0, 0);
    if (segment < 0) return report("ipc", errno);
    void* memory = ::shmat(segment, nullptr, SHM_RDONLY);
    if (memory == reinterpret_cast<void*>(-1)) return report("ipc", errno);
    const bool secret = std::memcmp(memory, "meshbot-secret", 14) == 0;
    ::shmdt(memory);
    if (secret) return reached("ipc");
    blocked("ipc", "attached, but no secret in it");
}
