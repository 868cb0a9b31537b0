#include "app/control_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "nodes/store_files.hpp"
#include "plugin_host/utf8_chunker.hpp"
#include "radio/deadline.hpp"
#include "radio/spawn_failure.hpp"

namespace meshbot::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::redirect_error;
using asio::use_awaitable;
using boost::system::error_code;
using Socket = asio::local::stream_protocol::socket;
using Endpoint = asio::local::stream_protocol::endpoint;

namespace {

// How long an answer may take to leave once it is ready (the peer stopped reading).
constexpr std::chrono::seconds kWriteDeadline{1};

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (is_blank(text.front()) || text.front() == '\r'))
        text.remove_prefix(1);
    while (!text.empty() && (is_blank(text.back()) || text.back() == '\r'))
        text.remove_suffix(1);
    return text;
}

// The next blank-separated word of `text`, removed from it.
std::string_view next_word(std::string_view& text) {
    text = trim(text);
    std::size_t end = 0;
    while (end < text.size() && !is_blank(text[end]))
        ++end;
    const auto word = text.substr(0, end);
    text.remove_prefix(end);
    return word;
}

// A request as the log shows it: anything a client sends is untrusted.
std::string printable(std::string_view text) {
    return plugins::printable(text, 80);
}

// Answers are one line by contract, whatever a handler returns.
std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
}

}  // namespace

fs::path control_socket_path(const fs::path& data_dir) {
    return data_dir / "control.sock";
}

namespace {

// Why `request` (trimmed) cannot be a request at all, or "".
std::string_view malformed(std::string_view request) {
    for (const char c : request) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return "error: bad request (control characters)";
    }
    if (!plugins::is_valid_utf8(request)) return "error: bad request (not UTF-8)";
    return {};
}

}  // namespace

std::optional<std::string> reload_request(std::string_view request) {
    request = trim(request);
    if (!malformed(request).empty()) return std::nullopt;
    if (next_word(request) != "plugin" || next_word(request) != "reload") return std::nullopt;
    const auto id = trim(request);
    if (id.empty()) return std::nullopt;
    return std::string(id);
}

std::string control_answer(std::string_view request, const ControlHandlers& handlers) {
    request = trim(request);
    if (const auto why = malformed(request); !why.empty()) return std::string(why);
    std::string_view rest = request;
    const auto verb = next_word(rest);
    if (verb == "ping" && trim(rest).empty()) return "ok: pong";
    if (verb == "keys" && next_word(rest) == "accept") {
        const auto node = trim(rest);
        if (node.empty()) return "error: usage: keys accept <node>";
        if (!handlers.accept_key) return "error: not available";
        try {
            const auto reply = handlers.accept_key(node);
            return (reply.ok ? "ok: " : "error: ") + one_line(reply.text);
        } catch (const std::exception& e) {
            return "error: internal error: " + one_line(e.what());
        } catch (...) {
            return "error: internal error";
        }
    }
    if (verb == "plugins" && trim(rest).empty()) {
        if (!handlers.plugin_table) return "error: not available";
        const auto table = handlers.plugin_table();
        return (table.ok ? "ok: " : "failed: ") + escape_lines(table.text);
    }
    if (verb == "status" && trim(rest).empty()) {
        if (!handlers.status) return "error: not available";
        const auto reply = handlers.status();
        return (reply.ok ? "ok: " : "error: ") + escape_lines(reply.text);
    }
    const auto subverb = verb == "plugin" ? next_word(rest) : std::string_view();
    if (subverb == "restart") {
        const auto id = trim(rest);
        if (id.empty()) return "error: usage: plugin restart <id>";
        if (!handlers.restart_plugin) return "error: not available";
        const auto reply = handlers.restart_plugin(id);
        return (reply.ok ? "ok: " : "error: ") + one_line(reply.text);
    }
    if (subverb == "reload") {  // with an id and a handler it answers later (serve_client)
        return trim(rest).empty() ? "error: usage: plugin reload <id>" : "error: not available";
    }
    return "error: unknown request";
}

std::string escape_lines(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c == '\r' ? ' ' : c;
        }
    }
    return out;
}

std::string unescape_lines(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            out += text[++i] == 'n' ? '\n' : text[i];
        } else {
            out += text[i];
        }
    }
    return out;
}

namespace detail {

// What the server and its client coroutines share; io_context thread only.
struct ControlState {
    explicit ControlState(asio::any_io_executor executor, ControlHandlers h)
        : acceptor(executor), handlers(std::move(h)) {}

    asio::local::stream_protocol::acceptor acceptor;
    ControlHandlers handlers;
    bool stopped = false;
    std::uint64_t next_id = 0;
    std::map<std::uint64_t, std::weak_ptr<Socket>> clients;
    ino_t inode = 0;  // of the socket file we created, so stop() never removes another's
    dev_t device = 0;
};

}  // namespace detail

namespace {

using StatePtr = std::shared_ptr<detail::ControlState>;

void close_socket(Socket& socket) {
    error_code ignored;
    socket.shutdown(Socket::shutdown_both, ignored);
    socket.close(ignored);
}

// Answers and closes at once, best effort and never waiting: a flood of clients must not hold
// up the daemon.
void turn_away(Socket& socket, std::string_view answer) {
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(answer), ignored);
    close_socket(socket);
}

// True when the peer runs as the daemon's user (or root).
bool same_user(Socket& socket) {
    ucred cred{};
    socklen_t length = sizeof cred;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0)
        return false;
    return cred.uid == ::geteuid() || cred.uid == 0;
}

// Arms `deadline` to cancel the client's pending operation when it expires.
void arm(radio::Deadline& deadline, const std::shared_ptr<Socket>& socket,
         std::chrono::steady_clock::duration after) {
    deadline.arm(after, [weak = std::weak_ptr<Socket>(socket)] {
        if (auto s = weak.lock()) {
            error_code ignored;
            s->cancel(ignored);
        }
    });
}

// Waits (without holding up the loop) for a request that answers later, for at most
// kAnswerDeadline. A client that went away meanwhile only finds its answer unsent.
asio::awaitable<std::string> answer_later(
    const std::string& id,
    const std::function<void(std::string_view, std::function<void(ControlReply)>)>& handler) {
    auto executor = co_await asio::this_coro::executor;
    auto answer = std::make_shared<std::optional<std::string>>();
    auto wake = std::make_shared<asio::steady_timer>(executor, kAnswerDeadline);
    try {
        handler(id, [answer, weak = std::weak_ptr<asio::steady_timer>(wake)](ControlReply reply) {
            if (*answer) return;  // once
            *answer = (reply.ok ? "ok: " : "failed: ") + one_line(std::move(reply.text));
            if (auto timer = weak.lock()) timer->cancel();
        });
    } catch (const std::exception& e) {
        co_return "error: internal error: " + one_line(e.what());
    }
    if (!*answer) {
        error_code ec;
        co_await wake->async_wait(redirect_error(use_awaitable, ec));
    }
    if (*answer) co_return **answer;
    co_return "error: no outcome within " + std::to_string(kAnswerDeadline.count()) +
        " s; `meshbot plugins` shows how " + id + " is doing";
}

asio::awaitable<void> serve_client(StatePtr state, std::shared_ptr<Socket> socket,
                                   std::uint64_t id) {
    radio::Deadline deadline(socket->get_executor());
    arm(deadline, socket, kClientDeadline);

    std::string buffer;
    error_code ec;
    const std::size_t n =
        co_await asio::async_read_until(*socket, asio::dynamic_buffer(buffer, kMaxRequest + 1),
                                        '\n', redirect_error(use_awaitable, ec));
    // A last line without its newline (`printf ping | socat - UNIX:...`) counts as well.
    const bool unterminated = ec == asio::error::eof && !buffer.empty();
    std::string answer;
    if (state->stopped) {
        // Shutting down: the client just sees the connection close.
    } else if (!ec || unterminated) {
        const std::string_view request =
            std::string_view(buffer).substr(0, ec ? buffer.size() : n - 1);
        const auto reload_id = reload_request(request);
        if (reload_id && state->handlers.reload_plugin) {
            answer = co_await answer_later(*reload_id, state->handlers.reload_plugin);
        } else {
            answer = control_answer(request, state->handlers);
        }
        const bool refused =
            answer.rfind("error: unknown", 0) == 0 || answer.rfind("error: bad", 0) == 0;
        if (refused) {
            spdlog::warn("control socket: refused request '{}': {}", printable(request), answer);
        } else if (trim(request) == "ping" || trim(request) == "status") {
            spdlog::debug("control socket: {}", trim(request));  // monitoring asks often
        } else {
            spdlog::info("control socket: '{}' -> {}", printable(request), answer);
        }
    } else if (ec == asio::error::not_found) {
        answer = "error: request too long (at most " + std::to_string(kMaxRequest) + " bytes)";
        spdlog::warn("control socket: refused a request of more than {} bytes", kMaxRequest);
    } else if (deadline.expired()) {
        answer = "error: timeout (no complete request line within " +
                 std::to_string(kClientDeadline.count()) + " s)";
        spdlog::warn("control socket: closed a client that sent no request line within {} s",
                     kClientDeadline.count());
    }

    if (!answer.empty() && !state->stopped) {
        arm(deadline, socket, kWriteDeadline);
        answer += '\n';
        co_await asio::async_write(*socket, asio::buffer(answer),
                                   redirect_error(use_awaitable, ec));
    }
    deadline.cancel();
    close_socket(*socket);
    state->clients.erase(id);
}

asio::awaitable<void> accept_loop(StatePtr state) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer pause(executor);
    while (!state->stopped) {
        error_code ec;
        Socket socket = co_await state->acceptor.async_accept(redirect_error(use_awaitable, ec));
        if (state->stopped || ec == asio::error::operation_aborted) break;
        if (ec) {
            // Out of descriptors, say: wait a little rather than spin on the error.
            spdlog::warn("control socket: accept failed: {}", ec.message());
            pause.expires_after(std::chrono::milliseconds(200));
            co_await pause.async_wait(redirect_error(use_awaitable, ec));
            continue;
        }
        if (!same_user(socket)) {
            // The file's mode already keeps others out; this also covers a socket file whose
            // mode someone loosened.
            spdlog::warn("control socket: refused a client of another user");
            turn_away(socket, "error: permission denied\n");
            continue;
        }
        if (state->clients.size() >= kMaxClients) {
            turn_away(socket, "error: busy\n");
            continue;
        }
        auto client = std::make_shared<Socket>(std::move(socket));
        const std::uint64_t id = ++state->next_id;
        state->clients.emplace(id, client);
        asio::co_spawn(executor, serve_client(state, client, id),
                       radio::log_failure("control socket: client failed"));
    }
}

}  // namespace

ControlServer::ControlServer(asio::any_io_executor executor, fs::path socket_path,
                             ControlHandlers handlers)
    : executor_(executor),
      path_(std::move(socket_path)),
      state_(std::make_shared<detail::ControlState>(executor, std::move(handlers))) {}

ControlServer::~ControlServer() {
    stop();
}

namespace {

// True when a process accepts connections on the socket file at `path`.
bool someone_listens(const fs::path& path) {
    nodes::FileHandle fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

bool ControlServer::start() {
    if (state_->acceptor.is_open() || state_->stopped) return state_->acceptor.is_open();
    if (path_.native().size() >= sizeof(sockaddr_un::sun_path)) {
        spdlog::error(
            "control socket: {} is too long for a Unix socket path ({} bytes at most); "
            "running without it: stop the daemon to use `meshbot keys accept`",
            path_.string(), sizeof(sockaddr_un::sun_path) - 1);
        return false;
    }
    std::error_code fec;
    const auto status = fs::symlink_status(path_, fec);
    if (fs::exists(status)) {
        if (!fs::is_socket(status)) {
            spdlog::error("control socket: {} exists and is not a socket; running without it",
                          path_.string());
            return false;
        }
        if (someone_listens(path_)) {
            spdlog::error("control socket: another process answers on {}; running without it",
                          path_.string());
            return false;
        }
        fs::remove(path_, fec);  // left behind by a daemon that did not stop cleanly
    }

    auto& acceptor = state_->acceptor;
    error_code ec;
    acceptor.open(asio::local::stream_protocol(), ec);
    if (!ec) {
        // Owner-only from the first instant: bind() creates the file with the umask applied,
        // and a chmod afterwards would leave a window. Nothing else runs yet (plugins start
        // later), so changing the process-wide umask briefly is safe.
        const mode_t old_mask = ::umask(077);
        acceptor.bind(Endpoint(path_.string()), ec);
        ::umask(old_mask);
    }
    if (!ec && ::chmod(path_.c_str(), 0600) != 0)
        ec = error_code(errno, boost::system::system_category());
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        spdlog::error("control socket: cannot listen on {}: {}; running without it", path_.string(),
                      ec.message());
        error_code ignored;
        acceptor.close(ignored);
        return false;
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        state_->inode = st.st_ino;
        state_->device = st.st_dev;
    }
    asio::co_spawn(executor_, accept_loop(state_),
                   radio::log_failure("control socket: stopped accepting"));
    spdlog::info("control socket: listening on {}", path_.string());
    return true;
}

void ControlServer::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    const bool listening = state_->acceptor.is_open();
    error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& [id, weak] : state_->clients) {
        if (auto socket = weak.lock()) close_socket(*socket);
    }
    state_->clients.clear();
    if (!listening) return;
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_ino == state_->inode &&
        st.st_dev == state_->device) {
        std::error_code fec;
        fs::remove(path_, fec);
    }
}

std::optional<std::string> ask_running_bot(const config::AppConfig& config,
                                           std::string_view request,
                                           std::chrono::milliseconds timeout, std::string* why) {
    auto result = control_request(control_socket_path(config.bot.data_dir), request, timeout);
    if (!result.reached) {
        if (why) *why = std::move(result.error);
        return std::nullopt;
    }
    return std::move(result.answer);
}

ControlResult control_request(const fs::path& socket_path, std::string_view request,
                              std::chrono::milliseconds timeout) {
    ControlResult result;
    sockaddr_un address{};
    if (socket_path.native().size() >= sizeof address.sun_path) {
        result.error = socket_path.string() + " is too long for a Unix socket path";
        return result;
    }
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    nodes::FileHandle fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        result.error = std::string("cannot create a socket: ") + std::strerror(errno);
        return result;
    }
    // Bounds connect() and send() (a daemon that stopped accepting has a full backlog).
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        result.error = "cannot connect to " + socket_path.string() + ": " + std::strerror(errno);
        return result;
    }
    std::string out(request);
    out += '\n';
    for (std::string_view rest = out; !rest.empty();) {
        const ssize_t n = ::send(fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            result.error = "cannot send to " + socket_path.string() + ": " + std::strerror(errno);
            return result;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string answer;
    char chunk[512];
    while (answer.find('\n') == std::string::npos && answer.size() < kMaxAnswer) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.error =
                "no answer from the daemon within " + std::to_string(timeout.count()) + " ms";
            return result;
        }
        pollfd p{fd.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;  // the deadline check above ends it
        const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // closed (or reset after its answer)
        answer.append(chunk, static_cast<std::size_t>(n));
    }
    const auto end = answer.find('\n');
    if (end == std::string::npos) {
        result.error = "the daemon closed the connection without an answer";
        return result;
    }
    result.reached = true;
    result.answer = answer.substr(0, end);
    return result;
}

}  // namespace meshbot::app
