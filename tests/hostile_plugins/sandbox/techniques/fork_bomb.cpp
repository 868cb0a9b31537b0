// attack_fork_bomb: the beginnings of a fork bomb and a thread bomb, bounded so that it is safe
// to run without the sandbox: at most 64 forks (each child exits at once and is reaped) and 512
// threads with small stacks that sleep 200 ms. "fork" is reached when all 64 forks succeeded,
// "threads" when all 512 threads started.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "../attack.hpp"

namespace {

constexpr int kForks = 64;
constexpr int kThreads = 512;

void forks() {
    int made = 0;
    int error = 0;
    for (; made < kForks; ++made) {
        const pid_t child = ::fork();
        if (child < 0) {
            error = errno;
            break;
        }
        if (child == 0) ::_exit(0);
        ::waitpid(child, nullptr, 0);
    }
    if (made == kForks) return attack::reached("fork");
    attack::blocked("fork", std::string(std::strerror(error)) + " after " + std::to_string(made));
}

void* nap(void*) {
    const timespec pause{0, 200'000'000};
    ::nanosleep(&pause, nullptr);
    return nullptr;
}

void threads() {
    pthread_attr_t attributes;
    ::pthread_attr_init(&attributes);
    ::pthread_attr_setstacksize(&attributes, 64 * 1024);  // 512 of them fit any memory limit
    std::vector<pthread_t> started;
    started.reserve(kThreads);
    int error = 0;
    while (static_cast<int>(started.size()) < kThreads) {
        pthread_t thread;
        error = ::pthread_create(&thread, &attributes, nap, nullptr);
        if (error != 0) break;
        started.push_back(thread);
    }
    ::pthread_attr_destroy(&attributes);
    for (const pthread_t thread : started)
        ::pthread_join(thread, nullptr);
    if (static_cast<int>(started.size()) == kThreads) return attack::reached("threads");
    attack::blocked("threads",
                    std::string(std::strerror(error)) + " after " + std::to_string(started.size()));
}

}  // namespace

void attack::run(const Targets&) {
    forks();
    threads();
}
