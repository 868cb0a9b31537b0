#include "radio/radio_link.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <ctime>
#include <random>

#include "admin.pb.h"
#include "config/duration_text.hpp"
#include "portnums.pb.h"
#include "radio/endpoint_registry.hpp"
#include "radio/ip_address.hpp"
#include "radio/spawn_failure.hpp"

namespace meshbot::radio {

namespace {

using asio::redirect_error;
using asio::use_awaitable;

Clock::duration to_clock(config::Seconds s) {
    return std::chrono::duration_cast<Clock::duration>(s);
}

// A repeated warning about the radio's bytes is logged once, then summed up per period.
constexpr auto kWarningPeriod = std::chrono::seconds(10);

SessionOptions session_options(const config::RadioConfig& c) {
    SessionOptions o;
    o.dedupe_window = to_clock(c.dedupe_window);
    return o;
}

OutboxOptions outbox_options(const config::RadioConfig& c) {
    OutboxOptions o;
    o.capacity = c.outbox_capacity;
    o.expiry = to_clock(c.outbox_expiry);
    o.text_gap = to_clock(c.text_gap);
    o.telemetry_gap = to_clock(c.telemetry_gap);
    o.traceroute_gap = to_clock(c.traceroute_gap);
    return o;
}

}  // namespace

const char* to_string(LinkState state) {
    switch (state) {
        case LinkState::idle:
            return "idle";
        case LinkState::connecting:
            return "connecting";
        case LinkState::handshaking:
            return "handshaking";
        case LinkState::ready:
            return "ready";
        case LinkState::backoff:
            return "backoff";
        case LinkState::stopped:
            return "stopped";
    }
    return "?";
}

bool firmware_answers_heartbeat(const std::string& version) {
    unsigned major = 0, minor = 0, patch = 0;
    if (std::sscanf(version.c_str(), "%u.%u.%u", &major, &minor, &patch) < 2) return false;
    return std::tie(major, minor, patch) >= std::make_tuple(2u, 7u, 4u);
}

RadioLink::RadioLink(asio::any_io_executor executor, config::RadioConfig config, Handlers handlers)
    : executor_(executor),
      config_(std::move(config)),
      handlers_(std::move(handlers)),
      claim_(endpoint_key(config_)),
      description_(describe_endpoint(config_)),
      session_(session_options(config_)),
      outbox_(outbox_options(config_), std::random_device{}()),
      backoff_(config_.backoff_initial, config_.backoff_max, std::random_device{}()),
      decoder_([this](std::span<const std::uint8_t> p) { on_frame(p); },
               [this](std::string_view text) { on_unframed_text(text); }),
      undecodable_warnings_(executor, kWarningPeriod,
                            [this](std::uint64_t more, Clock::duration period) {
                                spdlog::warn(
                                    "radio {}: dropped {} more undecodable frames in "
                                    "the last {} ({} in all)",
                                    description_, more, config::duration_text(period),
                                    stats_.undecodable);
                            }),
      garbage_warnings_(executor, kWarningPeriod,
                        [this](std::uint64_t more, Clock::duration period) {
                            spdlog::warn(
                                "radio {}: skipped bytes outside any frame {} more "
                                "times in the last {}",
                                description_, more, config::duration_text(period));
                        }),
      writer_timer_(executor),
      watchdog_timer_(executor),
      backoff_timer_(executor),
      housekeeping_timer_(executor) {
    // The guards know the radio's port before the first connect: any spelling of this machine
    // at that port is the radio (and a literal address is the radio at once).
    if (config_.transport == config::Transport::tcp) {
        const auto port = static_cast<std::uint16_t>(config_.port);
        const auto endpoint = parse_ip(config_.host, port).value_or(*parse_ip("0.0.0.0", port));
        note_radio_endpoint(endpoint);
    }
}

RadioLink::~RadioLink() = default;

void RadioLink::start() {
    if (running_) return;
    running_ = true;
    asio::co_spawn(executor_, run(), [this](std::exception_ptr error) {
        if (error)
            spdlog::critical("radio {}: link actor failed: {}", description_, failure_text(error));
        running_ = false;
        housekeeping_timer_.cancel();
        outbox_.cancel_all();
        set_state(LinkState::stopped, "stopped");
        if (stop_done_) std::exchange(stop_done_, {})();
    });
    asio::co_spawn(executor_, housekeeping_loop(), asio::detached);
}

void RadioLink::stop(std::function<void()> done) {
    if (!running_) {
        if (done) asio::post(executor_, std::move(done));  // after this call, like every end
        return;
    }
    stop_done_ = std::move(done);
    if (stopping_) return;
    stopping_ = true;
    backoff_timer_.cancel();
    if (stream_ && !lost_ && (state_ == LinkState::handshaking || state_ == LinkState::ready)) {
        pb::ToRadio bye;
        bye.set_disconnect(true);
        queue_to_radio(bye);
        // The writer closes the connection once the queue is flushed; the watchdog gives it
        // a deadline when it wakes.
        watchdog_timer_.cancel();
    } else if (stream_) {
        lose("stopping");
    }
}

std::uint32_t RadioLink::send(pb::MeshPacket packet, SendCallback done) {
    const std::uint32_t id = outbox_.enqueue(std::move(packet), done, Clock::now());
    if (id == 0) {
        ++stats_.outbox_refused;
        // Refused: the caller hears it from the event loop, after this call has returned.
        if (done) {
            asio::post(executor_, [done = std::move(done)] {
                SendResult refused;
                refused.status = SendResult::Status::rejected_full;
                done(refused);
            });
        }
        return 0;
    }
    wake_housekeeping();
    wake_writer();
    return id;
}

asio::awaitable<void> RadioLink::run() {
    while (!stopping_) {
        co_await run_connection();
        if (stopping_) break;
        const auto delay = backoff_.next();
        set_state(LinkState::backoff, "reconnecting in " + config::duration_text(delay) +
                                          " (attempt " + std::to_string(backoff_.attempts()) + ")");
        backoff_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(delay));
        error_code ec;
        co_await backoff_timer_.async_wait(redirect_error(use_awaitable, ec));
    }
}

asio::awaitable<void> RadioLink::run_connection() {
    ++stats_.connect_attempts;  // first: the state listener reports this attempt's number
    set_state(LinkState::connecting, "connecting to " + description_);
    stream_ = make_byte_stream(executor_, config_);
    lost_ = false;
    lost_reason_.clear();
    const error_code ec = co_await stream_->connect(to_clock(config_.connect_timeout));
    if (ec || stopping_) {
        spdlog::warn("radio {}: connect failed: {}", description_,
                     stopping_ ? "stopping" : ec.message());
        if (!stopping_) last_error_ = "connect failed: " + ec.message();
        stream_->close();
        stream_.reset();
        co_return;
    }
    ++stats_.connections;
    decoder_.reset();
    write_queue_.clear();
    stats_.last_rx = stats_.last_frame = Clock::now();
    if (auto preamble = stream_->preamble(); !preamble.empty()) {
        write_queue_.emplace_back(preamble.begin(), preamble.end());
    }
    start_handshake("connected");

    co_await run_loops();

    const bool was_ready = state_ == LinkState::ready;
    const auto ready_for = Clock::now() - stats_.ready_since;
    outbox_.on_link_down();
    stream_.reset();
    write_queue_.clear();
    spdlog::log(stopping_ ? spdlog::level::info : spdlog::level::warn, "radio {}: link lost: {}",
                description_, lost_reason_);
    last_error_ = lost_reason_;
    if (was_ready && ready_for >= to_clock(config_.backoff_reset_after)) backoff_.reset();
    if (was_ready && handlers_.on_down) handlers_.on_down(lost_reason_);
}

asio::awaitable<void> RadioLink::run_loops() {
    auto ex = co_await asio::this_coro::executor;
    int running = 3;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    auto on_exit = [&](std::exception_ptr error) {
        if (error) lose("internal error in the link");
        if (--running == 0) all_done.cancel();
    };
    asio::co_spawn(ex, read_loop(), on_exit);
    asio::co_spawn(ex, write_loop(), on_exit);
    asio::co_spawn(ex, watchdog_loop(), on_exit);
    while (running > 0) {
        error_code ec;
        co_await all_done.async_wait(redirect_error(use_awaitable, ec));
    }
}

asio::awaitable<void> RadioLink::read_loop() {
    std::array<std::uint8_t, 4096> buffer{};
    while (!lost_) {
        error_code ec;
        const std::size_t n = co_await stream_->read_some(asio::buffer(buffer), ec);
        if (lost_) break;
        if (ec) {
            lose(ec == asio::error::eof ? "connection closed by the radio"
                                        : "read error: " + ec.message());
            break;
        }
        stats_.last_rx = Clock::now();
        stats_.bytes_in += n;
        decoder_.feed(std::span(buffer.data(), n));
    }
}

asio::awaitable<void> RadioLink::write_loop() {
    while (!lost_) {
        if (!write_queue_.empty()) {
            const std::vector<std::uint8_t> frame = std::move(write_queue_.front());
            write_queue_.pop_front();
            const error_code ec = co_await stream_->write(asio::buffer(frame));
            if (lost_) break;
            if (ec) {
                lose("write error: " + ec.message());
                break;
            }
            ++stats_.frames_out;
            stats_.bytes_out += frame.size();
            continue;
        }
        if (stopping_) {
            lose("stopped");
            break;
        }
        auto wake_at = Clock::time_point::max();
        if (session_.ready()) {
            if (auto packet =
                    outbox_.take_next(Clock::now(), session_.radio().hop_limit(), wake_at)) {
                pb::ToRadio message;
                *message.mutable_packet() = std::move(*packet);
                queue_to_radio(message);
                continue;
            }
        }
        writer_timer_.expires_at(wake_at);
        error_code ec;
        co_await writer_timer_.async_wait(redirect_error(use_awaitable, ec));
    }
}

asio::awaitable<void> RadioLink::watchdog_loop() {
    const auto heartbeat_interval = to_clock(config_.heartbeat_interval);
    const auto stop_deadline = Clock::now() + std::chrono::hours(24 * 365);
    auto stopping_deadline = stop_deadline;
    while (!lost_) {
        const auto now = Clock::now();
        if (stopping_ && stopping_deadline == stop_deadline) {
            stopping_deadline = now + std::chrono::seconds(2);
        }
        if (now >= stopping_deadline) {
            lose("stopped (flush timed out)");
            break;
        }
        if (session_.handshaking() && now >= handshake_deadline_) {
            lose("handshake timed out after " + config::duration_text(config_.handshake_timeout));
            break;
        }
        // Bytes alone prove nothing: a radio that sends only garbage is as lost as a silent one.
        const auto silence = to_clock(config_.heartbeat_interval * config_.silence_multiple);
        if (session_.ready() && now - stats_.last_frame >= silence) {
            std::string why = "no decodable frame from the radio for " +
                              config::duration_text(now - stats_.last_frame);
            if (stats_.last_rx > stats_.last_frame) why += " (only undecodable bytes)";
            lose(why);
            break;
        }
        if (session_.refreshing() && now >= refresh_deadline_) {
            spdlog::warn(
                "radio {}: the radio did not answer a config refresh in {}; its last "
                "config stands",
                description_, config::duration_text(config_.handshake_timeout));
            session_.cancel_refresh();
            refresh_deadline_ = Clock::time_point::max();
            refresh_again_ = false;
        }
        if (session_.ready() && now >= next_heartbeat_) {
            pb::ToRadio heartbeat;
            heartbeat.mutable_heartbeat()->set_nonce(0);  // nonce 1 would rebroadcast our NodeInfo
            queue_to_radio(heartbeat);
            if (!radio_answers_heartbeats_ && now - stats_.last_frame >= heartbeat_interval)
                probe_radio();
            next_heartbeat_ = now + heartbeat_interval;
        }
        auto next = stopping_deadline;
        if (session_.handshaking()) next = std::min(next, handshake_deadline_);
        if (session_.ready()) {
            next = std::min({next, next_heartbeat_, stats_.last_frame + silence});
        }
        if (session_.refreshing()) next = std::min(next, refresh_deadline_);
        watchdog_timer_.expires_at(next);
        error_code ec;
        co_await watchdog_timer_.async_wait(redirect_error(use_awaitable, ec));
    }
}

asio::awaitable<void> RadioLink::housekeeping_loop() {
    // Outbox deadlines (expiry, ack timeouts) also run out while no connection exists. With an
    // empty outbox there is none: it sleeps until a send wakes it, so an idle bot wakes only
    // for the link's own timers.
    while (running_) {
        outbox_.tick(Clock::now());
        housekeeping_idle_ = outbox_.queued() == 0 && outbox_.awaiting_answer() == 0;
        if (housekeeping_idle_)
            housekeeping_timer_.expires_at(Clock::time_point::max());
        else
            housekeeping_timer_.expires_after(std::chrono::seconds(1));
        error_code ec;
        co_await housekeeping_timer_.async_wait(redirect_error(use_awaitable, ec));
    }
}

void RadioLink::wake_housekeeping() {
    if (housekeeping_idle_) housekeeping_timer_.cancel();
}

void RadioLink::probe_radio() {
    // Answered by the radio itself (local admin needs no session key), with no airtime.
    pb::AdminMessage admin;
    admin.set_get_device_metadata_request(true);
    pb::MeshPacket probe;
    probe.set_to(session_.radio().my_node_num);
    probe.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    probe.mutable_decoded()->set_want_response(true);
    probe.mutable_decoded()->set_payload(admin.SerializeAsString());
    SendCallback none;
    if (outbox_.enqueue(std::move(probe), none, Clock::now()) == 0) return;
    wake_housekeeping();
    wake_writer();
}

void RadioLink::start_handshake(const std::string& why) {
    refresh_deadline_ = Clock::time_point::max();  // a full handshake supersedes a refresh
    refresh_again_ = false;
    const std::uint32_t nonce = random_config_nonce();
    const auto now = Clock::now();
    session_.begin_handshake(nonce, now, static_cast<std::uint32_t>(std::time(nullptr)));
    handshake_deadline_ = now + to_clock(config_.handshake_timeout);
    set_state(LinkState::handshaking,
              why + ", requesting config (nonce " + std::to_string(nonce) + ")");
    pb::ToRadio request;
    request.set_want_config_id(nonce);
    queue_to_radio(request);
}

void RadioLink::refresh_config() {
    if (!session_.ready() || !stream_ || lost_) return;
    if (session_.refreshing()) {
        refresh_again_ = true;  // the change came after the running one was asked for
        return;
    }
    const std::uint32_t nonce = random_config_nonce();
    session_.begin_refresh(nonce);
    refresh_deadline_ = Clock::now() + to_clock(config_.handshake_timeout);
    watchdog_timer_.cancel();  // it sleeps until its next deadline; this one may be earlier
    spdlog::info("radio {}: refreshing the radio's config (nonce {})", description_, nonce);
    pb::ToRadio request;
    request.set_want_config_id(nonce);
    queue_to_radio(request);
}

void RadioLink::on_frame(std::span<const std::uint8_t> payload) {
    ++stats_.frames_in;
    pb::FromRadio message;
    if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        ++stats_.undecodable;
        if (undecodable_warnings_.allow()) {
            spdlog::warn("radio {}: dropped an undecodable frame of {} bytes", description_,
                         payload.size());
        }
        return;
    }
    const auto now = Clock::now();
    stats_.last_frame = now;
    const SessionEvent event = session_.on_from_radio(message, now);
    using Kind = SessionEvent::Kind;
    switch (event.kind) {
        case Kind::ready: {
            ++stats_.handshakes;
            stats_.ready_since = now;
            const RadioInfo& radio = session_.radio();
            radio_answers_heartbeats_ =
                firmware_answers_heartbeat(radio.metadata.firmware_version());
            next_heartbeat_ = now + to_clock(config_.heartbeat_interval);
            char detail[160];
            std::snprintf(detail, sizeof detail, "node %s, %zu other nodes, firmware %s",
                          node_id(radio.my_node_num).c_str(), radio.nodes.size(),
                          radio.metadata.firmware_version().c_str());
            set_state(LinkState::ready, detail);
            if (!radio_answers_heartbeats_) {
                spdlog::info(
                    "radio {}: this firmware does not answer heartbeats; a quiet radio "
                    "is asked for its metadata instead",
                    description_);
            }
            watchdog_timer_.cancel();  // it slept until the handshake deadline
            if (handlers_.on_ready) handlers_.on_ready(radio);
            wake_writer();
            break;
        }
        case Kind::refreshed:
            refresh_deadline_ = Clock::time_point::max();
            spdlog::info("radio {}: config refreshed ({} other nodes)", description_,
                         session_.radio().nodes.size());
            if (handlers_.on_refreshed) handlers_.on_refreshed(session_.radio());
            if (std::exchange(refresh_again_, false)) refresh_config();
            break;
        case Kind::restart_handshake: {
            const bool was_ready = state_ == LinkState::ready;
            outbox_.on_link_down();
            start_handshake(event.reason);
            if (was_ready && handlers_.on_down) handlers_.on_down(event.reason);
            break;
        }
        case Kind::packet:
            outbox_.on_routing(message.packet(), now);
            // Relayed before the bot's own work on it (store, commands, plugins): the virtual
            // node's clients do not wait for that.
            if (message_listener_) message_listener_(message, event);
            if (handlers_.on_packet) handlers_.on_packet(message.packet(), event.replayed);
            wake_writer();
            return;
        case Kind::duplicate:
            ++stats_.duplicates;
            spdlog::debug("radio {}: dropped duplicate packet {:#010x} from {}", description_,
                          message.packet().id(), node_id(message.packet().from()));
            break;
        case Kind::queue_status:
            outbox_.on_queue_status(message.queuestatus(), now);
            stats_.radio_queue_free = message.queuestatus().free();
            stats_.radio_queue_max = message.queuestatus().maxlen();
            wake_writer();
            break;
        case Kind::notification:
            spdlog::warn("radio {}: {}", description_, event.reason);
            break;
        case Kind::stale_complete:
            spdlog::debug("radio {}: ignored config_complete_id {} (not our nonce)", description_,
                          message.config_complete_id());
            break;
        case Kind::none:
            if (message.has_log_record()) {
                spdlog::debug("radio log: {}", message.log_record().message());
            }
            break;
    }
    if (message_listener_) message_listener_(message, event);
}

void RadioLink::on_unframed_text(std::string_view text) {
    if (stream_ && stream_->carries_device_log()) {
        spdlog::debug("radio log: {}", text);
        return;
    }
    // Over TCP only frames should arrive; say so, but not for every burst.
    if (garbage_warnings_.allow())
        spdlog::warn("radio {}: skipped bytes outside any frame", description_);
}

void RadioLink::queue_to_radio(const pb::ToRadio& message) {
    std::vector<std::uint8_t> frame;
    const std::string payload = message.SerializeAsString();
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(payload.data());
    if (!encode_frame(std::span(bytes, payload.size()), frame)) {
        spdlog::error("radio {}: refused to send a {}-byte message (limit {})", description_,
                      payload.size(), kMaxFramePayload);
        return;
    }
    write_queue_.push_back(std::move(frame));
    wake_writer();
}

void RadioLink::lose(std::string reason) {
    if (lost_) return;
    lost_ = true;
    lost_reason_ = std::move(reason);
    if (stream_) stream_->close();
    writer_timer_.cancel();
    watchdog_timer_.cancel();
}

void RadioLink::set_state(LinkState state, const std::string& detail) {
    state_ = state;
    spdlog::info("radio {}: {}: {}", description_, to_string(state), detail);
    if (state_listener_) state_listener_();
}

void RadioLink::wake_writer() {
    writer_timer_.cancel();
}

}  // namespace meshbot::radio
