// PluginHost: what loaded plugins do at run time (registrations, events, timers, sends).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <memory>

#include "plugin_host/plugin_host.hpp"
#include "plugin_host/utf8_chunker.hpp"
#include "portnums.pb.h"
#include "radio/radio_info.hpp"

namespace meshbot::plugins {

namespace {

constexpr std::size_t kRememberedEvents = 1024;
// A plugin timer further out than this is a bug (or an overflow waiting to happen).
constexpr std::uint64_t kMaxTimerMs = 366ull * 24 * 3600 * 1000;
constexpr auto kDefaultResponseTimeout = std::chrono::seconds(60);

spdlog::level::level_enum to_spdlog(mb_log_level level) {
    switch (level) {
        case MB_LOG_TRACE:
            return spdlog::level::trace;
        case MB_LOG_DEBUG:
            return spdlog::level::debug;
        case MB_LOG_WARN:
            return spdlog::level::warn;
        case MB_LOG_ERROR:
            return spdlog::level::err;
        default:
            return spdlog::level::info;
    }
}

// The packet as plugins see it; `storage` keeps the serialized MeshPacket alive.
mb_packet to_abi(const pb::MeshPacket& p, bool replayed, std::uint32_t my_node,
                 std::string& storage) {
    storage = p.SerializeAsString();
    mb_packet out{};
    out.struct_size = sizeof out;
    out.from = p.from();
    out.to = p.to();
    out.id = p.id();
    out.channel = p.channel();
    if (p.has_decoded()) {
        out.portnum = static_cast<std::uint32_t>(p.decoded().portnum());
        const auto& payload = p.decoded().payload();
        out.payload =
            mb_bytes{reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()};
        out.request_id = p.decoded().request_id();
        out.want_response = p.decoded().want_response();
    }
    out.pki_encrypted = p.pki_encrypted();
    out.is_dm = my_node != 0 && p.to() == my_node;
    out.replayed = replayed;
    out.rx_snr = p.rx_snr();
    out.rx_rssi = p.rx_rssi();
    out.hops_away = p.hop_start() != 0 && p.hop_start() >= p.hop_limit()
                        ? static_cast<std::int32_t>(p.hop_start() - p.hop_limit())
                        : -1;
    out.rx_time = p.rx_time();
    out.mesh_packet =
        mb_bytes{reinterpret_cast<const std::uint8_t*>(storage.data()), storage.size()};
    return out;
}

mb_send_status to_abi(radio::SendResult::Status status) {
    using S = radio::SendResult::Status;
    switch (status) {
        case S::acked:
            return MB_SEND_ACKED;
        case S::sent:
            return MB_SEND_SENT;
        case S::nak:
            return MB_SEND_NAK;
        case S::timeout:
            return MB_SEND_TIMEOUT;
        case S::expired:
            return MB_SEND_EXPIRED;
        case S::rejected_full:
            return MB_SEND_REJECTED;
        case S::cancelled:
            return MB_SEND_CANCELLED;
        case S::refused:
        case S::reissued:
            return MB_SEND_REJECTED;
    }
    return MB_SEND_INVALID;
}

}  // namespace

// Runs one plugin callback: never for a plugin that is not loaded, timed against the budget,
// and with whatever it dropped released afterwards (never while its own code is running).
template <typename Body>
void PluginHost::invoke(PluginRecord& plugin, const char* what, Body&& body) {
    if (!plugin.active() || plugin.retiring) return;
    const auto start = std::chrono::steady_clock::now();
    // In the bot, the watchdog must be able to say whose code holds the loop. The outermost
    // callback counts (a plugin's call may run another plugin's callback inside it).
    bool marked = false;
    if (!plugin.out_of_process()) {
        const std::lock_guard lock(running_mutex_);
        if (running_.empty()) {
            running_ = "plugin " + plugin.id() + ": its " + what;
            running_since_ = start;
            marked = true;
        }
    }
    try {
        body();
    } catch (...) {
        report_fault(plugin, std::string(what) + ": exception thrown across the plugin boundary");
    }
    if (marked) {
        const std::lock_guard lock(running_mutex_);
        running_.clear();
    }
    // A runner reports its callback's own time when it returns (RunnerBridge); here only the
    // hand-over to it was measured.
    if (!plugin.out_of_process()) warn_slow(plugin, what, std::chrono::steady_clock::now() - start);
    flush_releases();
}

std::string PluginHost::stuck_callback(std::chrono::steady_clock::duration threshold) const {
    const std::lock_guard lock(running_mutex_);
    const auto took = std::chrono::steady_clock::now() - running_since_;
    if (running_.empty() || took < threshold) return {};
    return running_ + " (for " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(took).count()) + " s)";
}

bool PluginHost::on_loop_thread(PluginRecord& plugin, const char* call) {
    if (std::this_thread::get_id() == loop_thread_) return true;
    spdlog::error(
        "plugin {}: {} called from another thread; the host API is for the event loop only",
        plugin.id(), call);
    return false;
}

void PluginHost::log(PluginRecord& plugin, mb_log_level level, std::string_view text) {
    unsigned dropped = 0;
    const bool take = plugin.log_budget.take(std::chrono::steady_clock::now(), dropped);
    if (dropped > 0) {
        spdlog::warn("[{}] {} log lines dropped (over {} a second)", plugin.id(), dropped,
                     LineBudget::kLinesPerSecond);
    }
    if (take)
        spdlog::log(to_spdlog(level), "[{}] {}", plugin.id(), printable(text, kMaxLogLineBytes));
}

void PluginHost::report_fault(PluginRecord& plugin, std::string_view what) {
    spdlog::error("plugin {}: {}", plugin.id(), what);
    // A retiring plugin is on its way out already: its stop decides what happens.
    if (!plugin.active() || plugin.retiring || !count_fault(plugin, what)) return;
    router_.remove_owner(plugin.id());
    // We may be inside the plugin's own code right now: unload once it has returned.
    boost::asio::post(executor_, [this, p = &plugin, alive = std::weak_ptr<int>(plugin.alive)] {
        if (alive.expired() || p->retiring) return;
        if (p->status.state == PluginState::faulted) unload(*p);  // not if restarted meanwhile
    });
}

std::uint64_t PluginHost::remember_event(const pb::MeshPacket& packet) {
    const std::uint64_t id = next_event_++;
    events_.emplace(id, ReplyTarget{packet.from(), packet.channel()});
    while (events_.size() > kRememberedEvents)
        events_.erase(events_.begin());
    return id;
}

mb_result PluginHost::reply(PluginRecord& plugin, std::uint64_t event, std::string_view text) {
    auto it = events_.find(event);
    if (it == events_.end()) {
        spdlog::warn("plugin {}: reply to an unknown or too old event", plugin.id());
        return MB_ERR_NOT_FOUND;
    }
    mesh_.send_text(it->second.to, it->second.channel, text);
    return MB_OK;
}

mb_result PluginHost::send_text(PluginRecord&, std::uint32_t to, std::uint32_t channel,
                                std::string_view text) {
    if (channel >= radio::kChannelCount || text.empty()) return MB_ERR_ARGUMENT;
    mesh_.send_text(to, channel, text);
    return MB_OK;
}

mb_result PluginHost::send_data(PluginRecord& plugin, const mb_data_request& request,
                                mb_send_fn done, void* user, mb_release_fn release,
                                std::uint32_t* out_id) {
    const Closure closure{user, release};
    auto refuse = [&](mb_result why, const char* message, int routing_error = 0) {
        mb_send_result r{};
        r.struct_size = sizeof r;
        r.status = MB_SEND_REJECTED;
        r.routing_error = routing_error;
        r.message = mb_str{message, std::strlen(message)};
        if (done) invoke(plugin, "send_data callback", [&] { done(user, &r); });
        defer_release(closure);
        flush_releases();
        return why;
    };
    if (request.portnum == 0 || request.payload.size > 233 ||
        request.channel >= radio::kChannelCount) {
        return refuse(MB_ERR_ARGUMENT,
                      "invalid request (portnum 0, payload over 233 bytes or bad channel)");
    }
    pb::MeshPacket packet;
    packet.set_to(request.to);
    packet.set_channel(request.channel);
    packet.set_want_ack(request.want_ack);
    auto* data = packet.mutable_decoded();
    data->set_portnum(static_cast<pb::PortNum>(request.portnum));
    data->set_payload(reinterpret_cast<const char*>(request.payload.data), request.payload.size);
    data->set_want_response(request.want_response);

    const auto timeout = request.timeout_ms ? std::chrono::milliseconds(request.timeout_ms)
                                            : std::chrono::milliseconds(kDefaultResponseTimeout);
    // A refusal can come back before send_packet returns, with the reason in words.
    auto refusal = std::make_shared<radio::SendResult>();
    const std::uint32_t id =
        mesh_.send_packet(std::move(packet), [this, refusal](const radio::SendResult& r) {
            using S = radio::SendResult::Status;
            auto it = pending_.find(r.id);
            if (it == pending_.end()) {
                *refusal = r;
                return;
            }
            if (r.status == S::reissued) {  // the key sync re-sent it under a new id
                auto node = pending_.extract(it);
                node.key() = r.reissued_as;
                pending_.insert(std::move(node));
                return;
            }
            // With want_response the answer is what counts; an ACK only says it got there.
            if (it->second.want_response && (r.status == S::acked || r.status == S::sent)) {
                it->second.deadline = std::chrono::steady_clock::now() + it->second.timeout;
                arm_sweep();
                return;
            }
            mb_send_result result{};
            result.struct_size = sizeof result;
            result.status = to_abi(r.status);
            result.id = r.id;
            result.routing_error = r.routing_error;
            result.from = r.from;
            result.message = mb_str{r.message.data(), r.message.size()};
            finish_send(r.id, result);
        });
    if (id == 0) {
        if (refusal->message.empty()) return refuse(MB_ERR_FULL, "the outbox is full");
        return refuse(MB_ERR_REFUSED, refusal->message.c_str(), refusal->routing_error);
    }
    // Until the radio takes it the outbox's own expiry and ACK timeout end the wait; this
    // deadline is only the backstop should an end never be reported.
    const auto backstop = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              config_.radio.outbox_expiry) +
                          std::chrono::minutes(2) + timeout;
    pending_.emplace(id, PendingSend{&plugin, done, closure, request.want_response != 0, timeout,
                                     std::chrono::steady_clock::now() + backstop});
    arm_sweep();
    if (out_id) *out_id = id;
    return MB_OK;
}

void PluginHost::finish_send(std::uint32_t id, const mb_send_result& result) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    PendingSend send = it->second;
    pending_.erase(it);
    if (send.fn)
        invoke(*send.plugin, "send_data callback", [&] { send.fn(send.closure.user, &result); });
    defer_release(send.closure);
    flush_releases();
}

void PluginHost::sweep_pending() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::uint32_t> expired;
    for (const auto& [id, send] : pending_) {
        if (now >= send.deadline) expired.push_back(id);
    }
    for (const auto id : expired) {
        mb_send_result r{};
        r.struct_size = sizeof r;
        r.status = MB_SEND_TIMEOUT;
        r.id = id;
        finish_send(id, r);
    }
    arm_sweep();
}

// The timer runs only while a send waits, for its earliest deadline: an idle bot wakes only
// for its heartbeat and the timers plugins asked for.
void PluginHost::arm_sweep() {
    if (pending_.empty()) {
        sweep_timer_.cancel();
        sweep_armed_ = false;
        return;
    }
    auto earliest = pending_.begin()->second.deadline;
    for (const auto& [id, send] : pending_)
        earliest = std::min(earliest, send.deadline);
    if (sweep_armed_ && sweep_timer_.expiry() == earliest) return;
    sweep_armed_ = true;
    sweep_timer_.expires_at(earliest);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;  // re-armed or cancelled: that one's handler sweeps
        sweep_armed_ = false;
        sweep_pending();
    });
}

mb_result PluginHost::register_command(PluginRecord& plugin, const mb_command_spec& spec,
                                       mb_command_fn fn, void* user, mb_release_fn release) {
    const Closure closure{user, release};
    CommandEntry entry;
    entry.name.assign(spec.name.data ? spec.name.data : "", spec.name.size);
    entry.args.assign(spec.args.data ? spec.args.data : "", spec.args.size);
    entry.help.assign(spec.help.data ? spec.help.data : "", spec.help.size);
    entry.scope = spec.scope;
    entry.privileged = spec.privileged != 0;
    entry.owner = plugin.id();
    // A restarting or reloaded plugin takes back the name its "busy" stand-in kept for it.
    take_back_stand_in(plugin, entry.name);
    PluginRecord* p = &plugin;
    entry.handler = [this, p, fn, user](const CommandCall& call) {
        std::string storage;
        const mb_packet packet = to_abi(call.packet, false, mesh_.directory().self_num(), storage);
        mb_command command{};
        command.struct_size = sizeof command;
        command.event = call.event;
        command.packet = &packet;
        command.name = mb_str{call.name.data(), call.name.size()};
        command.args = mb_str{call.args.data(), call.args.size()};
        invoke(*p, "command handler", [&] { fn(user, &command); });
    };
    if (fn == nullptr) {
        defer_release(closure);
        return MB_ERR_ARGUMENT;
    }
    if (std::string why = router_.add(std::move(entry)); !why.empty()) {
        spdlog::error("plugin {}: {}", plugin.id(), why);
        plugin.last_refusal = std::move(why);
        defer_release(closure);
        return MB_ERR_REFUSED;
    }
    // The router owns the handler; the release happens when the plugin unloads.
    subscriptions_.emplace(next_id_++,
                           Subscription{&plugin, MB_EVENT_INVALID, 0, nullptr, closure});
    return MB_OK;
}

std::uint64_t PluginHost::subscribe(PluginRecord& plugin, mb_event_kind kind, std::uint32_t portnum,
                                    mb_event_fn fn, void* user, mb_release_fn release) {
    if (fn == nullptr || kind < MB_EVENT_TEXT || kind > MB_EVENT_LINK_DOWN) {
        defer_release({user, release});
        return 0;
    }
    const std::uint64_t id = next_id_++;
    subscriptions_.emplace(id, Subscription{&plugin, kind, portnum, fn, {user, release}});
    return id;
}

void PluginHost::unsubscribe(PluginRecord& plugin, std::uint64_t id) {
    auto it = subscriptions_.find(id);
    // A command's record (kind invalid) is not a subscription: the router still calls it.
    if (it == subscriptions_.end() || it->second.plugin != &plugin ||
        it->second.kind == MB_EVENT_INVALID)
        return;
    defer_release(it->second.closure);
    subscriptions_.erase(it);
}

void PluginHost::dispatch(mb_event_kind kind, std::uint32_t portnum, const mb_event& event) {
    std::vector<std::uint64_t> targets;  // handlers may (un)subscribe while we deliver
    for (const auto& [id, s] : subscriptions_) {
        if (s.kind == kind && (kind != MB_EVENT_PACKET || s.portnum == 0 || s.portnum == portnum)) {
            targets.push_back(id);
        }
    }
    for (const auto id : targets) {
        auto it = subscriptions_.find(id);
        if (it == subscriptions_.end()) continue;
        const Subscription s = it->second;
        invoke(*s.plugin, "event handler", [&] { s.fn(s.closure.user, &event); });
    }
}

bool PluginHost::has_subscribers(mb_event_kind kind) const {
    return std::any_of(subscriptions_.begin(), subscriptions_.end(),
                       [kind](const auto& item) { return item.second.kind == kind; });
}

void PluginHost::on_text(const pb::MeshPacket& packet, bool replayed, std::uint64_t event) {
    if (!has_subscribers(MB_EVENT_TEXT)) return;
    std::string storage;
    const mb_packet p = to_abi(packet, replayed, mesh_.directory().self_num(), storage);
    mb_event e{};
    e.struct_size = sizeof e;
    e.kind = MB_EVENT_TEXT;
    e.event = event;
    e.packet = &p;
    dispatch(MB_EVENT_TEXT, 0, e);
}

void PluginHost::on_packet(const pb::MeshPacket& packet, bool replayed) {
    if (!packet.has_decoded()) return;
    const auto& data = packet.decoded();
    const bool answers_request = data.request_id() != 0 && pending_.count(data.request_id()) != 0;
    if (!answers_request && !has_subscribers(MB_EVENT_PACKET)) return;  // the common case: cheap
    std::string storage;
    const mb_packet p = to_abi(packet, replayed, mesh_.directory().self_num(), storage);
    // An answer to one of our want_response requests completes it.
    if (data.request_id() != 0 && data.portnum() != pb::ROUTING_APP) {
        auto it = pending_.find(data.request_id());
        if (it != pending_.end() && it->second.want_response) {
            mb_send_result r{};
            r.struct_size = sizeof r;
            r.status = MB_SEND_RESPONSE;
            r.id = data.request_id();
            r.from = packet.from();
            r.response = &p;
            finish_send(data.request_id(), r);
        }
    }
    // A routing error that comes late (NO_RESPONSE from the far end, MAX_RETRANSMIT after the
    // radio's retries) still ends a want_response request: nothing else will answer it.
    if (data.request_id() != 0 && data.portnum() == pb::ROUTING_APP) {
        auto it = pending_.find(data.request_id());
        pb::Routing routing;
        if (it != pending_.end() && it->second.want_response &&
            routing.ParseFromString(data.payload()) && routing.error_reason() != 0) {
            mb_send_result r{};
            r.struct_size = sizeof r;
            r.status = MB_SEND_NAK;
            r.id = data.request_id();
            r.routing_error = routing.error_reason();
            r.from = packet.from();
            finish_send(data.request_id(), r);
        }
    }
    mb_event e{};
    e.struct_size = sizeof e;
    e.kind = MB_EVENT_PACKET;
    e.packet = &p;
    dispatch(MB_EVENT_PACKET, static_cast<std::uint32_t>(data.portnum()), e);
}

void PluginHost::on_link_up() {
    mb_event e{};
    e.struct_size = sizeof e;
    e.kind = MB_EVENT_LINK_UP;
    dispatch(MB_EVENT_LINK_UP, 0, e);
}

void PluginHost::on_link_down(std::string_view reason) {
    mb_event e{};
    e.struct_size = sizeof e;
    e.kind = MB_EVENT_LINK_DOWN;
    e.reason = mb_str{reason.data(), reason.size()};
    dispatch(MB_EVENT_LINK_DOWN, 0, e);
}

std::uint64_t PluginHost::timer_start(PluginRecord& plugin, std::uint64_t delay_ms,
                                      std::uint64_t period_ms, mb_timer_fn fn, void* user,
                                      mb_release_fn release) {
    if (fn == nullptr || delay_ms > kMaxTimerMs || period_ms > kMaxTimerMs) {
        if (fn) spdlog::error("plugin {}: refused a timer over a year away", plugin.id());
        defer_release({user, release});
        return 0;
    }
    const std::uint64_t id = next_id_++;
    auto timer = std::make_unique<boost::asio::steady_timer>(executor_);
    timer->expires_after(std::chrono::milliseconds(delay_ms));
    timers_.emplace(
        id,
        TimerEntry{
            &plugin, std::move(timer), std::chrono::milliseconds(period_ms), fn, {user, release}});
    arm_timer(id);
    return id;
}

void PluginHost::arm_timer(std::uint64_t id) {
    timers_.at(id).timer->async_wait([this, id](boost::system::error_code ec) {
        if (ec) return;
        auto it = timers_.find(id);
        if (it == timers_.end()) return;
        TimerEntry& t = it->second;
        const bool periodic = t.period.count() > 0;
        if (periodic) {
            t.timer->expires_at(t.timer->expiry() + t.period);
            arm_timer(id);
        }
        const auto fn = t.fn;
        void* user = t.closure.user;
        PluginRecord* plugin = t.plugin;
        if (!periodic) {
            // A one-shot timer is done once it fired; the plugin's handle then cancels nothing.
            defer_release(t.closure);
            timers_.erase(it);
        }
        invoke(*plugin, "timer", [&] { fn(user); });
    });
}

void PluginHost::timer_cancel(PluginRecord& plugin, std::uint64_t id) {
    auto it = timers_.find(id);
    if (it == timers_.end() || it->second.plugin != &plugin) return;
    it->second.timer->cancel();
    defer_release(it->second.closure);
    timers_.erase(it);
}

mb_result PluginHost::post_work(PluginRecord& plugin, mb_work_fn work, mb_work_fn done, void* user,
                                mb_release_fn release) {
    if (work == nullptr || !workers_) {
        defer_release({user, release});
        return MB_ERR_ARGUMENT;
    }
    auto in_flight = plugin.work_in_flight;
    ++*in_flight;
    // The job may outlive the plugin (unloading) and the host itself (a stuck job at exit): it
    // holds the executor and the host's token by value, never the host.
    std::weak_ptr<int> alive = alive_;
    std::weak_ptr<int> record = plugin.alive;
    auto loop = executor_;
    boost::asio::post(
        *workers_, [this, alive, record, loop, p = &plugin, in_flight, work, done, user, release] {
            work(user);
            --*in_flight;  // finish_unload() waits for this before unmapping the plugin's code
            // Back on the loop, where the plugin's lifecycle decides: done() only while it is
            // loaded; release() while its library is mapped (an unloading plugin's still is);
            // once unmapped, the job's memory is left alone rather than freed by unmapped code.
            // A record a reload erased meanwhile was unmapped before it went.
            boost::asio::post(loop, [this, alive, record, p, done, user, release] {
                if (alive.expired() || record.expired()) return;
                using Lifecycle = PluginRecord::Lifecycle;
                if (p->lifecycle == Lifecycle::loaded && p->active() && done)
                    invoke(*p, "post_work done", [&] { done(user); });
                if (p->lifecycle != Lifecycle::unloaded) defer_release({user, release});
                flush_releases();
            });
        });
    return MB_OK;
}

void PluginHost::release_registrations(PluginRecord& plugin) {
    router_.remove_owner(plugin.id());
    plugin.stand_ins.clear();
    std::erase_if(subscriptions_, [&](auto& item) {
        if (item.second.plugin != &plugin) return false;
        defer_release(item.second.closure);
        return true;
    });
    std::erase_if(timers_, [&](auto& item) {
        if (item.second.plugin != &plugin) return false;
        item.second.timer->cancel();
        defer_release(item.second.closure);
        return true;
    });
    std::erase_if(pending_, [&](auto& item) {
        if (item.second.plugin != &plugin) return false;
        defer_release(item.second.closure);
        return true;
    });
}

void PluginHost::defer_release(Closure closure) {
    if (closure.release) releases_.push_back(closure);
}

void PluginHost::flush_releases() {
    while (!releases_.empty()) {
        const Closure c = releases_.back();
        releases_.pop_back();
        c.release(c.user);
    }
}

}  // namespace meshbot::plugins
