#pragma once
// The byte pipe under a radio link: a TCP socket or a serial port. Everything above it
// (framing, handshake, heartbeat, outbox) is shared.

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "config/app_config.hpp"

namespace meshbot::radio {

namespace asio = boost::asio;
using boost::system::error_code;

// One connection attempt's worth of transport. Created and used by the link on its
// io_context thread; close() may be called at any time to abort pending operations.
class ByteStream {
public:
    virtual ~ByteStream() = default;

    virtual asio::awaitable<error_code> connect(std::chrono::steady_clock::duration timeout) = 0;
    virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, error_code& ec) = 0;
    virtual asio::awaitable<error_code> write(asio::const_buffer buffer) = 0;
    virtual void close() = 0;

    // On serial the device prints its log between frames; on TCP only frames arrive.
    virtual bool carries_device_log() const = 0;
    // Bytes to send right after connecting (the serial wake-up that resyncs the device parser).
    virtual std::string preamble() const { return {}; }
};

std::unique_ptr<ByteStream> make_byte_stream(asio::any_io_executor executor,
                                             const config::RadioConfig& config);

// "127.0.0.1:4403" or "/dev/ttyUSB0": for logs and messages.
std::string describe_endpoint(const config::RadioConfig& config);
// The EndpointRegistry key for this config.
std::string endpoint_key(const config::RadioConfig& config);

}  // namespace meshbot::radio
