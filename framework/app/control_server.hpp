#pragma once
// The daemon's local control path: a Unix-domain stream socket, <data_dir>/control.sock, mode
// 0600, through which the operator's CLI reaches the running daemon without a second radio
// connection. The protocol is one request line, one answer line, then the daemon closes:
//
//   ping                 -> ok: pong
//   keys accept <node>   -> ok: <what was accepted>  |  error: <why not>
//   plugins              -> ok: <the plugin table, with "\n" for its line breaks>
//   plugin restart <id>  -> ok: <what happens>  |  error: <why not>
//   plugin reload <id>   -> ok: <what happened>  |  failed: <why not>, once the outcome is
//                           known (within kAnswerDeadline, else error: ...)
//   status               -> ok: <the status, "\n" for line breaks>  |  error: <the same, when
//                           something needs the operator, e.g. keys are not being saved>
//   anything else        -> error: unknown request
//
// Every answer starts with "ok: " or "error: ". A request longer than kMaxRequest bytes, or a
// client that sends no complete line within kClientDeadline, gets an error line and is closed.

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/app_config.hpp"

namespace meshbot::app {

inline constexpr std::size_t kMaxRequest = 256;        // bytes, without the newline
inline constexpr std::size_t kMaxAnswer = 256 * 1024;  // bytes: a whole plugin table
inline constexpr std::chrono::seconds kClientDeadline{5};
// How long a request that answers later (plugin reload) may take before the client is told
// that no outcome is known yet.
inline constexpr std::chrono::seconds kAnswerDeadline{60};
// The daemon never serves more clients at once than this; more get "error: busy".
inline constexpr std::size_t kMaxClients = 16;

// The socket's place in a data directory.
std::filesystem::path control_socket_path(const std::filesystem::path& data_dir);

// What a request handler answers: ok selects the "ok: " or "error: " prefix.
struct ControlReply {
    bool ok = false;
    std::string text;
};

// What the daemon does for the requests; each runs on the io_context thread.
struct ControlHandlers {
    std::function<ControlReply(std::string_view node)> accept_key;
    // ok: every enabled plugin loaded (the answer is "ok: " then, else "failed: ").
    std::function<ControlReply()> plugin_table;
    std::function<ControlReply(std::string_view id)> restart_plugin;
    std::function<ControlReply()> status;
    // Answers later: `answer` runs once on the io_context thread (ok: "ok: ", else "failed: "),
    // possibly before reload_plugin returns; never after the io_context stopped running.
    std::function<void(std::string_view id, std::function<void(ControlReply)> answer)>
        reload_plugin;
};

// A multi-line text as one answer line ("\n" for line breaks, "\\" for backslashes), and back.
std::string escape_lines(std::string_view text);
std::string unescape_lines(std::string_view text);

// The answer line (without its newline) for one request line. Pure apart from the handler it
// calls; a handler that throws becomes an error answer. Any thread the handlers allow.
std::string control_answer(std::string_view request, const ControlHandlers& handlers);
// The plugin id when `request` is a well-formed "plugin reload <id>", the one request that
// answers later (through handlers.reload_plugin); control_answer() answers every other.
std::optional<std::string> reload_request(std::string_view request);

namespace detail {
struct ControlState;  // the acceptor and the clients (control_server.cpp)
}

// Owns the listening socket, its file, and the connected clients (one coroutine each).
// io_context thread only; the io_context must outlive it.
class ControlServer {
public:
    ControlServer(boost::asio::any_io_executor executor, std::filesystem::path socket_path,
                  ControlHandlers handlers);
    ~ControlServer();  // stop()
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Creates the socket (owner-only) and starts accepting. A stale socket file is removed
    // first, but only when no process answers on it. False (logged) when it cannot listen:
    // the daemon then runs without a control path.
    bool start();
    // Closes the socket and every client, and removes the socket file. Idempotent.
    void stop();

    const std::filesystem::path& path() const { return path_; }

private:
    boost::asio::any_io_executor executor_;
    std::filesystem::path path_;
    // Shared with the coroutines, which may outlive this object until the io_context drops them.
    std::shared_ptr<detail::ControlState> state_;
};

// The CLI side: connects to the socket, sends one request, reads the answer line. Blocks the
// calling thread for at most `timeout`. Any thread.
struct ControlResult {
    bool reached = false;  // false: nobody answered (error says why)
    std::string answer;    // the answer line, without its newline
    std::string error;
};
ControlResult control_request(const std::filesystem::path& socket_path, std::string_view request,
                              std::chrono::milliseconds timeout);

// The CLI's one way to a running bot: `request` to the control socket of the config's data
// directory, its answer line; nullopt when no bot answers (`why` says what happened, if given).
std::optional<std::string> ask_running_bot(const config::AppConfig& config,
                                           std::string_view request,
                                           std::chrono::milliseconds timeout,
                                           std::string* why = nullptr);

}  // namespace meshbot::app
