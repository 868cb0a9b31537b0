#include "proxy/proxy_client.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <ctime>

namespace meshbot::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// One write carries up to this much: a burst of small frames costs one system call.
constexpr std::size_t kWriteBatch = 64 * 1024;

}  // namespace

ProxyClient::ProxyClient(asio::ip::tcp::socket socket, std::uint64_t number, std::string address,
                         std::size_t buffer_limit, MessageSink on_message, CloseSink on_close)
    : socket_(std::move(socket)),
      number_(number),
      address_(std::move(address)),
      buffer_limit_(buffer_limit),
      on_message_(std::move(on_message)),
      on_close_(std::move(on_close)),
      decoder_([this](std::span<const std::uint8_t> payload) { on_frame(payload); }),
      wake_writer_(socket_.get_executor(), Clock::time_point::max()),
      since_(static_cast<std::uint64_t>(std::time(nullptr))),
      last_heard_(Clock::now()) {}

void ProxyClient::start() {
    error_code ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);  // a frame is a message: no batching
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
    // The kernel holds at most about as much again as we do for a client that stops reading.
    socket_.set_option(asio::socket_base::send_buffer_size(static_cast<int>(buffer_limit_)), ec);
    asio::co_spawn(socket_.get_executor(), read_loop(shared_from_this()), asio::detached);
    asio::co_spawn(socket_.get_executor(), write_loop(shared_from_this()), asio::detached);
}

void ProxyClient::detach() {
    on_message_ = {};
    on_close_ = {};
}

void ProxyClient::close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_both, ec);
    socket_.close(ec);
    wake_writer_.cancel();
    out_.clear();
    queued_bytes_ = live_bytes_ = 0;
    // on_message_ stays: this may run inside it; on_frame() checks closed_ instead.
    if (auto sink = std::exchange(on_close_, {})) sink(*this, why);
}

void ProxyClient::send(const std::string& payload, bool live) {
    if (closed_) return;
    std::vector<std::uint8_t> frame;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(payload.data());
    if (!radio::encode_frame(std::span(bytes, payload.size()), frame)) return;
    if (live && live_bytes_ + frame.size() > buffer_limit_) {
        close("not reading: " + std::to_string(live_bytes_) + " bytes waiting for it");
        return;
    }
    queued_bytes_ += frame.size();
    if (live) live_bytes_ += frame.size();
    out_.push_back({std::string(frame.begin(), frame.end()), live});
    if (out_.size() == 1) wake_writer_.cancel();
}

void ProxyClient::drop_unsent_handshake() {
    std::erase_if(out_, [this](const Frame& f) {
        if (f.live) return false;
        queued_bytes_ -= f.bytes.size();
        return true;
    });
}

void ProxyClient::on_frame(std::span<const std::uint8_t> payload) {
    if (closed_) return;  // the rest of a read that ended it
    pb::ToRadio message;
    if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        // The firmware drops a malformed ToRadio without a word; so do we, counting it.
        ++counters.undecodable;
        return;
    }
    ++counters.frames_in;
    if (on_message_) on_message_(*this, message);
}

asio::awaitable<void> ProxyClient::read_loop(std::shared_ptr<ProxyClient> /*alive while it runs*/) {
    std::array<std::uint8_t, 4096> buffer{};
    while (!closed_) {
        error_code ec;
        const std::size_t n = co_await socket_.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (closed_) break;
        if (ec) {
            close(ec == asio::error::eof ? "closed by the client" : "read error: " + ec.message());
            break;
        }
        last_heard_ = Clock::now();
        decoder_.feed(std::span(buffer.data(), n));
    }
}

asio::awaitable<void> ProxyClient::write_loop(
    std::shared_ptr<ProxyClient> /*alive while it runs*/) {
    std::string batch;
    while (!closed_) {
        if (out_.empty()) {
            error_code ec;
            wake_writer_.expires_at(Clock::time_point::max());
            co_await wake_writer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        batch.clear();
        std::size_t frames = 0, live = 0;
        while (!out_.empty() &&
               (batch.empty() || batch.size() + out_.front().bytes.size() <= kWriteBatch)) {
            batch += out_.front().bytes;
            if (out_.front().live) live += out_.front().bytes.size();
            out_.pop_front();
            ++frames;
        }
        error_code ec;
        co_await asio::async_write(socket_, asio::buffer(batch),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (closed_) break;
        if (ec) {
            close("write error: " + ec.message());
            break;
        }
        queued_bytes_ -= batch.size();
        live_bytes_ -= live;
        counters.frames_out += frames;
    }
}

}  // namespace meshbot::proxy
