#pragma once
// The simulator's transports: a TCP listener on 127.0.0.1 (newest connection wins, like
// ServerAPI) or a pty (like the USB serial console), the single client session, and the
// to-phone queue that holds mesh traffic while no client has completed the handshake.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange without it
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "firmware_model.hpp"
#include "recorder.hpp"
#include "sim_commands.hpp"

namespace meshbot::sim {

namespace asio = boost::asio;

struct ServerOptions {
    std::uint16_t port = 0;  // 0 = an ephemeral port, kept across reboots
    bool serial = false;     // a pty instead of TCP
    double idle_timeout = 900.0;
};

// Owns the acceptor or pty, the current client session and the to-phone queue; drives the
// FirmwareModel. io_context thread only (the whole simulator is single-threaded).
class SimServer {
public:
    SimServer(asio::io_context& io, FirmwareModel& model, Recorder& recorder,
              ServerOptions options);
    ~SimServer();
    SimServer(const SimServer&) = delete;
    SimServer& operator=(const SimServer&) = delete;

    // Binds 127.0.0.1 or creates the pty and starts serving. Returns "127.0.0.1:PORT" or the
    // pty slave path. Throws std::runtime_error when it cannot.
    std::string start();
    // Runs one command from stdin or the script (`wait` is handled by the caller).
    void execute(const Command& command);
    // Stops serving and the io_context (quit, SIGTERM).
    void shutdown();

private:
    struct Conn;
    using ConnPtr = std::shared_ptr<Conn>;
    using Clock = std::chrono::steady_clock;

    // TCP
    void open_acceptor();
    asio::awaitable<void> accept_loop(std::uint64_t generation);
    asio::awaitable<void> tcp_reader(ConnPtr conn);
    asio::awaitable<void> tcp_writer(ConnPtr conn);
    // pty
    void open_pty();
    asio::awaitable<void> pty_reader();
    asio::awaitable<void> pty_writer();
    asio::awaitable<void> pty_ticker();
    void slave_opened();
    void slave_closed();
    void device_log(std::string_view level, std::string_view tag, std::string_view text);

    // Sessions
    ConnPtr new_conn();
    asio::awaitable<void> idle_watch(ConnPtr conn);
    void on_frame(Conn& conn, std::span<const std::uint8_t> payload);
    void on_packet(Conn& conn, const pb::MeshPacket& packet);
    void close(Conn& conn, std::string_view reason);

    // Output
    void send(Conn& conn, const pb::FromRadio& message, bool record = true);
    void push_bytes(Conn* conn, std::vector<std::uint8_t> bytes);
    void send_raw(std::string_view what, std::vector<std::uint8_t> bytes);
    void record_tx(const Conn& conn, const pb::FromRadio& message);
    // Live traffic for the phone: to the configured client now, else into the to-phone queue.
    void deliver_live(const pb::FromRadio& message);
    void flush_to_phone(Conn& conn);
    asio::awaitable<void> deliver_later(DelayedMessage later);
    // Writes the record events the model queued.
    void flush_events();

    // Commands
    // A packet our radio hears over LoRa: the NodeDB learns from it, then the phone gets it.
    void inject(const pb::MeshPacket& packet);
    void reboot(double secs, const std::vector<std::uint32_t>& lose);
    // Liveness of other nodes (beacon, silence, return, node-reboot).
    bool node_command(const Command& command);
    void start_beacon(std::uint32_t node);
    asio::awaitable<void> beacon_loop(std::uint32_t node, std::uint64_t generation);
    asio::awaitable<void> come_back(double secs);
    Conn* client();

    asio::io_context& io_;
    FirmwareModel& model_;
    Recorder& recorder_;
    ServerOptions options_;

    std::optional<asio::ip::tcp::acceptor> acceptor_;
    std::uint16_t bound_port_ = 0;
    std::uint64_t accept_generation_ = 0;

    std::optional<asio::posix::stream_descriptor> pty_;
    std::string pty_path_;
    bool slave_open_ = false;
    bool rebooted_pending_ = true;  // the boot frame waits until someone opens the slave
    std::deque<std::vector<std::uint8_t>> pty_outbox_;
    asio::steady_timer pty_wake_;
    std::uint64_t log_tick_ = 0;

    ConnPtr current_;
    std::uint64_t next_conn_id_ = 1;
    std::deque<pb::FromRadio> to_phone_;
    bool rebooting_ = false;
    bool stopped_ = false;
};

}  // namespace meshbot::sim
