#include "support/fake_radio.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "mesh.pb.h"
#include "radio/frame_codec.hpp"

namespace meshbot::testing {

namespace {

constexpr std::uint32_t kOwnNode = 0x0badc0de;

void write_all(int fd, const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    while (fd >= 0 && done < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return;  // the client went away; the read side notices
        done += static_cast<std::size_t>(n);
    }
}

void send_message(int fd, const pb::FromRadio& message) {
    write_all(fd, radio::encode_frame(message.SerializeAsString()));
}

}  // namespace

FakeRadio::FakeRadio(std::string firmware_version, After after)
    : firmware_version_(std::move(firmware_version)), after_(after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("FakeRadio: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto* sa = static_cast<sockaddr*>(static_cast<void*>(&addr));
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, sa, sizeof addr) < 0 || ::listen(listen_fd_, 4) < 0 ||
        ::getsockname(listen_fd_, sa, &len) < 0) {
        ::close(listen_fd_);
        throw std::runtime_error("FakeRadio: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

FakeRadio::~FakeRadio() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
}

void FakeRadio::serve() {
    int client = -1;
    bool ready = false;
    std::uint32_t nonce = 0;
    radio::FrameDecoder decoder([&](std::span<const std::uint8_t> payload) {
        pb::ToRadio message;
        if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
        if (message.has_want_config_id()) nonce = message.want_config_id();
    });
    auto next_garbage = std::chrono::steady_clock::now();
    while (!stop_) {
        std::array<pollfd, 2> fds{{{listen_fd_, POLLIN, 0}, {client, POLLIN, 0}}};
        ::poll(fds.data(), client >= 0 ? 2 : 1, 10);
        if (fds[0].revents & POLLIN) {
            const int fresh = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fresh >= 0) {
                if (client >= 0) ::close(client);  // the newest connection wins
                client = fresh;
                ready = false;
                nonce = 0;
                decoder.reset();
                ++connections_;
                continue;
            }
        }
        if (client >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            std::array<std::uint8_t, 1024> buffer{};
            const ssize_t n = ::recv(client, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                ::close(client);
                client = -1;
                continue;
            }
            decoder.feed(std::span(buffer.data(), static_cast<std::size_t>(n)));
        }
        if (client >= 0 && nonce != 0 && !ready && after_ != After::mute) {
            pb::FromRadio m;
            m.mutable_my_info()->set_my_node_num(kOwnNode);
            send_message(client, m);
            m.Clear();
            m.mutable_node_info()->set_num(kOwnNode);
            m.mutable_node_info()->mutable_user()->set_short_name("FAKE");
            send_message(client, m);
            m.Clear();
            m.mutable_metadata()->set_firmware_version(firmware_version_);
            send_message(client, m);
            m.Clear();
            m.set_config_complete_id(nonce);
            send_message(client, m);
            ready = true;
            ++handshakes_;
        }
        const auto now = std::chrono::steady_clock::now();
        if (client >= 0 && ready && after_ == After::garbage && now >= next_garbage) {
            // Field 31 with wire type 7 does not exist: no FromRadio parses from this.
            write_all(client, radio::encode_frame(std::string(8, '\xff')));
            ++garbage_frames_;
            next_garbage = now + std::chrono::milliseconds(20);
        }
    }
    if (client >= 0) ::close(client);
}

}  // namespace meshbot::testing
