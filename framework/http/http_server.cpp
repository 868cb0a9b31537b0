#include "http/http_server.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <map>

#include "http/metrics_text.hpp"
#include "http/status_json.hpp"
#include "http/status_page.hpp"

namespace meshbot::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kHeaderLimit = 8 * 1024;

Response text(unsigned status, std::string body) {
    return Response{status, "text/plain; charset=utf-8", std::move(body) + "\n", false};
}

bool token_matches(std::string_view authorization, const std::string& token) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() != scheme.size() + token.size() ||
        authorization.substr(0, scheme.size()) != scheme)
        return false;
    // Constant time: how much of a guess matched must not show in the answer's timing.
    return CRYPTO_memcmp(authorization.data() + scheme.size(), token.data(), token.size()) == 0;
}

// Without a token the listener is on loopback, where the danger is a web page in the
// operator's own browser whose name was rebound to 127.0.0.1 (DNS rebinding): its requests
// carry that name as Host. Loopback names and addresses only, then.
bool loopback_host(std::string_view host) {
    if (host.starts_with("[")) {
        const auto end = host.find(']');
        return end != std::string_view::npos && host.substr(1, end - 1) == "::1";
    }
    host = host.substr(0, host.find(':'));
    return host == "localhost" || host.starts_with("127.");
}

}  // namespace

Response route(std::string_view target, std::string_view host, std::string_view authorization,
               const config::HttpConfig& config, const BotView& bot) {
    const std::string_view path = target.substr(0, target.find('?'));
    if (config.token.empty() && !loopback_host(host))
        return text(421, "this listener answers only to a loopback Host (127.0.0.1, localhost)");
    // The page holds no data of its own: it asks for the token, then sends it with each fetch.
    if (path == "/" || path == "/index.html")
        return Response{200, "text/html; charset=utf-8", std::string(status_page_html()), false};
    if (!config.token.empty() && !token_matches(authorization, config.token)) {
        auto r = text(401, "a token is required (Authorization: Bearer <[http] token>)");
        r.ask_for_token = true;
        return r;
    }
    if (path == "/metrics")
        return Response{200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics_text(bot, config.node_metrics), false};
    if (path == "/api/status") return Response{200, "application/json", status_json(bot), false};
    if (path == "/api/nodes") return Response{200, "application/json", nodes_json(bot), false};
    return text(404, "not found: try / (status page) or /metrics");
}

namespace detail {

struct ServerState {
    ServerState(asio::any_io_executor executor, const config::HttpConfig& c, const BotView& b)
        : acceptor(executor), config(c), bot(b) {}

    tcp::acceptor acceptor;
    const config::HttpConfig& config;
    const BotView& bot;
    bool stopped = false;
    std::uint64_t next_id = 0;
    std::map<std::uint64_t, std::weak_ptr<beast::tcp_stream>> connections;
};

}  // namespace detail

namespace {

using State = detail::ServerState;

bhttp::response<bhttp::string_body> to_beast(const Response& r, unsigned version, bool keep_alive,
                                             bool head) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
    res.set(bhttp::field::server, "meshbot/" MESHBOT_VERSION);
    res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    // The page is self-contained: nothing loads from anywhere, and it fetches only from here.
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src data:; connect-src 'self'; frame-ancestors 'none'");
    if (r.ask_for_token) res.set(bhttp::field::www_authenticate, "Bearer realm=\"meshbot\"");
    res.body() = r.body;
    res.prepare_payload();
    if (head) res.body().clear();
    res.keep_alive(keep_alive);
    return res;
}

asio::awaitable<void> serve(std::shared_ptr<State> state, std::shared_ptr<beast::tcp_stream> stream,
                            std::uint64_t id) {
    beast::flat_buffer buffer;
    for (;;) {
        bhttp::request_parser<bhttp::empty_body> parser;
        parser.header_limit(kHeaderLimit);
        parser.body_limit(0);
        stream->expires_after(kReadDeadline);
        error_code ec;
        co_await bhttp::async_read(*stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec || state->stopped) break;  // closed, timed out, or not HTTP: nothing to answer
        const auto& req = parser.get();
        Response r;
        const bool head = req.method() == bhttp::verb::head;
        if (req.method() != bhttp::verb::get && !head) {
            r = text(405, "only GET");
        } else {
            const auto sv = [](boost::beast::string_view v) {
                return std::string_view(v.data(), v.size());
            };
            r = route(sv(req.target()), sv(req[bhttp::field::host]),
                      sv(req[bhttp::field::authorization]), state->config, state->bot);
        }
        const bool keep_alive = req.keep_alive() && r.status < 400;
        auto res = to_beast(r, req.version(), keep_alive, head);
        stream->expires_after(kWriteDeadline);
        co_await bhttp::async_write(*stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !keep_alive || state->stopped) break;
    }
    error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->close();
    state->connections.erase(id);
}

void log_failure(const char* what, std::exception_ptr error) {
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::error("http: {}: {}", what, e.what());
    } catch (...) {
        spdlog::error("http: {}", what);
    }
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
    for (;;) {
        error_code ec;
        tcp::socket socket =
            co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (state->stopped) co_return;
        if (ec) {
            // Out of descriptors and the like: say so, and try again a little later rather
            // than spinning.
            spdlog::warn("http: accept failed: {}", ec.message());
            asio::steady_timer pause(state->acceptor.get_executor(),
                                     std::chrono::milliseconds(200));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (state->connections.size() >= kMaxConnections) {
            socket.close(ec);  // a flood of clients costs them a reset, not the bot its memory
            continue;
        }
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        const std::uint64_t id = state->next_id++;
        state->connections.emplace(id, stream);
        asio::co_spawn(state->acceptor.get_executor(), serve(state, stream, id),
                       [](std::exception_ptr e) { log_failure("a connection failed", e); });
    }
}

}  // namespace

HttpServer::HttpServer(asio::any_io_executor executor, const config::HttpConfig& config,
                       const BotView& bot)
    : executor_(executor), state_(std::make_shared<State>(executor, config, bot)) {}

HttpServer::~HttpServer() {
    stop();
}

bool HttpServer::start() {
    const auto& c = state_->config;
    error_code ec;
    const auto address = asio::ip::make_address(c.address, ec);
    const tcp::endpoint endpoint(address, c.port);
    auto& acceptor = state_->acceptor;
    if (!ec) acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        spdlog::error("http: cannot listen on {}:{}: {}; /metrics and the status page are off",
                      c.address, c.port, ec.message());
        acceptor.close(ec);
        return false;
    }
    asio::co_spawn(executor_, accept_loop(state_),
                   [](std::exception_ptr e) { log_failure("stopped accepting", e); });
    const auto bound = acceptor.local_endpoint(ec);
    spdlog::info("http: listening on {}: status page at /, Prometheus metrics at /metrics{}",
                 bound.address().is_v6()
                     ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
                     : bound.address().to_string() + ":" + std::to_string(bound.port()),
                 c.token.empty() ? "" : " (token required)");
    return true;
}

void HttpServer::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    error_code ec;
    state_->acceptor.close(ec);
    for (auto& [id, weak] : state_->connections)
        if (auto stream = weak.lock()) stream->socket().close(ec);
}

std::uint16_t HttpServer::port() const {
    error_code ec;
    const auto endpoint = state_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

}  // namespace meshbot::http
