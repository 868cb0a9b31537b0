#include "plugin_host/runner_bridge.hpp"

#include <spdlog/spdlog.h>

#include "plugin_channel/abi_messages.hpp"
#include "plugin_host/plugin_host.hpp"
#include "radio/node_id.hpp"

namespace meshbot::plugins {

namespace {

using channel::str;
using channel::view;

constexpr std::size_t kNodesPerAnswer = 500;  // node_each answers in parts of this many
constexpr auto kMinStartTime = std::chrono::seconds(10);
// What one plugin may hold at once; far above any real plugin, it bounds a hostile one.
constexpr std::size_t kMaxRegistrations = 10000;
// Callbacks sent and not yet returned; a runner this far behind is not keeping up.
constexpr std::size_t kMaxInFlight = 10000;

std::string seconds(std::chrono::milliseconds d) {
    return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

mb_str mb(const std::string& s) {
    return str(s);
}

}  // namespace

RunnerBridge::RunnerBridge(boost::asio::any_io_executor executor, PluginHost& host,
                           PluginRecord& plugin, std::chrono::milliseconds callback_timeout)
    : executor_(executor),
      host_(host),
      plugin_(plugin),
      timeout_(callback_timeout),
      watchdog_(executor) {}

RunnerBridge::~RunnerBridge() {
    abandon();
}

bool RunnerBridge::start(const RunnerOptions& options, std::string& error) {
    abandon();
    in_flight_.clear();
    started_ = false;
    sandboxed_ = false;
    RunnerProcess::Handlers handlers{
        [this](channel::RunnerMessage& m) { on_message(m); },
        [this](const std::string& why) { on_exit(why); },
    };
    process_ = RunnerProcess::spawn(executor_, options, std::move(handlers), error);
    if (!process_) return false;
    deadline_ = std::chrono::steady_clock::now() +
                std::max<std::chrono::milliseconds>(timeout_, kMinStartTime);
    arm_watchdog();
    return true;
}

void RunnerBridge::stop(std::chrono::milliseconds grace) {
    if (process_) process_->shutdown(grace);
}

void RunnerBridge::kill(const std::string& why) {
    if (process_) process_->kill(why);
}

void RunnerBridge::abandon() {
    watchdog_.cancel();
    if (process_) {
        process_->detach();
        process_.reset();
    }
    // The proxies stay until the host releases them (release_registrations): it still holds
    // them as `user`, and a release with no runner left only forgets the proxy.
}

void RunnerBridge::protocol_error(const std::string& what) {
    kill("broke the channel protocol: " + what);
}

void RunnerBridge::on_exit(const std::string& why) {
    watchdog_.cancel();
    in_flight_.clear();
    auto ended = std::move(process_);  // keep it alive until this handler returns
    const bool started = started_;
    host_.runner_exited(plugin_, why, started);
}

void RunnerBridge::on_message(channel::RunnerMessage& message) {
    switch (message.body_case()) {
        case channel::RunnerMessage::kStarted:
            if (started_) return protocol_error("started twice");
            started_ = true;
            // Callbacks sent while create() ran start their clock now.
            if (!in_flight_.empty()) deadline_ = std::chrono::steady_clock::now() + timeout_;
            arm_watchdog();
            return host_.runner_started(plugin_, message.started());
        case channel::RunnerMessage::kSandboxed:
            if (started_ || sandboxed_) return protocol_error("a sandbox report out of turn");
            sandboxed_ = true;
            return host_.runner_sandboxed(plugin_, message.sandboxed());
        case channel::RunnerMessage::kStartFailed:
            if (started_) return protocol_error("a start failure after starting");
            started_ = true;
            host_.runner_start_failed(plugin_, message.start_failed());
            return kill("failed to start");  // it has nothing more to do, nor to ask
        case channel::RunnerMessage::kCall:
            if (!plugin_.active()) return;  // a runner on its way out gets no more answers
            on_call(*message.mutable_call());
            return on_call_done();
        case channel::RunnerMessage::kReturned:
            return on_returned(message.returned());
        default:
            return protocol_error("an empty message");
    }
}

void RunnerBridge::on_returned(const channel::Returned& returned) {
    if (in_flight_.empty() || in_flight_.front().seq != returned.seq())
        return protocol_error("a return from a callback that was not running");
    host_.warn_slow(plugin_, in_flight_.front().what, std::chrono::microseconds(returned.micros()));
    in_flight_.pop_front();
    // The next callback starts now: its time counts from here.
    if (!in_flight_.empty()) {
        deadline_ = std::chrono::steady_clock::now() + timeout_;
        arm_watchdog();
    }
}

void RunnerBridge::arm_watchdog() {
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        if (std::chrono::steady_clock::now() < deadline_) return arm_watchdog();
        if (!started_) {
            kill("did not start within " +
                 seconds(std::max<std::chrono::milliseconds>(timeout_, kMinStartTime)));
        } else if (!in_flight_.empty()) {
            kill(in_flight_.front().what + " did not return within " + seconds(timeout_) +
                 " ([plugins] callback_timeout)");
        }
    });
}

void RunnerBridge::invoke(std::uint64_t closure, const std::string& what, channel::Invoke& invoke) {
    if (!process_) return;
    invoke.set_seq(next_seq_++);
    invoke.set_closure(closure);
    if (in_flight_.size() >= kMaxInFlight) {
        return kill("fell " + std::to_string(kMaxInFlight) + " callbacks behind");
    }
    // Before Started the start deadline runs; the callbacks' clocks start with Started.
    if (in_flight_.empty() && started_) {
        deadline_ = std::chrono::steady_clock::now() + timeout_;
        arm_watchdog();
    }
    in_flight_.push_back(InFlight{invoke.seq(), what});
    channel::HostMessage message;
    *message.mutable_invoke() = std::move(invoke);
    process_->send(message);
}

RunnerBridge::Proxy* RunnerBridge::proxy(std::uint64_t closure, std::string what) {
    if (closure == 0 || proxies_.count(closure)) {
        protocol_error("closure number " + std::to_string(closure) + " reused");
        return nullptr;
    }
    if (proxies_.size() >= kMaxRegistrations) {
        protocol_error("more than " + std::to_string(kMaxRegistrations) +
                       " commands, subscriptions, timers and sends at once");
        return nullptr;
    }
    auto& p = proxies_[closure];
    p = std::make_unique<Proxy>(Proxy{this, closure, std::move(what)});
    return p.get();
}

void RunnerBridge::answer(channel::Answer& answer) {
    if (!process_) return;
    channel::HostMessage message;
    *message.mutable_answer() = std::move(answer);
    process_->send(message);
}

// ---- the host's callbacks into the plugin, as messages

void RunnerBridge::proxy_command(void* user, const mb_command* command) {
    auto* p = static_cast<Proxy*>(user);
    channel::Invoke in;
    auto& m = *in.mutable_command();
    m.set_event(command->event);
    if (command->packet) *m.mutable_packet() = channel::to_message(*command->packet);
    m.set_name(std::string(view(command->name)));
    m.set_args(std::string(view(command->args)));
    if (command->packet) {
        const PluginHost& host = p->bridge->host_;
        if (const nodes::NodeRecord* sender = host.directory().find(command->packet->from)) {
            const std::string id = radio::node_id(sender->num);
            *m.mutable_sender() = channel::to_message(host.node_to_abi(*sender, id));
        }
    }
    p->bridge->invoke(p->closure, p->what, in);
}

void RunnerBridge::proxy_event(void* user, const mb_event* event) {
    auto* p = static_cast<Proxy*>(user);
    channel::Invoke in;
    auto& m = *in.mutable_event();
    m.set_kind(event->kind);
    m.set_event(event->event);
    if (event->packet) *m.mutable_packet() = channel::to_message(*event->packet);
    if (event->node) *m.mutable_node() = channel::to_message(*event->node);
    m.set_reason(std::string(view(event->reason)));
    p->bridge->invoke(p->closure, p->what, in);
}

void RunnerBridge::proxy_timer(void* user) {
    auto* p = static_cast<Proxy*>(user);
    channel::Invoke in;
    in.set_timer(true);
    p->bridge->invoke(p->closure, p->what, in);
}

void RunnerBridge::proxy_send(void* user, const mb_send_result* result) {
    auto* p = static_cast<Proxy*>(user);
    channel::Invoke in;
    auto& m = *in.mutable_send_result();
    m.set_status(result->status);
    m.set_id(result->id);
    m.set_routing_error(result->routing_error);
    m.set_from(result->from);
    if (result->response) *m.mutable_response() = channel::to_message(*result->response);
    m.set_message(std::string(view(result->message)));
    p->bridge->invoke(p->closure, p->what, in);
}

void RunnerBridge::proxy_release(void* user) {
    auto* p = static_cast<Proxy*>(user);
    RunnerBridge* bridge = p->bridge;
    const std::uint64_t closure = p->closure;
    bridge->proxies_.erase(closure);  // `p` is gone from here on
    if (bridge->process_ && bridge->process_->running()) {
        channel::HostMessage message;
        message.set_release(closure);
        bridge->process_->send(message);
    }
}

// ---- the runner's calls, answered by the host's own api table

void RunnerBridge::on_call(channel::Call& call) {
    const mb_host_api& api = PluginHost::api();
    mb_host* h = &plugin_.handle;
    channel::Answer a;
    a.set_request(call.request());
    auto reply = [&](mb_result result) {
        a.set_result(result);
        if (call.request() != 0) answer(a);
    };
    // The runner keeps texts to kMaxText; one that does not is not the runner we started.
    auto too_long = [&](const std::string& text) {
        if (text.size() <= channel::kMaxText) return false;
        protocol_error("a text of " + std::to_string(text.size()) + " bytes");
        return true;
    };
    auto node_into = [](void* user, const mb_node* n) {
        *static_cast<channel::Answer*>(user)->add_nodes() = channel::to_message(*n);
    };

    switch (call.body_case()) {
        case channel::Call::kLog:
            if (too_long(call.log().text())) return;
            return api.log(h, static_cast<mb_log_level>(call.log().level()), mb(call.log().text()));
        case channel::Call::kReportFault:
            if (too_long(call.report_fault())) return;
            return api.report_fault(h, mb(call.report_fault()));
        case channel::Call::kReply:
            if (too_long(call.reply().text())) return;
            return reply(api.reply(h, call.reply().event(), mb(call.reply().text())));
        case channel::Call::kSendText: {
            const auto& m = call.send_text();
            if (too_long(m.text())) return;
            return reply(api.send_text(h, m.to(), m.channel(), mb(m.text())));
        }
        case channel::Call::kSendData: {
            const auto& m = call.send_data();
            Proxy* p = proxy(m.closure(), "send_data callback");
            if (!p) return;
            mb_data_request r{};
            r.struct_size = sizeof r;
            r.to = m.to();
            r.channel = m.channel();
            r.portnum = m.portnum();
            r.payload = channel::bytes(m.payload());
            r.want_ack = m.want_ack();
            r.want_response = m.want_response();
            r.timeout_ms = m.timeout_ms();
            std::uint32_t id = 0;
            const mb_result result = api.send_data(h, &r, proxy_send, p, proxy_release, &id);
            a.set_id(id);
            return reply(result);
        }
        case channel::Call::kRegisterCommand: {
            const auto& m = call.register_command();
            if (too_long(m.name()) || too_long(m.args()) || too_long(m.help())) return;
            Proxy* p = proxy(m.closure(), "command handler /" + m.name());
            if (!p) return;
            mb_command_spec spec{};
            spec.struct_size = sizeof spec;
            spec.name = mb(m.name());
            spec.args = mb(m.args());
            spec.help = mb(m.help());
            spec.scope = static_cast<mb_scope>(m.scope());
            spec.privileged = m.privileged();
            const mb_result result =
                api.register_command(h, &spec, proxy_command, p, proxy_release);
            return reply(result);
        }
        case channel::Call::kSubscribe: {
            const auto& m = call.subscribe();
            Proxy* p = proxy(m.closure(), "event handler");
            if (!p) return;
            const std::uint64_t id = api.subscribe(h, static_cast<mb_event_kind>(m.kind()),
                                                   m.portnum(), proxy_event, p, proxy_release);
            a.set_id(id);
            return reply(id ? MB_OK : MB_ERR_REFUSED);
        }
        case channel::Call::kUnsubscribe:
            return api.unsubscribe(h, call.unsubscribe());
        case channel::Call::kTimerStart: {
            const auto& m = call.timer_start();
            Proxy* p = proxy(m.closure(), "timer");
            if (!p) return;
            const std::uint64_t id =
                api.timer_start(h, m.delay_ms(), m.period_ms(), proxy_timer, p, proxy_release);
            a.set_id(id);
            return reply(id ? MB_OK : MB_ERR_REFUSED);
        }
        case channel::Call::kTimerCancel:
            return api.timer_cancel(h, call.timer_cancel());
        case channel::Call::kNodeFind:
            return reply(api.node_find(h, mb(call.node_find()), node_into, &a));
        case channel::Call::kSelfNode:
            return reply(api.self_node(h, node_into, &a));
        case channel::Call::kNodeEach: {
            // In parts, so that a big node store never makes one huge message.
            struct Parts {
                RunnerBridge* bridge;
                channel::Answer part;
            } parts{this, {}};
            parts.part.set_request(call.request());
            const std::size_t count = api.node_each(
                h,
                [](void* user, const mb_node* n) {
                    auto& p = *static_cast<Parts*>(user);
                    *p.part.add_nodes() = channel::to_message(*n);
                    if (p.part.nodes_size() < static_cast<int>(kNodesPerAnswer)) return;
                    channel::Answer full = std::move(p.part);
                    p.part = {};
                    p.part.set_request(full.request());
                    full.set_more(true);
                    full.set_result(MB_OK);
                    p.bridge->answer(full);
                },
                &parts);
            parts.part.set_id(count);
            parts.part.set_result(MB_OK);
            return answer(parts.part);
        }
        case channel::Call::kKvGet:
            return reply(api.kv_get(
                h, mb(call.kv_get()),
                [](void* user, mb_bytes value) {
                    static_cast<channel::Answer*>(user)->set_bytes(std::string(view(value)));
                },
                &a));
        case channel::Call::kKvSet:
            return reply(
                api.kv_set(h, mb(call.kv_set().key()), channel::bytes(call.kv_set().value())));
        case channel::Call::kKvErase:
            return reply(api.kv_erase(h, mb(call.kv_erase())));
        case channel::Call::kConfigGet: {
            mb_value v{};
            v.struct_size = sizeof v;
            const mb_result result = api.config_get(h, mb(call.config_get()), &v);
            *a.mutable_value() = channel::to_message(v);
            return reply(result);
        }
        case channel::Call::kStatus: {
            mb_status s{};
            s.struct_size = sizeof s;
            const mb_result result = api.status(h, &s);
            *a.mutable_status() = channel::to_message(s);
            return reply(result);
        }
        case channel::Call::kWorkFinished: {
            channel::Invoke in;
            in.set_work_done(true);
            return invoke(call.work_finished(), "post_work done", in);
        }
        default:
            return protocol_error("an empty call");
    }
}

void RunnerBridge::on_call_done() {
    // What the call dropped (a refused registration's closure) is released now, not whenever
    // the next callback happens to flush.
    host_.flush_releases();
}

}  // namespace meshbot::plugins
