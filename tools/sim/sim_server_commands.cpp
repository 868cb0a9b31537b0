// SimServer's command side: injected traffic, raw bad bytes, drop, reboot, NodeDB edits and
// the liveness of other nodes (beacons, silence, node reboots).
#include "sim_server.hpp"  // first: it brings <utility>, which Boost 1.74's awaitable.hpp needs

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>

#include "sim_session.hpp"

namespace meshbot::sim {

// ----------------------------------------------------------------------------------- commands

SimServer::Conn* SimServer::client() {
    return current_ && current_->open ? current_.get() : nullptr;
}

void SimServer::inject(const pb::MeshPacket& packet) {
    model_.on_air(packet);
    flush_events();
    pb::FromRadio message;
    *message.mutable_packet() = packet;
    deliver_live(message);
}

void SimServer::execute(const Command& command) {
    if (stopped_) return;
    if (auto packet = build_injection(command, model_)) {
        inject(*packet);
        return;
    }
    if (node_command(command)) {
        flush_events();
        return;
    }
    if (const auto* flood = std::get_if<FloodCmd>(&command)) {
        TextCmd text;
        text.from = flood->from.value_or(model_.nodes().empty() ? 0x10000001u
                                                                : model_.nodes().begin()->first);
        for (std::size_t i = 1; i <= flood->count; ++i) {
            text.text = "flood " + std::to_string(i) + "/" + std::to_string(flood->count);
            if (auto packet = build_injection(text, model_)) inject(*packet);
        }
    } else if (const auto* notify = std::get_if<NotifyCmd>(&command)) {
        pb::FromRadio message;
        message.mutable_clientnotification()->set_message(notify->text);
        message.mutable_clientnotification()->set_time(epoch_now());
        message.mutable_clientnotification()->set_level(30);  // WARNING
        if (Conn* conn = client(); conn != nullptr && conn->configured) {
            send(*conn, message);
        } else {
            warn("notify: no configured client; dropped");
        }
    } else if (std::holds_alternative<DropCmd>(command)) {
        if (Conn* conn = client()) {
            close(*conn, "drop");
        } else {
            warn("drop: no client connected");
        }
    } else if (const auto* reboot_cmd = std::get_if<RebootCmd>(&command)) {
        reboot(reboot_cmd->secs, reboot_cmd->lose);
    } else if (const auto* garbage = std::get_if<GarbageCmd>(&command)) {
        std::vector<std::uint8_t> bytes(garbage->count);
        for (auto& b : bytes) {
            b = static_cast<std::uint8_t>(model_.rng()() % 255);
            if (b == radio::kFrameStart1) b = 0xFF;  // never a frame start
        }
        send_raw("garbage", std::move(bytes));
    } else if (std::holds_alternative<OversizeCmd>(command)) {
        std::vector<std::uint8_t> bytes = frame_header(600);
        bytes.insert(bytes.end(), 600, 0x41);
        send_raw("oversize", std::move(bytes));
    } else if (std::holds_alternative<TruncatedCmd>(command)) {
        std::vector<std::uint8_t> bytes = frame_header(100);
        bytes.insert(bytes.end(), 10, 0x08);
        send_raw("truncated", std::move(bytes));
    } else if (std::holds_alternative<UndecodableCmd>(command)) {
        std::vector<std::uint8_t> bytes = frame_header(16);
        bytes.insert(bytes.end(), 16, 0xFF);  // an endless varint: never valid protobuf
        send_raw("undecodable", std::move(bytes));
    } else if (std::holds_alternative<RebootedFrameCmd>(command)) {
        pb::FromRadio message;
        message.set_rebooted(true);
        if (Conn* conn = client()) {
            send(*conn, message);
        } else if (options_.serial && slave_open_) {
            push_bytes(nullptr, frame_of(message));
        } else {
            warn("rebooted-frame: no client connected");
        }
    } else if (std::holds_alternative<QuitCmd>(command)) {
        shutdown();
    }
}

bool SimServer::node_command(const Command& command) {
    if (const auto* forget = std::get_if<ForgetCmd>(&command)) {
        model_.forget(forget->from, "command");
    } else if (const auto* forget_key = std::get_if<ForgetKeyCmd>(&command)) {
        model_.forget_key(forget_key->from);
    } else if (const auto* beacon = std::get_if<BeaconCmd>(&command)) {
        RemoteNode& remote = model_.remote(beacon->from);
        remote.beacon_every = beacon->every;
        ++remote.beacon_generation;  // ends a running loop
        recorder_.write(
            "beacon", JsonLine().add("node", node_name(beacon->from)).add("every", beacon->every));
        if (beacon->every > 0 && !remote.silent) start_beacon(beacon->from);
    } else if (const auto* silence = std::get_if<SilenceCmd>(&command)) {
        RemoteNode& remote = model_.remote(silence->from);
        remote.silent = true;
        ++remote.beacon_generation;
        recorder_.write("silence", JsonLine().add("node", node_name(silence->from)));
    } else if (const auto* back = std::get_if<ReturnCmd>(&command)) {
        model_.remote(back->from).silent = false;
        recorder_.write("return", JsonLine().add("node", node_name(back->from)));
        start_beacon(back->from);
    } else if (const auto* reboot_node = std::get_if<NodeRebootCmd>(&command)) {
        model_.node_reboot(reboot_node->from);
        recorder_.write(
            "node_reboot",
            JsonLine().add("node", node_name(reboot_node->from)).add("uptime", kRebootedUptime));
        start_beacon(reboot_node->from);
    } else {
        return false;
    }
    return true;
}

void SimServer::start_beacon(std::uint32_t node) {
    // The first packet goes out at once, in command order: that is the "immediately" of
    // return and node-reboot, and a new beacon is visible without waiting a whole period.
    RemoteNode& remote = model_.remote(node);
    const std::uint64_t generation = ++remote.beacon_generation;
    inject(model_.node_telemetry(node));
    if (remote.beacon_every > 0) asio::co_spawn(io_, beacon_loop(node, generation), asio::detached);
}

asio::awaitable<void> SimServer::beacon_loop(std::uint32_t node, std::uint64_t generation) {
    asio::steady_timer timer(io_);
    for (;;) {
        timer.expires_after(seconds(model_.remote(node).beacon_every));
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(kAwait, ec));
        // Re-read after the wait: silence, a new beacon or a node reboot may have ended us.
        const RemoteNode& remote = model_.remote(node);
        if (stopped_ || remote.beacon_generation != generation || remote.silent) co_return;
        inject(model_.node_telemetry(node));
    }
}

void SimServer::reboot(double secs, const std::vector<std::uint32_t>& lose) {
    if (rebooting_) {
        warn("reboot: already rebooting");
        return;
    }
    rebooting_ = true;
    if (acceptor_) {
        // Closed, not just idle: connects are refused while the radio is down. Done before
        // anything is recorded or closed, so an observer of either sees a closed port.
        ++accept_generation_;
        error_code ec;
        acceptor_->close(ec);
    }
    recorder_.write("reboot", JsonLine().add("secs", secs));
    pty_outbox_.clear();
    device_log("INFO", "[Main] ", "Rebooting");
    model_.note_reboot();
    to_phone_.clear();  // RAM is lost; the NodeDB lives in flash and is kept ...
    for (const std::uint32_t num : lose)
        model_.forget(num, "reboot");  // ... except what the test asked to lose
    flush_events();
    if (current_) close(*current_, "reboot");
    asio::co_spawn(io_, come_back(secs), asio::detached);
}

asio::awaitable<void> SimServer::come_back(double secs) {
    asio::steady_timer timer(io_, seconds(secs));
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(kAwait, ec));
    if (stopped_) co_return;
    rebooting_ = false;
    if (!options_.serial) {
        // The port may still be held briefly by the closed acceptor; retry for a while.
        for (int attempt = 0;; ++attempt) {
            try {
                open_acceptor();
                break;
            } catch (const std::exception& e) {
                if (attempt >= 50) {
                    warn(std::string("cannot listen again: ") + e.what());
                    co_return;
                }
            }
            timer.expires_after(std::chrono::milliseconds(100));
            co_await timer.async_wait(asio::redirect_error(kAwait, ec));
        }
    } else {
        rebooted_pending_ = true;
        if (slave_open_) {
            slave_open_ = false;
            slave_opened();  // sends the boot banner and the rebooted frame
        }
    }
    recorder_.write("up");
}

}  // namespace meshbot::sim
