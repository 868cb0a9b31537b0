#include "radio/byte_stream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

#include "radio/deadline.hpp"
#include "radio/endpoint_registry.hpp"

namespace meshbot::radio {

namespace {

using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// The read and write both transports do, whatever the Asio stream type underneath.
template <typename AsyncStream>
asio::awaitable<std::size_t> read_some_from(AsyncStream& stream, asio::mutable_buffer buffer,
                                            error_code& ec) {
    co_return co_await stream.async_read_some(buffer, redirect_error(use_awaitable, ec));
}

template <typename AsyncStream>
asio::awaitable<error_code> write_all(AsyncStream& stream, asio::const_buffer buffer) {
    error_code ec;
    co_await asio::async_write(stream, buffer, redirect_error(use_awaitable, ec));
    co_return ec;
}

// How soon the kernel gives up on a radio that vanished (power cut, WiFi gone): keep-alive
// probes on an idle connection, and a limit on how long sent data may stay unacknowledged.
// Neither notices firmware that hangs while its TCP stack still answers; the link's silence
// watchdog does.
struct KeepAlive {
    int idle_s = 60;      // TCP_KEEPIDLE
    int interval_s = 20;  // TCP_KEEPINTVL
    int probes = 3;       // TCP_KEEPCNT
    unsigned user_timeout_ms = 180000;
};

KeepAlive keep_alive_for(const config::RadioConfig& c) {
    const double limit = c.heartbeat_interval.count() * c.silence_multiple;
    KeepAlive k;
    k.idle_s = std::max(1, static_cast<int>(c.heartbeat_interval.count()));
    k.interval_s = std::max(1, k.idle_s / 3);
    k.user_timeout_ms = static_cast<unsigned>(std::max(1000.0, limit * 1000));
    return k;
}

void set_keep_alive(int fd, const KeepAlive& k) {
    // Best effort: a kernel without one of these still has the watchdog.
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &k.idle_s, sizeof k.idle_s);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &k.interval_s, sizeof k.interval_s);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &k.probes, sizeof k.probes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &k.user_timeout_ms, sizeof k.user_timeout_ms);
}

// Owns one TCP socket to the radio's API port.
class TcpStream final : public ByteStream {
public:
    TcpStream(asio::any_io_executor ex, std::string host, std::uint16_t port, KeepAlive keep_alive)
        : resolver_(ex),
          socket_(ex),
          host_(std::move(host)),
          port_(port),
          keep_alive_(keep_alive) {}

    asio::awaitable<error_code> connect(std::chrono::steady_clock::duration timeout) override {
        // At the deadline the lookup is cancelled and the socket closed: the awaits end.
        Deadline deadline(socket_.get_executor());
        deadline.arm(timeout, [this] {
            resolver_.cancel();
            error_code ignored;
            socket_.close(ignored);
        });
        error_code ec;
        auto endpoints = co_await resolver_.async_resolve(host_, std::to_string(port_),
                                                          redirect_error(use_awaitable, ec));
        if (!ec) {
            for (const auto& entry : endpoints) {
                const tcp::endpoint target = entry.endpoint();
                forget();
                socket_.close(ec);
                socket_.open(target.protocol(), ec);
                if (ec) continue;
                // The connect guard refuses connects to a radio from anything but a link socket.
                note_radio_address(target.data(), static_cast<unsigned>(target.size()));
                fd_ = socket_.native_handle();
                allow_link_socket(fd_);
                co_await socket_.async_connect(target, redirect_error(use_awaitable, ec));
                if (!ec || deadline.expired()) break;
            }
        }
        deadline.cancel();
        if (deadline.expired()) ec = asio::error::timed_out;
        if (!ec) socket_.set_option(tcp::no_delay(true), ec);
        if (!ec) set_keep_alive(socket_.native_handle(), keep_alive_);
        co_return ec;
    }

    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
        return read_some_from(socket_, buffer, ec);
    }

    asio::awaitable<error_code> write(asio::const_buffer buffer) override {
        return write_all(socket_, buffer);
    }

    void close() override {
        error_code ignored;
        resolver_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        forget();
        socket_.close(ignored);
    }

    ~TcpStream() override { forget(); }

    bool carries_device_log() const override { return false; }

private:
    void forget() {
        if (fd_ >= 0) forget_link_socket(std::exchange(fd_, -1));
    }

    tcp::resolver resolver_;
    tcp::socket socket_;
    int fd_ = -1;
    std::string host_;
    std::uint16_t port_;
    KeepAlive keep_alive_;
};

// Owns one open serial device (USB CDC, UART or pty).
class SerialStream final : public ByteStream {
public:
    SerialStream(asio::any_io_executor ex, std::string device, unsigned baud)
        : port_(ex), device_(std::move(device)), baud_(baud) {}

    asio::awaitable<error_code> connect(std::chrono::steady_clock::duration) override {
        error_code ec;
        port_.open(device_, ec);
        if (ec) co_return ec;
        using sp = asio::serial_port;
        port_.set_option(sp::baud_rate(baud_), ec);
        if (!ec) port_.set_option(sp::character_size(8), ec);
        if (!ec) port_.set_option(sp::parity(sp::parity::none), ec);
        if (!ec) port_.set_option(sp::stop_bits(sp::stop_bits::one), ec);
        if (!ec) port_.set_option(sp::flow_control(sp::flow_control::none), ec);
        co_return ec;
    }

    asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) override {
        return read_some_from(port_, buffer, ec);
    }

    asio::awaitable<error_code> write(asio::const_buffer buffer) override {
        return write_all(port_, buffer);
    }

    void close() override {
        error_code ignored;
        port_.close(ignored);
    }

    bool carries_device_log() const override { return true; }
    // Like the reference client: 0xC3 bytes make the device parser drop any partial frame.
    std::string preamble() const override { return std::string(32, '\xC3'); }

private:
    asio::serial_port port_;
    std::string device_;
    unsigned baud_;
};

}  // namespace

std::unique_ptr<ByteStream> make_byte_stream(asio::any_io_executor executor,
                                             const config::RadioConfig& config) {
    if (config.transport == config::Transport::serial) {
        return std::make_unique<SerialStream>(executor, config.device, config.baud);
    }
    return std::make_unique<TcpStream>(executor, config.host, config.port, keep_alive_for(config));
}

std::string describe_endpoint(const config::RadioConfig& config) {
    if (config.transport == config::Transport::serial) return config.device;
    return config.host + ":" + std::to_string(config.port);
}

std::string endpoint_key(const config::RadioConfig& config) {
    if (config.transport == config::Transport::serial) return serial_endpoint_key(config.device);
    return tcp_endpoint_key(config.host, config.port);
}

}  // namespace meshbot::radio
