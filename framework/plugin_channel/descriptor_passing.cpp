#include "plugin_channel/descriptor_passing.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

namespace meshbot::channel {

namespace {

// A one-byte message with room for one descriptor; `message` points into this object.
struct OneDescriptor {
    char byte = 'D';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    OneDescriptor() {
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
    }
    OneDescriptor(const OneDescriptor&) = delete;
    OneDescriptor& operator=(const OneDescriptor&) = delete;
};

}  // namespace

bool send_descriptor(int socket, int fd) {
    OneDescriptor out;
    cmsghdr* header = CMSG_FIRSTHDR(&out.message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
    return ::sendmsg(socket, &out.message, MSG_NOSIGNAL) == 1;
}

int receive_descriptor(int socket) {
    OneDescriptor in;
    if (::recvmsg(socket, &in.message, MSG_CMSG_CLOEXEC) != 1) return -1;
    const cmsghdr* header = CMSG_FIRSTHDR(&in.message);
    if (header == nullptr || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    return fd;
}

}  // namespace meshbot::channel
