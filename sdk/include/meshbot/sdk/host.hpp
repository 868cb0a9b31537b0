#pragma once
// meshbot::Host: what a plugin can do, as C++ over the C function table.

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "meshbot/abi.h"
#include "meshbot/sdk/node_match.hpp"
#include "meshbot/sdk/values.hpp"

namespace meshbot {

enum class Scope { dm = MB_SCOPE_DM, channel = MB_SCOPE_CHANNEL, both = MB_SCOPE_BOTH };
enum class LogLevel {
    trace = MB_LOG_TRACE,
    debug = MB_LOG_DEBUG,
    info = MB_LOG_INFO,
    warn = MB_LOG_WARN,
    error = MB_LOG_ERROR
};

// Where a text goes: a node (a DM, acknowledged) or a channel (a broadcast).
struct To {
    std::uint32_t node;
};
struct Channel {
    std::uint32_t index;
};

struct CommandSpec {
    std::string name{};  // without the prefix: "echo"
    std::string args{};  // usage: "<text>"
    std::string help{};  // one line
    Scope scope = Scope::both;
    bool privileged = false;
};

struct DataRequest {
    std::uint32_t to = kBroadcast;
    std::uint32_t channel = 0;
    std::uint32_t portnum = 0;
    std::string payload{};
    bool want_ack = false;
    bool want_response = false;
    std::chrono::milliseconds timeout{0};  // 0 = host default
};

class Host;

// A command sent to one of this plugin's commands; valid during the callback.
class Command {
public:
    Command(Host& host, const mb_command& c)
        : host_(&host), c_(&c), packet_(Packet::from_abi(*c.packet)) {}
    std::string_view name() const { return detail::view(c_->name); }
    std::string_view args() const { return detail::view(c_->args); }
    const Packet& packet() const { return packet_; }
    // Keep this to answer later (after post_work, say) with Host::reply(event, text); the
    // host remembers the last 1,024 events.
    std::uint64_t event() const { return c_->event; }
    // The sender as the bot knows it (a bare id when the node never introduced itself).
    NodeInfo sender() const;
    // Answers the sender; long texts are split, numbered and paced by the host.
    void reply(std::string_view text) const;

private:
    Host* host_;
    const mb_command* c_;
    Packet packet_;
};

// A text message (not a command); valid during the callback.
class TextMessage {
public:
    TextMessage(Host& host, const mb_event& e)
        : host_(&host), event_(e.event), packet_(Packet::from_abi(*e.packet)) {}
    std::string_view text() const { return packet_.payload; }
    const Packet& packet() const { return packet_; }
    std::uint64_t event() const { return event_; }
    void reply(std::string_view text) const;

private:
    Host* host_;
    std::uint64_t event_;
    Packet packet_;
};

// Ends a subscription or timer when destroyed (and the host ends them all when the plugin
// unloads). Move-only.
class Registration {
public:
    Registration() = default;
    Registration(const mb_host_api* api, mb_host* host, std::uint64_t id,
                 void (*cancel)(mb_host*, std::uint64_t))
        : api_(api), host_(host), id_(id), cancel_(cancel) {}
    Registration(Registration&& o) noexcept { *this = std::move(o); }
    Registration& operator=(Registration&& o) noexcept {
        if (this != &o) {
            reset();
            api_ = o.api_;
            host_ = o.host_;
            id_ = std::exchange(o.id_, 0);
            cancel_ = o.cancel_;
        }
        return *this;
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { reset(); }

    void reset() {
        if (id_ != 0 && cancel_) cancel_(host_, std::exchange(id_, 0));
    }
    explicit operator bool() const { return id_ != 0; }

private:
    const mb_host_api* api_ = nullptr;
    mb_host* host_ = nullptr;
    std::uint64_t id_ = 0;
    void (*cancel_)(mb_host*, std::uint64_t) = nullptr;
};

using Subscription = Registration;
using Timer = Registration;

// The plugin's own [plugins.<id>] table.
class Config {
public:
    Config(const mb_host_api* api, mb_host* host) : api_(api), host_(host) {}

    // nullopt when the key is absent; throws std::runtime_error when it has another type, or
    // for an integer type, a value T cannot hold ("meshbot.toml:12:11: config key 'channel'
    // must be an integer from 0 to 255, got -1"; the position from hosts of ABI 1.2 on).
    template <typename T>
    std::optional<T> get(std::string_view path) const;

    // A number within [min, max], else the same kind of error; `fallback` when absent.
    template <typename T>
    T get_in(std::string_view path, T fallback, T min, T max) const {
        static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
        // Read wide, so that -1 for an unsigned key reads as -1 in the message.
        using Wide = std::conditional_t<std::is_integral_v<T>, std::int64_t, double>;
        const auto value = get<Wide>(path);
        if (!value) return fallback;
        bool below = false;
        bool above = false;
        if constexpr (std::is_integral_v<T>) {
            below = std::cmp_less(*value, min);
            above = std::cmp_greater(*value, max);
        } else {
            below = *value < min;
            above = *value > max;
        }
        if (below || above)
            refuse(path, "must be from " + number(min) + " to " + number(max) + ", got " +
                             number(*value));
        return static_cast<T>(*value);
    }
    // One of `allowed`, else an error that lists them; `fallback` when absent.
    std::string get_one_of(std::string_view path, std::string fallback,
                           std::initializer_list<std::string_view> allowed) const {
        std::string value = get_or<std::string>(path, std::move(fallback));
        std::string list;
        for (const auto a : allowed) {
            if (a == value) return value;
            list += (list.empty() ? "" : ", ") + std::string(a);
        }
        refuse(path, "must be one of " + list + ", got \"" + value + "\"");
    }

    template <typename T>
    T get_or(std::string_view path, T fallback) const {
        auto v = get<T>(path);
        return v ? std::move(*v) : std::move(fallback);
    }
    // String literals as the fallback read as std::string.
    std::string get_or(std::string_view path, const char* fallback) const {
        return get_or<std::string>(path, std::string(fallback));
    }

private:
    mb_value raw(std::string_view path) const {
        mb_value v{};
        v.struct_size = sizeof v;
        api_->config_get(host_, detail::str(path), &v);
        return v;
    }
    [[noreturn]] void refuse(std::string_view path, const std::string& problem) const {
        const mb_value v = raw(path);
        const std::string_view where = detail::view(v.where);
        throw std::runtime_error((where.empty() ? "" : std::string(where) + ": ") + "config key '" +
                                 std::string(path) + "' " + problem);
    }
    [[noreturn]] void wrong_type(std::string_view path, const char* expected) const {
        refuse(path, std::string("must be ") + expected);
    }
    template <typename T>
    static std::string number(T value) {
        std::ostringstream text;
        text << +value;
        return text.str();
    }

    const mb_host_api* api_;
    mb_host* host_;
};

// The plugin's persistent key-value store.
class Store {
public:
    Store(const mb_host_api* api, mb_host* host) : api_(api), host_(host) {}
    std::optional<std::string> get(std::string_view key) const {
        std::optional<std::string> out;
        auto fn = [](void* user, mb_bytes value) {
            static_cast<std::optional<std::string>*>(user)->emplace(detail::view(value));
        };
        if (api_->kv_get(host_, detail::str(key), fn, &out) != MB_OK) return std::nullopt;
        return out;
    }
    bool set(std::string_view key, std::string_view value) {
        return api_->kv_set(host_, detail::str(key), detail::bytes(value)) == MB_OK;
    }
    bool erase(std::string_view key) { return api_->kv_erase(host_, detail::str(key)) == MB_OK; }

private:
    const mb_host_api* api_;
    mb_host* host_;
};

namespace detail {

// Heap-held callables whose ownership passes to the host as `void* user` and comes back
// through the release function, so nothing std:: crosses the boundary.
template <typename Fn>
void* hand_over(Fn fn) {
    return std::make_unique<Fn>(std::move(fn)).release();
}
template <typename Fn>
void take_back(void* user) {
    std::unique_ptr<Fn>{static_cast<Fn*>(user)};
}

void report(const mb_host_api* api, mb_host* host, std::string_view what) noexcept;

// Runs `body`, turning any exception into a fault report: nothing is thrown into the host.
template <typename Body>
void guarded(const mb_host_api* api, mb_host* host, const char* where, Body&& body) noexcept {
    try {
        body();
    } catch (const std::exception& e) {
        report(api, host, std::string(where) + ": " + e.what());
    } catch (...) {
        report(api, host, std::string(where) + ": unknown exception");
    }
}

}  // namespace detail

// The handle a plugin receives. It stays valid across radio reconnects; a plugin sees those
// only as link up/down events. Call it from the event-loop thread only.
class Host {
public:
    Host(const mb_host_api* api, mb_host* host)
        : api_(api), host_(host), config_(api, host), store_(api, host) {}
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // ---- logging, under the plugin's name
    void log(LogLevel level, std::string_view text) const {
        api_->log(host_, static_cast<mb_log_level>(level), detail::str(text));
    }
    void debug(std::string_view text) const { log(LogLevel::debug, text); }
    void info(std::string_view text) const { log(LogLevel::info, text); }
    void warn(std::string_view text) const { log(LogLevel::warn, text); }
    void error(std::string_view text) const { log(LogLevel::error, text); }

    // ---- sending
    bool reply(std::uint64_t event, std::string_view text) const {
        return api_->reply(host_, event, detail::str(text)) == MB_OK;
    }
    bool send_text(To to, std::string_view text) const {
        return api_->send_text(host_, to.node, 0, detail::str(text)) == MB_OK;
    }
    bool send_text(Channel channel, std::string_view text) const {
        return api_->send_text(host_, kBroadcast, channel.index, detail::str(text)) == MB_OK;
    }
    // Sends one packet; `done` runs once with the outcome (ack, nak, response, timeout ...).
    // Returns the packet id, or 0 when refused (then `done` has already run).
    template <typename Done>
    std::uint32_t send_data(const DataRequest& request, Done done) {
        static_assert(
            std::is_invocable_v<Done&, const SendResult&>,
            "send_data(request, done): done must be callable as done(const meshbot::SendResult&)");
        mb_data_request r{};
        r.struct_size = sizeof r;
        r.to = request.to;
        r.channel = request.channel;
        r.portnum = request.portnum;
        r.payload = detail::bytes(request.payload);
        r.want_ack = request.want_ack;
        r.want_response = request.want_response;
        r.timeout_ms = static_cast<std::uint32_t>(request.timeout.count());
        using Fn = std::function<void(const SendResult&)>;
        struct Closure {
            Fn fn;
            const mb_host_api* api;
            mb_host* host;
        };
        auto trampoline = [](void* user, const mb_send_result* result) {
            auto* c = static_cast<Closure*>(user);
            detail::guarded(c->api, c->host, "send_data callback",
                            [&] { c->fn(SendResult::from_abi(*result)); });
        };
        std::uint32_t id = 0;
        api_->send_data(host_, &r, trampoline,
                        detail::hand_over(Closure{Fn(std::move(done)), api_, host_}),
                        detail::take_back<Closure>, &id);
        return id;
    }

    // ---- commands and events
    template <typename Handler>
    void command(const CommandSpec& spec, Handler handler) {
        static_assert(
            std::is_invocable_v<Handler&, const Command&>,
            "command(spec, handler): handler must be callable as handler(const meshbot::Command&)");
        struct Closure {
            Handler fn;
            Host* self;
        };
        mb_command_spec s{};
        s.struct_size = sizeof s;
        s.name = detail::str(spec.name);
        s.args = detail::str(spec.args);
        s.help = detail::str(spec.help);
        s.scope = static_cast<mb_scope>(spec.scope);
        s.privileged = spec.privileged;
        auto trampoline = [](void* user, const mb_command* c) {
            auto* closure = static_cast<Closure*>(user);
            Host& self = *closure->self;
            detail::guarded(self.api_, self.host_, "command handler",
                            [&] { closure->fn(Command(self, *c)); });
        };
        const mb_result r = api_->register_command(
            host_, &s, trampoline, detail::hand_over(Closure{std::move(handler), this}),
            detail::take_back<Closure>);
        if (r != MB_OK) {
            throw std::runtime_error("cannot register command '" + spec.name + "'" +
                                     (r == MB_ERR_REFUSED ? ": the name is taken or invalid" : ""));
        }
    }

    template <typename Handler>
    [[nodiscard]] Subscription on_text(Handler handler) {
        static_assert(
            std::is_invocable_v<Handler&, const TextMessage&>,
            "on_text(handler): handler must be callable as handler(const meshbot::TextMessage&)");
        return subscribe(MB_EVENT_TEXT, 0,
                         [this, h = std::move(handler)](const mb_event& e) mutable {
                             h(TextMessage(*this, e));
                         });
    }
    template <typename Handler>
    [[nodiscard]] Subscription on_packet(std::uint32_t portnum, Handler handler) {
        static_assert(std::is_invocable_v<Handler&, const Packet&>,
                      "on_packet(portnum, handler): handler must be callable as handler(const "
                      "meshbot::Packet&)");
        return subscribe(MB_EVENT_PACKET, portnum,
                         [h = std::move(handler)](const mb_event& e) mutable {
                             h(Packet::from_abi(*e.packet));
                         });
    }
    template <typename Handler>
    [[nodiscard]] Subscription on_node_updated(Handler handler) {
        return node_subscription(MB_EVENT_NODE_UPDATED, std::move(handler));
    }
    template <typename Handler>
    [[nodiscard]] Subscription on_key_changed(Handler handler) {
        return node_subscription(MB_EVENT_KEY_CHANGED, std::move(handler));
    }
    template <typename Handler>
    [[nodiscard]] Subscription on_link_up(Handler handler) {
        static_assert(std::is_invocable_v<Handler&>,
                      "on_link_up(handler): handler must be callable as handler()");
        return subscribe(MB_EVENT_LINK_UP, 0,
                         [h = std::move(handler)](const mb_event&) mutable { h(); });
    }
    template <typename Handler>
    [[nodiscard]] Subscription on_link_down(Handler handler) {
        static_assert(
            std::is_invocable_v<Handler&, std::string_view>,
            "on_link_down(handler): handler must be callable as handler(std::string_view reason)");
        return subscribe(
            MB_EVENT_LINK_DOWN, 0,
            [h = std::move(handler)](const mb_event& e) mutable { h(detail::view(e.reason)); });
    }

    // ---- timers
    template <typename Fn>
    [[nodiscard]] Timer after(std::chrono::milliseconds delay, Fn fn) {
        return timer(delay, std::chrono::milliseconds(0), std::move(fn));
    }
    template <typename Fn>
    [[nodiscard]] Timer every(std::chrono::milliseconds period, Fn fn) {
        return timer(period, period, std::move(fn));
    }

    // ---- nodes (read-only)
    // The node `query` designates (meshbot/sdk/node_match.hpp: id or number, short name, long
    // name, its beginning, the id's last four hex digits); nullopt for none, or for several
    // (nodes_matching() lists them).
    std::optional<NodeInfo> node(std::string_view query) const {
        std::optional<NodeInfo> out;
        api_->node_find(host_, detail::str(query), collect_one, &out);
        return out;
    }
    std::optional<NodeInfo> node(std::uint32_t num) const { return node(std::to_string(num)); }
    template <typename Filter>
    std::vector<NodeInfo> nodes(Filter filter) const {
        static_assert(
            std::is_invocable_r_v<bool, Filter&, const NodeInfo&>,
            "nodes(filter): filter must be callable as bool filter(const meshbot::NodeInfo&)");
        struct State {
            Filter* filter;
            std::vector<NodeInfo> out;
        } state{&filter, {}};
        api_->node_each(
            host_,
            [](void* user, const mb_node* n) {
                auto* s = static_cast<State*>(user);
                NodeInfo info = NodeInfo::from(*n);
                if ((*s->filter)(info)) s->out.push_back(std::move(info));
            },
            &state);
        return std::move(state.out);
    }
    std::vector<NodeInfo> nodes() const {
        return nodes([](const NodeInfo&) { return true; });
    }
    // Every node `query` may designate, by the same rule as node(): one, several or none.
    std::vector<NodeInfo> nodes_matching(std::string_view query) const {
        return match_nodes(query, nodes());
    }
    std::optional<NodeInfo> self() const {
        std::optional<NodeInfo> out;
        api_->self_node(host_, collect_one, &out);
        return out;
    }

    // ---- health: the radio link, key sync and node store figures (nullopt if the host fails)
    std::optional<Status> status() const {
        mb_status s{};
        s.struct_size = sizeof s;
        if (api_->status(host_, &s) != MB_OK) return std::nullopt;
        return Status::from_abi(s);
    }

    // ---- storage and configuration
    Store& store() { return store_; }
    const Config& config() const { return config_; }

    // ---- slow work: `work` runs on a worker thread (it must not touch the Host), then
    // `done(result)` runs back on the event loop.
    template <typename Work, typename Done>
    void post_work(Work work, Done done) {
        using R = std::invoke_result_t<Work&>;
        static_assert(!std::is_void_v<R>,
                      "post_work(work, done): work must return a value for done(value)");
        static_assert(std::is_invocable_v<Done&, R&&>,
                      "post_work(work, done): done must be callable as done(result of work)");
        struct Job {
            Work work;
            Done done;
            std::optional<R> result;
            std::string error;
            Host* self;
        };
        auto run = [](void* user) {
            auto* job = static_cast<Job*>(user);
            try {
                job->result.emplace(job->work());
            } catch (const std::exception& e) {
                job->error = e.what();
            } catch (...) {
                job->error = "unknown exception";
            }
        };
        auto finish = [](void* user) {
            auto* job = static_cast<Job*>(user);
            Host& self = *job->self;
            if (!job->result) {
                detail::report(self.api_, self.host_, "post_work: " + job->error);
                return;
            }
            detail::guarded(self.api_, self.host_, "post_work done",
                            [&] { job->done(std::move(*job->result)); });
        };
        const mb_result r =
            api_->post_work(host_, run, finish,
                            detail::hand_over(Job{std::move(work), std::move(done), {}, {}, this}),
                            detail::take_back<Job>);
        if (r != MB_OK) throw std::runtime_error("post_work refused by the host");
    }

    const mb_host_api* api() const { return api_; }
    mb_host* handle() const { return host_; }

private:
    using EventFn = std::function<void(const mb_event&)>;

    template <typename Fn>
    Subscription subscribe(mb_event_kind kind, std::uint32_t portnum, Fn fn) {
        struct Closure {
            EventFn fn;
            const mb_host_api* api;
            mb_host* host;
        };
        auto trampoline = [](void* user, const mb_event* e) {
            auto* c = static_cast<Closure*>(user);
            detail::guarded(c->api, c->host, "event handler", [&] { c->fn(*e); });
        };
        const std::uint64_t id =
            api_->subscribe(host_, kind, portnum, trampoline,
                            detail::hand_over(Closure{EventFn(std::move(fn)), api_, host_}),
                            detail::take_back<Closure>);
        if (id == 0) throw std::runtime_error("subscription refused by the host");
        return Subscription(api_, host_, id, api_->unsubscribe);
    }

    template <typename Handler>
    Subscription node_subscription(mb_event_kind kind, Handler handler) {
        static_assert(std::is_invocable_v<Handler&, const NodeInfo&>,
                      "node event handler must be callable as handler(const meshbot::NodeInfo&)");
        return subscribe(kind, 0, [h = std::move(handler)](const mb_event& e) mutable {
            h(NodeInfo::from(*e.node));
        });
    }

    template <typename Fn>
    Timer timer(std::chrono::milliseconds delay, std::chrono::milliseconds period, Fn fn) {
        static_assert(std::is_invocable_v<Fn&>, "timer callback must be callable as fn()");
        struct Closure {
            Fn fn;
            const mb_host_api* api;
            mb_host* host;
        };
        auto trampoline = [](void* user) {
            auto* c = static_cast<Closure*>(user);
            detail::guarded(c->api, c->host, "timer", [&] { c->fn(); });
        };
        const std::uint64_t id = api_->timer_start(
            host_, static_cast<std::uint64_t>(delay.count()),
            static_cast<std::uint64_t>(period.count()), trampoline,
            detail::hand_over(Closure{std::move(fn), api_, host_}), detail::take_back<Closure>);
        if (id == 0) throw std::runtime_error("timer refused by the host");
        return Timer(api_, host_, id, api_->timer_cancel);
    }

    static void collect_one(void* user, const mb_node* n) {
        static_cast<std::optional<NodeInfo>*>(user)->emplace(NodeInfo::from(*n));
    }

    const mb_host_api* api_;
    mb_host* host_;
    Config config_;
    Store store_;
};

// ---- inline definitions that need Host complete

inline void detail::report(const mb_host_api* api, mb_host* host, std::string_view what) noexcept {
    api->report_fault(host, str(what));
}

inline NodeInfo Command::sender() const {
    if (auto n = host_->node(packet_.from)) return *n;
    NodeInfo bare;
    bare.num = packet_.from;
    bare.id = node_id(packet_.from);
    return bare;
}

inline void Command::reply(std::string_view text) const {
    host_->reply(c_->event, text);
}
inline void TextMessage::reply(std::string_view text) const {
    host_->reply(event_, text);
}

template <typename T>
std::optional<T> Config::get(std::string_view path) const {
    const mb_value v = raw(path);
    if (v.type == MB_VALUE_NONE) return std::nullopt;
    if constexpr (std::is_same_v<T, bool>) {
        if (v.type != MB_VALUE_BOOL) wrong_type(path, "true or false");
        return v.boolean != 0;
    } else if constexpr (std::is_integral_v<T>) {
        if (v.type != MB_VALUE_INT) wrong_type(path, "an integer");
        // Never a silent wrap: -1 read as unsigned would be 4294967295.
        if (!std::in_range<T>(v.integer))
            refuse(path, "must be an integer from " + number(std::numeric_limits<T>::min()) +
                             " to " + number(std::numeric_limits<T>::max()) + ", got " +
                             number(v.integer));
        return static_cast<T>(v.integer);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (v.type != MB_VALUE_INT && v.type != MB_VALUE_FLOAT) wrong_type(path, "a number");
        return static_cast<T>(v.number);
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (v.type != MB_VALUE_STRING) wrong_type(path, "a string");
        return std::string(detail::view(v.string));
    } else {
        using Element = typename T::value_type;
        static_assert(std::is_same_v<T, std::vector<Element>>,
                      "Config::get<T>: T must be bool, an integer, a floating type, std::string or "
                      "std::vector of those");
        if (v.type != MB_VALUE_ARRAY) wrong_type(path, "an array");
        T out;
        for (std::int64_t i = 0; i < v.integer; ++i) {
            auto element = get<Element>(std::string(path) + "[" + std::to_string(i) + "]");
            if (element) out.push_back(std::move(*element));
        }
        return out;
    }
}

}  // namespace meshbot
