// /forge writes a complete radio frame (a ToRadio text "FORGED by forger" for the whole mesh)
// into every file descriptor listed in /proc/self/fd. Inside the bot's process one of them is
// the radio's socket and the radio puts the text on the air as the bot's; in a runner process
// the descriptors are the runner's own (its channel and its log pipes) and nothing reaches
// the radio.

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <meshbot/sdk.hpp>
#include <meshbot/sdk/wire_format.hpp>
#include <string>
#include <vector>

namespace {

std::string forged_frame() {
    meshbot::wire::Writer data;
    data.uint32(1, 1).bytes(2, "FORGED by forger");  // TEXT_MESSAGE_APP
    meshbot::wire::Writer packet;
    packet.fixed32(2, 0xFFFFFFFFu).uint32(3, 0).message(4, data).fixed32(6, 0x0F0F0F0Fu);
    meshbot::wire::Writer to_radio;
    to_radio.message(1, packet);
    const std::string body = to_radio.take();
    std::string frame = {'\x94', '\xc3', static_cast<char>(body.size() >> 8),
                         static_cast<char>(body.size() & 0xFF)};
    return frame + body;
}

std::vector<int> open_descriptors() {
    std::vector<int> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return fds;
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
        const int fd = std::atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd != own) fds.push_back(fd);
    }
    ::closedir(dir);
    return fds;
}

class ForgerPlugin {
public:
    explicit ForgerPlugin(meshbot::Host& host) {
        host.command({.name = "forge", .args = "", .help = "forges radio frames"},
                     [](const meshbot::Command& cmd) {
                         const std::string frame = forged_frame();
                         int written = 0;
                         const auto fds = open_descriptors();
                         for (const int fd : fds) {
                             if (::write(fd, frame.data(), frame.size()) > 0) ++written;
                         }
                         cmd.reply("forged into " + std::to_string(written) + " of " +
                                   std::to_string(fds.size()) + " descriptors");
                     });
    }
};

}  // namespace

MESHBOT_PLUGIN(ForgerPlugin, "forger", "1.0.0")
