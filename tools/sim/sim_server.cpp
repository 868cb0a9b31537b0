#include "sim_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "radio/frame_codec.hpp"
#include "sim_session.hpp"

namespace meshbot::sim {

SimServer::SimServer(asio::io_context& io, FirmwareModel& model, Recorder& recorder,
                     ServerOptions options)
    : io_(io), model_(model), recorder_(recorder), options_(options), pty_wake_(io) {}

SimServer::~SimServer() = default;

std::string SimServer::start() {
    if (options_.serial) {
        open_pty();
        recorder_.write("listen", JsonLine().add("path", pty_path_));
        asio::co_spawn(io_, pty_reader(), asio::detached);
        asio::co_spawn(io_, pty_writer(), asio::detached);
        asio::co_spawn(io_, pty_ticker(), asio::detached);
        return pty_path_;
    }
    bound_port_ = options_.port;
    open_acceptor();
    recorder_.write("listen", JsonLine().add("port", bound_port_));
    return "127.0.0.1:" + std::to_string(bound_port_);
}

void SimServer::shutdown() {
    stopped_ = true;
    io_.stop();
}

// ---------------------------------------------------------------------------------------- TCP

void SimServer::open_acceptor() {
    // Loopback only: the simulator must never be reachable from the network.
    const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), bound_port_);
    if (!acceptor_) acceptor_.emplace(io_);
    acceptor_->open(endpoint.protocol());
    acceptor_->set_option(tcp::acceptor::reuse_address(true));
    error_code ec;
    acceptor_->bind(endpoint, ec);
    if (ec) {
        acceptor_->close();
        throw std::runtime_error("cannot bind 127.0.0.1:" + std::to_string(bound_port_) + ": " +
                                 ec.message());
    }
    acceptor_->listen();
    bound_port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(io_, accept_loop(++accept_generation_), asio::detached);
}

asio::awaitable<void> SimServer::accept_loop(std::uint64_t generation) {
    for (;;) {
        error_code ec;
        tcp::socket socket = co_await acceptor_->async_accept(asio::redirect_error(kAwait, ec));
        if (stopped_ || generation != accept_generation_ || ec == asio::error::operation_aborted) {
            co_return;  // the acceptor was closed by a reboot or shutdown
        }
        if (ec) {
            warn("accept failed: " + ec.message());
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(kAwait, ec));
            continue;
        }
        // ServerAPI: "Force close previous TCP connection". The old client gets no notice.
        if (current_) close(*current_, "newer_connection");
        socket.set_option(tcp::no_delay(true), ec);
        ConnPtr conn = new_conn();
        conn->socket.emplace(std::move(socket));
        current_ = conn;
        asio::co_spawn(io_, tcp_reader(conn), asio::detached);
        asio::co_spawn(io_, tcp_writer(conn), asio::detached);
    }
}

asio::awaitable<void> SimServer::tcp_reader(ConnPtr conn) {
    std::array<std::uint8_t, 4096> buf{};
    for (;;) {
        error_code ec;
        const std::size_t n = co_await conn->socket->async_read_some(
            asio::buffer(buf), asio::redirect_error(kAwait, ec));
        if (!conn->open) co_return;
        if (ec) {
            const bool eof = ec == asio::error::eof || ec == asio::error::connection_reset;
            if (!eof) warn("read: " + ec.message());
            close(*conn, eof ? "eof" : "error");
            co_return;
        }
        conn->last_rx = Clock::now();
        conn->decoder->feed(std::span<const std::uint8_t>(buf.data(), n));
    }
}

asio::awaitable<void> SimServer::tcp_writer(ConnPtr conn) {
    while (conn->open) {
        if (conn->outbox.empty()) {
            error_code ec;
            conn->wake.expires_at(Clock::time_point::max());
            co_await conn->wake.async_wait(asio::redirect_error(kAwait, ec));
            continue;
        }
        const std::vector<std::uint8_t> bytes = std::move(conn->outbox.front());
        conn->outbox.pop_front();
        error_code ec;
        co_await asio::async_write(*conn->socket, asio::buffer(bytes),
                                   asio::redirect_error(kAwait, ec));
        if (ec && conn->open) {
            warn("write: " + ec.message());
            close(*conn, "error");
        }
    }
}

// ---------------------------------------------------------------------------------------- pty

void SimServer::open_pty() {
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
        if (master >= 0) ::close(master);
        throw std::runtime_error("cannot create a pty");
    }
    const char* name = ::ptsname(master);
    if (name == nullptr) {
        ::close(master);
        throw std::runtime_error("ptsname failed");
    }
    pty_path_ = name;
    // Raw mode lives in the slave's termios; it persists while the master stays open, so a
    // client that opens the slave later gets an 8-bit clean line without echo.
    const int slave = ::open(name, O_RDWR | O_NOCTTY);
    if (slave >= 0) {
        termios tio{};
        if (::tcgetattr(slave, &tio) == 0) {
            ::cfmakeraw(&tio);
            ::tcsetattr(slave, TCSANOW, &tio);
        }
        ::close(slave);
    }
    pty_.emplace(io_, master);
}

asio::awaitable<void> SimServer::pty_reader() {
    std::array<std::uint8_t, 4096> buf{};
    asio::steady_timer retry(io_);
    while (!stopped_) {
        error_code ec;
        const std::size_t n =
            co_await pty_->async_read_some(asio::buffer(buf), asio::redirect_error(kAwait, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // EIO: no process has the slave open. Poll until one does.
            slave_closed();
            retry.expires_after(std::chrono::milliseconds(100));
            co_await retry.async_wait(asio::redirect_error(kAwait, ec));
            continue;
        }
        slave_opened();
        if (rebooting_) continue;  // a rebooting radio hears nothing
        if (!current_) current_ = new_conn();
        const ConnPtr conn = current_;  // keeps the session alive while its frames run
        conn->last_rx = Clock::now();
        conn->decoder->feed(std::span<const std::uint8_t>(buf.data(), n));
    }
}

asio::awaitable<void> SimServer::pty_writer() {
    while (!stopped_) {
        if (pty_outbox_.empty()) {
            error_code ec;
            pty_wake_.expires_at(Clock::time_point::max());
            co_await pty_wake_.async_wait(asio::redirect_error(kAwait, ec));
            continue;
        }
        const std::vector<std::uint8_t> bytes = std::move(pty_outbox_.front());
        pty_outbox_.pop_front();
        error_code ec;
        // An error means the slave went away: those bytes are lost, as on a real UART.
        co_await asio::async_write(*pty_, asio::buffer(bytes), asio::redirect_error(kAwait, ec));
    }
}

asio::awaitable<void> SimServer::pty_ticker() {
    static constexpr std::array<std::string_view, 4> kChatter = {
        "[Power] Battery: usbPower=1, isCharging=0, batMv=4105, batPct=92",
        "[RadioIf] Started Rx",
        "[Router] Rx queue empty, radio idle",
        "[GPS] No GPS lock",
    };
    asio::steady_timer tick(io_);
    while (!stopped_) {
        tick.expires_after(std::chrono::milliseconds(500));
        error_code ec;
        co_await tick.async_wait(asio::redirect_error(kAwait, ec));
        // POLLHUP on the master means no process holds the slave open.
        pollfd pfd{pty_->native_handle(), 0, 0};
        if (::poll(&pfd, 1, 0) >= 0) {
            if ((pfd.revents & POLLHUP) != 0) {
                slave_closed();
            } else {
                slave_opened();
            }
        }
        if (slave_open_ && !rebooting_) {
            device_log("DEBUG", "", kChatter[log_tick_++ % kChatter.size()]);
        }
    }
}

void SimServer::slave_opened() {
    if (slave_open_) return;
    slave_open_ = true;
    if (rebooted_pending_ && !rebooting_) {
        rebooted_pending_ = false;
        device_log("INFO", "", "[Main] Booted meshbot-sim " + std::string(kFirmwareVersion));
        pb::FromRadio rebooted;
        rebooted.set_rebooted(true);
        push_bytes(nullptr, frame_of(rebooted));
    }
}

void SimServer::slave_closed() {
    if (!slave_open_) return;
    slave_open_ = false;
    pty_outbox_.clear();
    ::tcflush(pty_->native_handle(), TCIOFLUSH);
    if (current_) close(*current_, "eof");
}

void SimServer::device_log(std::string_view level, std::string_view tag, std::string_view text) {
    if (!options_.serial || !slave_open_) return;
    // RedirectablePrint style: coloured level, wall clock, uptime, then the message.
    const std::string_view color = level == "INFO"   ? "\x1b[32m"
                                   : level == "WARN" ? "\x1b[33m"
                                                     : "\x1b[34m";
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&now, &tm);
    char prefix[64];
    std::snprintf(prefix, sizeof prefix, "%-5s | %02d:%02d:%02d %u ", std::string(level).c_str(),
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(recorder_.elapsed()));
    std::string line =
        std::string(color) + prefix + std::string(tag) + std::string(text) + "\x1b[0m\r\n";
    // The log channel is ASCII; anything else could be mistaken for a frame start (0x94).
    for (char& c : line) {
        if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    if (pty_outbox_.size() > 256) return;  // nobody is reading: do not grow without bound
    push_bytes(nullptr, std::vector<std::uint8_t>(line.begin(), line.end()));
}

// ----------------------------------------------------------------------------------- sessions

SimServer::ConnPtr SimServer::new_conn() {
    auto conn = std::make_shared<Conn>(io_, next_conn_id_++);
    // The decoder belongs to the Conn, so the raw pointer it captures never dangles.
    conn->decoder = std::make_unique<radio::FrameDecoder>(
        [this, raw = conn.get()](std::span<const std::uint8_t> payload) {
            on_frame(*raw, payload);
        });
    recorder_.write("accept", JsonLine().add("conn", conn->id));
    asio::co_spawn(io_, idle_watch(conn), asio::detached);
    return conn;
}

asio::awaitable<void> SimServer::idle_watch(ConnPtr conn) {
    const auto timeout = seconds(options_.idle_timeout);
    while (conn->open) {
        const auto deadline = conn->last_rx + timeout;
        if (Clock::now() >= deadline) {
            device_log("INFO", "[ServerAPI] ", "TCP connection timeout");
            close(*conn, "idle_timeout");
            co_return;
        }
        conn->idle.expires_at(deadline);
        error_code ec;
        co_await conn->idle.async_wait(asio::redirect_error(kAwait, ec));
    }
}

void SimServer::close(Conn& conn, std::string_view reason) {
    if (!conn.open) return;
    const ConnPtr keep = conn.shared_from_this();  // `conn` may be the last owner's referent
    conn.open = false;
    recorder_.write("close", JsonLine().add("conn", conn.id).add("reason", reason));
    conn.idle.cancel();
    conn.wake.cancel();
    conn.outbox.clear();
    if (conn.socket) {
        error_code ec;
        conn.socket->close(ec);
    }
    if (current_ == keep) current_.reset();
}

void SimServer::on_frame(Conn& conn, std::span<const std::uint8_t> payload) {
    if (!conn.open) return;
    pb::ToRadio msg;
    if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        warn("conn " + std::to_string(conn.id) + ": ignore malformed toradio (" +
             std::to_string(payload.size()) + " bytes)");
        device_log("WARN", "[PhoneAPI] ", "Error: ignore malformed toradio");
        recorder_.write(
            "rx",
            JsonLine().add("conn", conn.id).add("kind", "malformed").add("bytes", payload.size()));
        return;
    }
    const auto rx = [&](std::string_view kind) {
        return JsonLine().add("conn", conn.id).add("kind", kind);
    };
    switch (msg.payload_variant_case()) {
        case pb::ToRadio::kWantConfigId: {
            const std::uint32_t nonce = msg.want_config_id();
            recorder_.write("rx", rx("want_config_id").add("nonce", nonce));
            conn.asked_config = true;
            device_log("INFO", "[PhoneAPI] ", "Start API client config");
            const auto frames = model_.handshake(nonce, epoch_now());
            for (const auto& frame : frames)
                send(conn, frame, false);
            recorder_.write("tx", JsonLine()
                                      .add("conn", conn.id)
                                      .add("kind", "config_complete")
                                      .add("nonce", nonce)
                                      .add("frames", frames.size()));
            conn.configured = true;
            flush_to_phone(conn);
            break;
        }
        case pb::ToRadio::kHeartbeat:
            recorder_.write("rx", rx("heartbeat").add("nonce", msg.heartbeat().nonce()));
            if (conn.asked_config) send(conn, model_.heartbeat_reply());
            break;
        case pb::ToRadio::kDisconnect:
            recorder_.write("rx", rx("disconnect"));
            close(conn, "disconnect");
            break;
        case pb::ToRadio::kPacket:
            on_packet(conn, msg.packet());
            break;
        default:
            recorder_.write("rx",
                            rx("other").add("field", static_cast<int>(msg.payload_variant_case())));
            break;
    }
}

void SimServer::on_packet(Conn& conn, const pb::MeshPacket& packet) {
    const PacketOutcome outcome = model_.handle_packet(conn.phone, packet, mono_now());
    if (outcome.verdict == PacketOutcome::Verdict::duplicate) {
        recorder_.write(
            "rx",
            JsonLine().add("conn", conn.id).add("kind", "duplicate_id").add("id", packet.id()));
        return;
    }
    // Recorded as the client sent it; the firmware then overwrites `from` with its own num.
    const bool decoded = packet.has_decoded();
    const int port = decoded ? static_cast<int>(packet.decoded().portnum()) : 0;
    JsonLine line;
    line.add("conn", conn.id)
        .add("kind", "packet")
        .add("id", packet.id())
        .add("from", packet.from())
        .add("to", packet.to())
        .add("channel", packet.channel())
        .add("portnum", port)
        .add("want_ack", packet.want_ack())
        .add("want_response", decoded && packet.decoded().want_response())
        .add("hop_limit", packet.hop_limit())
        .add("pki_encrypted", packet.pki_encrypted());
    if (decoded && packet.decoded().reply_id() != 0)
        line.add("reply_id", packet.decoded().reply_id());
    if (port == pb::TEXT_MESSAGE_APP) line.add("text", packet.decoded().payload());
    if (!decoded) line.add("encrypted", true);
    line.add("payload_hex", to_hex(decoded ? packet.decoded().payload() : packet.encrypted()));
    recorder_.write("rx", line);
    flush_events();  // after the rx line: delivered, throttled, add_contact, evicted ...
    device_log("DEBUG", "[PhoneAPI] ", "Enqueued local packet id=" + std::to_string(outcome.id));

    if (outcome.verdict == PacketOutcome::Verdict::rate_limited) {
        recorder_.write("rate_limited", JsonLine().add("conn", conn.id).add("id", outcome.id));
        device_log("WARN", "[PhoneAPI] ", "Rate limit portnum 1");
    } else if (outcome.verdict == PacketOutcome::Verdict::throttled) {
        device_log("WARN", "[PhoneAPI] ", "Rate limit portnum " + std::to_string(port));
    }
    for (const auto& reply : outcome.replies) {
        // queueStatus and notifications belong to this connection; routing packets are
        // ordinary live traffic.
        if (reply.has_queuestatus() || reply.has_clientnotification()) {
            if (conn.asked_config) send(conn, reply);  // nothing at all before want_config_id
        } else {
            deliver_live(reply);
        }
    }
    for (const auto& later : outcome.later) {
        asio::co_spawn(io_, deliver_later(later), asio::detached);
    }
}

// ------------------------------------------------------------------------------------- output

void SimServer::send(Conn& conn, const pb::FromRadio& message, bool record) {
    if (!conn.open) return;
    std::vector<std::uint8_t> bytes = frame_of(message);
    if (bytes.empty()) {
        warn("FromRadio too large for one frame; not sent");
        return;
    }
    if (record) record_tx(conn, message);
    push_bytes(&conn, std::move(bytes));
}

void SimServer::push_bytes(Conn* conn, std::vector<std::uint8_t> bytes) {
    if (options_.serial) {
        if (!slave_open_) return;  // nobody would read them; a later opener must not see them
        pty_outbox_.push_back(std::move(bytes));
        pty_wake_.cancel();
    } else if (conn != nullptr && conn->open) {
        conn->outbox.push_back(std::move(bytes));
        conn->wake.cancel();
    }
}

void SimServer::record_tx(const Conn& conn, const pb::FromRadio& message) {
    JsonLine line;
    line.add("conn", conn.id);
    if (message.has_queuestatus()) {
        const auto& qs = message.queuestatus();
        line.add("kind", "queue_status")
            .add("id", qs.mesh_packet_id())
            .add("res", qs.res())
            .add("free", qs.free());
    } else if (message.has_packet()) {
        const auto& p = message.packet();
        if (p.has_decoded() && p.decoded().portnum() == pb::ROUTING_APP) {
            pb::Routing routing;
            routing.ParseFromString(p.decoded().payload());
            line.add("kind", "routing")
                .add("request_id", p.decoded().request_id())
                .add("from", p.from())
                .add("error", static_cast<int>(routing.error_reason()));
        } else {
            line.add("kind", "packet").add("id", p.id()).add("from", p.from()).add("to", p.to());
            if (p.pki_encrypted()) line.add("pki", true);
            if (p.has_decoded()) {
                line.add("portnum", static_cast<int>(p.decoded().portnum()));
                if (p.decoded().request_id() != 0) line.add("request_id", p.decoded().request_id());
                if (p.decoded().portnum() == pb::TEXT_MESSAGE_APP)
                    line.add("text", p.decoded().payload());
            } else {
                line.add("encrypted", true);
            }
        }
    } else if (message.has_clientnotification()) {
        const auto& cn = message.clientnotification();
        line.add("kind", "notification").add("message", cn.message());
        if (cn.has_reply_id()) line.add("reply_id", cn.reply_id());
    } else if (message.has_rebooted()) {
        line.add("kind", "rebooted");
    } else {
        line.add("kind", "other").add("field", static_cast<int>(message.payload_variant_case()));
    }
    recorder_.write("tx", line);
}

void SimServer::deliver_live(const pb::FromRadio& message) {
    if (current_ && current_->open && current_->configured && !rebooting_) {
        send(*current_, message);
        return;
    }
    // MeshService::sendToPhone: 8 slots; TEXT evicts the oldest, anything else is dropped.
    const std::uint32_t id = message.has_packet() ? message.packet().id() : 0;
    const bool is_text = message.has_packet() && message.packet().has_decoded() &&
                         (message.packet().decoded().portnum() == pb::TEXT_MESSAGE_APP ||
                          message.packet().decoded().portnum() == pb::RANGE_TEST_APP);
    if (to_phone_.size() >= kToPhoneQueueLen) {
        if (!is_text) {
            recorder_.write("dropped", JsonLine().add("id", id).add("reason", "queue_full"));
            return;
        }
        const pb::FromRadio& oldest = to_phone_.front();
        recorder_.write("dropped", JsonLine()
                                       .add("id", oldest.has_packet() ? oldest.packet().id() : 0u)
                                       .add("reason", "evicted"));
        to_phone_.pop_front();
    }
    to_phone_.push_back(message);
    recorder_.write("queued", JsonLine().add("id", id));
}

void SimServer::flush_to_phone(Conn& conn) {
    while (!to_phone_.empty() && conn.open) {
        send(conn, to_phone_.front());
        to_phone_.pop_front();
    }
}

asio::awaitable<void> SimServer::deliver_later(DelayedMessage later) {
    asio::steady_timer timer(io_, seconds(later.delay));
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(kAwait, ec));
    if (stopped_) co_return;
    if (later.record) recorder_.write(later.record->ev, later.record->fields);
    // An ACK or reply from another node is a packet our radio heard: it refreshes that node.
    if (later.message.has_packet()) model_.on_air(later.message.packet());
    flush_events();
    deliver_live(later.message);
}

void SimServer::flush_events() {
    for (const RecordEvent& event : model_.take_events())
        recorder_.write(event.ev, event.fields);
}

void SimServer::send_raw(std::string_view what, std::vector<std::uint8_t> bytes) {
    Conn* conn = client();
    if (conn == nullptr && !(options_.serial && slave_open_)) {
        warn(std::string(what) + ": no client connected; ignored");
        return;
    }
    recorder_.write("tx", JsonLine()
                              .add("conn", conn != nullptr ? conn->id : 0u)
                              .add("kind", "raw")
                              .add("what", what)
                              .add("bytes", bytes.size()));
    push_bytes(conn, std::move(bytes));
}

}  // namespace meshbot::sim
