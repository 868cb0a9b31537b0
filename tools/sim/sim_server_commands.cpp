// SimServer's command side: injected traffic, raw bad bytes, drop, reboot.
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
        reboot(reboot_cmd->secs);
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

void SimServer::reboot(double secs) {
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
    to_phone_.clear();  // RAM is lost; the NodeDB lives in flash and is kept
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
