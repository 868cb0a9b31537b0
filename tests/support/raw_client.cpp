#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace meshbot::testing {

namespace {

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc;
    do {
        rc = ::connect(fd, static_cast<sockaddr*>(static_cast<void*>(&addr)), sizeof addr);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " +
                                 std::strerror(err));
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace

bool tcp_port_accepts(std::uint16_t port) {
    try {
        ::close(connect_loopback(port));
        return true;
    } catch (const std::runtime_error&) {
        return false;
    }
}

RawRadioClient::RawRadioClient(std::uint16_t port)
    : RawRadioClient(FdTag{}, connect_loopback(port), true) {}

RawRadioClient::RawRadioClient(FdTag /*unused*/, int fd, bool is_socket)
    : fd_(fd),
      is_socket_(is_socket),
      decoder_(
          [this](std::span<const std::uint8_t> p) { frames_.emplace_back(p.begin(), p.end()); },
          [this](std::string_view line) { text_lines_.emplace_back(line); }) {}

std::unique_ptr<RawRadioClient> RawRadioClient::open_serial(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    termios tio{};
    if (::tcgetattr(fd, &tio) == 0) {
        ::cfmakeraw(&tio);
        ::tcsetattr(fd, TCSANOW, &tio);
    }
    return std::make_unique<RawRadioClient>(FdTag{}, fd, false);
}

RawRadioClient::~RawRadioClient() {
    close();
}

void RawRadioClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    eof_ = true;
}

void RawRadioClient::send_raw(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty() && fd_ >= 0) {
        const ssize_t n = is_socket_ ? ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                                     : ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void RawRadioClient::send(const pb::ToRadio& message) {
    const std::vector<std::uint8_t> frame = radio::encode_frame(message.SerializeAsString());
    if (frame.empty()) throw std::runtime_error("ToRadio too large for one frame");
    send_raw(frame);
}

void RawRadioClient::send_want_config(std::uint32_t nonce) {
    pb::ToRadio message;
    message.set_want_config_id(nonce);
    send(message);
}

void RawRadioClient::send_heartbeat(std::uint32_t nonce) {
    pb::ToRadio message;
    message.mutable_heartbeat()->set_nonce(nonce);
    send(message);
}

pb::MeshPacket RawRadioClient::send_packet(std::uint32_t id, std::uint32_t to, pb::PortNum portnum,
                                           std::string_view payload, bool want_ack) {
    pb::ToRadio message;
    pb::MeshPacket* packet = message.mutable_packet();
    packet->set_id(id);
    packet->set_to(to);
    packet->set_hop_limit(3);
    packet->set_want_ack(want_ack);
    packet->mutable_decoded()->set_portnum(portnum);
    packet->mutable_decoded()->set_payload(std::string(payload));
    send(message);
    return *packet;
}

pb::MeshPacket RawRadioClient::send_text(std::uint32_t id, std::uint32_t to, std::string_view text,
                                         bool want_ack) {
    return send_packet(id, to, pb::TEXT_MESSAGE_APP, text, want_ack);
}

bool RawRadioClient::read_some(std::chrono::steady_clock::time_point deadline) {
    if (eof_ || fd_ < 0) return false;
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd_, POLLIN, 0};
    const int ready =
        ::poll(&pfd, 1, static_cast<int>(std::max<std::int64_t>(0, remaining.count())));
    if (ready <= 0) return false;
    std::uint8_t buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
        eof_ = true;  // 0 = orderly close; ECONNRESET / EIO (pty master gone) count as closed
        return false;
    }
    decoder_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
    return true;
}

std::optional<pb::FromRadio> RawRadioClient::receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        while (!frames_.empty()) {
            const std::vector<std::uint8_t> payload = std::move(frames_.front());
            frames_.pop_front();
            pb::FromRadio message;
            if (message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
                return message;
            }
            ++undecodable_;
        }
        if (!read_some(deadline)) {
            if (frames_.empty()) return std::nullopt;
        }
    }
}

std::optional<pb::FromRadio> RawRadioClient::receive_until(
    std::function<bool(const pb::FromRadio&)> pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto message = receive(std::max(remaining, std::chrono::milliseconds(0)));
        if (!message) return std::nullopt;
        if (pred(*message)) return message;
    }
}

std::vector<pb::FromRadio> RawRadioClient::handshake(std::uint32_t nonce,
                                                     std::chrono::milliseconds timeout) {
    send_want_config(nonce);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<pb::FromRadio> frames;
    for (;;) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto message = receive(std::max(remaining, std::chrono::milliseconds(0)));
        if (!message) return {};
        frames.push_back(*message);
        if (message->has_config_complete_id() && message->config_complete_id() == nonce) {
            return frames;
        }
    }
}

bool RawRadioClient::closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
        if (!read_some(deadline) && !eof_) return false;
    }
    return true;
}

}  // namespace meshbot::testing
