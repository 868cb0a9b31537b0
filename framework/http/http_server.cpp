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
#include <functional>
#include <map>

#include "http/metrics_text.hpp"
#include "http/status_json.hpp"
#include "http/status_page.hpp"
#include "radio/spawn_failure.hpp"

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
    if (token.empty() || authorization.size() != scheme.size() + token.size() ||
        authorization.substr(0, scheme.size()) != scheme)
        return false;
    // Constant time: how much of a guess matched must not show in the answer's timing.
    return CRYPTO_memcmp(authorization.data() + scheme.size(), token.data(), token.size()) == 0;
}

// Without a token the listener is on loopback, where the danger is a web page in the
// operator's own browser whose name was rebound to 127.0.0.1 (DNS rebinding): its requests
// carry that name as Host. Exactly "localhost" or a loopback address, with an optional port.
bool loopback_host(std::string_view host) {
    std::string_view name = host;
    std::string_view port;
    if (host.starts_with("[")) {
        const auto end = host.find(']');
        if (end == std::string_view::npos) return false;
        name = host.substr(1, end - 1);
        port = host.substr(end + 1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon);
    }
    if (!port.empty()) {
        if (port.size() < 2 || port.front() != ':') return false;
        for (const char c : port.substr(1))
            if (c < '0' || c > '9') return false;
    }
    if (name == "localhost") return true;
    const auto loopback = config::loopback_address(std::string(name));
    return loopback && *loopback;
}

// The cached body when it is younger than kBodyReuse, else a fresh one.
const std::string& reuse(BodyCache::Entry& entry, const std::function<std::string()>& build) {
    const auto now = std::chrono::steady_clock::now();
    if (entry.built == std::chrono::steady_clock::time_point{} || now - entry.built >= kBodyReuse) {
        entry.body = build();
        entry.built = now;
    }
    return entry.body;
}

}  // namespace

Response route(const Request& request, const config::HttpConfig& config, const BotView& bot,
               BodyCache& cache) {
    const std::string_view path = request.target.substr(0, request.target.find('?'));
    // Off loopback a token is the only thing between the network and the mesh's data; the
    // config refuses to start without one, and a reload cannot take it away.
    const bool need_token = !config.loopback || !config.token.empty();
    if (!config.loopback && config.token.empty())
        return text(503, "this listener is not on loopback and has no [http] token: refusing all");
    if (!need_token && !loopback_host(request.host))
        return text(421, "this listener answers only to a loopback Host (127.0.0.1, localhost)");
    // Browsers say where a request comes from: the page's own fetches are same-origin, a
    // typed address is "none". Anything else is another site making the browser ask.
    if (!request.fetch_site.empty() && request.fetch_site != "same-origin" &&
        request.fetch_site != "none")
        return text(403, "requests from other sites are refused");
    // The page holds no data of its own: it asks for the token, then sends it with each fetch.
    if (path == "/" || path == "/index.html")
        return Response{200, "text/html; charset=utf-8", std::string(status_page_html()), false};
    if (need_token && !token_matches(request.authorization, config.token)) {
        auto r = text(401, "a token is required (Authorization: Bearer <[http] token>)");
        r.ask_for_token = true;
        return r;
    }
    if (path == "/metrics") {
        const auto& body =
            reuse(cache.metrics, [&] { return metrics_text(bot, config.node_metrics); });
        return Response{200, "text/plain; version=0.0.4; charset=utf-8", body, false};
    }
    if (path == "/api/status") return Response{200, "application/json", status_json(bot), false};
    if (path == "/api/nodes")
        return Response{200, "application/json",
                        reuse(cache.nodes, [&] { return nodes_json(bot); }), false};
    return text(404, "not found: try / (status page) or /metrics");
}

namespace detail {

struct ServerState {
    ServerState(asio::any_io_executor executor, const config::HttpConfig& c, const BotView& b)
        : acceptor(executor), config(c), bot(b) {}

    tcp::acceptor acceptor;
    const config::HttpConfig& config;
    const BotView& bot;
    BodyCache cache;
    bool stopped = false;
    std::uint64_t next_id = 0;
    std::map<std::uint64_t, std::weak_ptr<beast::tcp_stream>> connections;
    std::map<asio::ip::address, std::size_t> per_peer;  // open connections by client address
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

// Forgets a connection however its coroutine ends (returned, threw, or destroyed with the
// io_context), so that its slot is never lost.
struct ConnectionSlot {
    std::shared_ptr<State> state;
    std::uint64_t id;
    asio::ip::address peer;
    ~ConnectionSlot() {
        state->connections.erase(id);
        if (auto it = state->per_peer.find(peer); it != state->per_peer.end() && --it->second == 0)
            state->per_peer.erase(it);
    }
};

std::string_view sv(boost::beast::string_view v) {
    return {v.data(), v.size()};
}

asio::awaitable<void> serve(std::shared_ptr<State> state, std::shared_ptr<beast::tcp_stream> stream,
                            std::uint64_t id, asio::ip::address peer) {
    const ConnectionSlot slot{state, id, peer};
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
        bhttp::request_parser<bhttp::empty_body> parser;
        parser.header_limit(kHeaderLimit);
        parser.body_limit(0);
        stream->expires_after(first ? kFirstRequestDeadline : kIdleDeadline);
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
            r = route(Request{sv(req.target()), sv(req[bhttp::field::host]),
                              sv(req[bhttp::field::authorization]), sv(req["Sec-Fetch-Site"])},
                      state->config, state->bot, state->cache);
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
        const auto peer = socket.remote_endpoint(ec).address();
        if (ec || state->connections.size() >= kMaxConnections ||
            state->per_peer[peer] >= kMaxConnectionsPerPeer) {
            if (!ec && state->per_peer[peer] == 0) state->per_peer.erase(peer);
            socket.close(ec);  // a flood of clients costs them a reset, not the bot its memory
            continue;
        }
        ++state->per_peer[peer];
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        const std::uint64_t id = state->next_id++;
        state->connections.emplace(id, stream);
        asio::co_spawn(state->acceptor.get_executor(), serve(state, stream, id, peer),
                       radio::log_failure("http: a connection failed"));
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
    asio::co_spawn(executor_, accept_loop(state_), radio::log_failure("http: stopped accepting"));
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
