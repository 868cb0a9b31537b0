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
// Per client address: one client cannot take every slot from Prometheus and the operator.
inline constexpr std::size_t kMaxConnectionsPerPeer = 16;
inline constexpr std::chrono::seconds kFirstRequestDeadline{10};
// A kept-alive connection with no next request is closed after this.
inline constexpr std::chrono::seconds kIdleDeadline{5};
// A client that stops reading a large answer (10,000 nodes) is cut off after this.
inline constexpr std::chrono::seconds kWriteDeadline{30};
// /metrics and /api/nodes are built at most once per this period, however many ask: a flood of
// requests (or a web page firing them at 127.0.0.1) cannot keep the event loop busy.
inline constexpr std::chrono::milliseconds kBodyReuse{1000};

// One answer: status code, content type and body, plus the headers every answer gets.
struct Response {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    bool ask_for_token = false;  // 401: adds WWW-Authenticate
};

// What route() reads of a request: its target and three headers (empty when absent).
struct Request {
    std::string_view target;
    std::string_view host;
    std::string_view authorization;
    std::string_view fetch_site;  // Sec-Fetch-Site, sent by browsers
};

// The recently built bodies of the expensive paths. io_context thread.
struct BodyCache {
    struct Entry {
        std::chrono::steady_clock::time_point built{};
        std::string body;
    };
    Entry metrics;
    Entry nodes;
};

// The answer to one GET (or HEAD) request; pure apart from reading the bot and `cache`.
// io_context thread.
Response route(const Request& request, const config::HttpConfig& config, const BotView& bot,
               BodyCache& cache);

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
