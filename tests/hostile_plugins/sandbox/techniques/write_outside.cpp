// attack_write_outside: files created where the plugin has no business: "outside" at a path the
// test names (outside every folder of the plugin's), "data_dir" beside the bot's node store, in
// the bot's data folder. Reached when the file was created; it is left for the test to find.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "../attack.hpp"

namespace {

void attempt(const char* target, const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return attack::report(target, errno);
    const bool written = ::write(fd, "attack_write_outside\n", 21) == 21;
    ::close(fd);
    if (written) return attack::reached(target);
    attack::blocked(target, "created, but the write failed");
}

}  // namespace

void attack::run(const Targets& targets) {
    if (!targets.outside_path.empty()) attempt("outside", targets.outside_path);
    if (!targets.store_path.empty()) {
        const auto slash = targets.store_path.rfind('/');
        const std::string dir =
            slash == std::string::npos ? "." : targets.store_path.substr(0, slash);
        attempt("data_dir", dir + "/attack_write_outside.txt");
    }
}
