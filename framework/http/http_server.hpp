#pragma once
// The bot's one HTTP listener: GET /metrics (Prometheus), GET / (the live status page) and the
// page's data, /api/status and /api/nodes. Loopback by default; on any other address every
// request but the page itself needs `Authorization: Bearer <[http] token>`.
//
//   client --TCP--> accept (at most kMaxConnections) --> read request (kReadDeadline, 8 KiB of
//   header) --> route --> write (kWriteDeadline) --> keep-alive: next request, or close

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/app_config.hpp"
#include "http/bot_view.hpp"

namespace meshbot::http {

inline constexpr std::size_t kMaxConnections = 64;
inline constexpr std::chrono::seconds kReadDeadline{15};
// A client that stops reading a large answer (10,000 nodes) is cut off after this.
inline constexpr std::chrono::seconds kWriteDeadline{30};

// One answer: status code, content type and body, plus the headers every answer gets.
struct Response {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    bool ask_for_token = false;  // 401: adds WWW-Authenticate
};

// The answer to one GET (or HEAD) request; pure apart from reading the bot. `host` and
// `authorization` are the request's headers (empty when absent). io_context thread.
Response route(std::string_view target, std::string_view host, std::string_view authorization,
               const config::HttpConfig& config, const BotView& bot);

namespace detail {
struct ServerState;  // the acceptor and the open connections (http_server.cpp)
}

// Owns the listening socket and the connections (one coroutine each). io_context thread only;
// the io_context and the bot must outlive it.
class HttpServer {
public:
    HttpServer(boost::asio::any_io_executor executor, const config::HttpConfig& config,
               const BotView& bot);
    ~HttpServer();  // stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts accepting; false (logged) when it cannot: the bot runs without it.
    bool start();
    // Closes the listener and every connection. Idempotent.
    void stop();
    std::uint16_t port() const;  // the bound port (config port 0: the one the kernel chose)

private:
    boost::asio::any_io_executor executor_;
    std::shared_ptr<detail::ServerState> state_;
};

}  // namespace meshbot::http
