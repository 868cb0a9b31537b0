// attack_rexec: glibc's rexec_af(), an old remote-exec client. It resolves, creates its socket
// and connects inside libc (its internal __socket and __connect), so the plugin imports only
// rexec_af, a name the audit does not list, and no interposed connect() sees the call.
//
// rexec_af() blocks after connecting until the server answers, which neither the simulator nor
// the test's listener does. So it runs on a thread, and this thread watches the process's
// descriptors: a socket whose peer is the target shows the connect happened; shutting it down
// makes rexec_af() give up and return.
#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "../attack.hpp"

namespace {

using namespace std::chrono_literals;

// A descriptor of this process connected to 127.0.0.1:port, or -1.
int connected_to(int port) {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    int found = -1;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        const int fd = std::atoi(entry->d_name);
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) continue;
        const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
        if (peer.ss_family == AF_INET && ntohs(in->sin_port) == port) {
            found = fd;
            break;
        }
    }
    ::closedir(dir);
    return found;
}

// What the rexec thread leaves behind; shared, because the thread may outlive the attempt.
struct Outcome {
    std::atomic<bool> finished{false};
    int error = 0;  // written before `finished`
};

void attempt(const std::string& target, int port) {
    auto outcome = std::make_shared<Outcome>();
    std::thread([outcome, port] {
        char host[] = "127.0.0.1";
        char* ahost = host;
        errno = 0;
        const int fd = ::rexec_af(&ahost, htons(static_cast<std::uint16_t>(port)), "meshbot",
                                  "attack", "true", nullptr, AF_INET);
        outcome->error = errno != 0 ? errno : EIO;
        if (fd >= 0) ::close(fd);
        outcome->finished = true;
    }).detach();

    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (const int fd = connected_to(port); fd >= 0) {
            ::shutdown(fd, SHUT_RDWR);  // rexec_af's read fails, it closes and returns
            return attack::reached(target);
        }
        if (outcome->finished) return attack::report(target, outcome->error);
        std::this_thread::sleep_for(5ms);
    }
    attack::blocked(target, "rexec_af neither connected nor failed within 3 s");
}

}  // namespace

void attack::run(const Targets& targets) {
    if (targets.radio_port) attempt("radio", *targets.radio_port);
    if (targets.listener_port) attempt("listener", *targets.listener_port);
}
