// The mb_host_api a plugin gets inside a runner: every entry turns into a message to the host.
// Structs come in copied into zeroed locals up to their struct_size, so a plugin built against
// an older minor version reads as one whose newer fields are zero (docs/abi.md).
#include <algorithm>
#include <cstring>

#include "plugin_channel/abi_messages.hpp"
#include "plugin_channel/abi_sizes.hpp"
#include "plugin_channel/channel_frames.hpp"
#include "plugin_runner/plugin_runner.hpp"

namespace meshbot::runner {

namespace {

using channel::view;

using channel::copy_in;
using channel::kCommandSpecSize_1_0;
using channel::kDataRequestSize_1_0;
using channel::kStatusSize_1_1;
using channel::kValueSize_1_0;

std::string text_of(std::string_view s) {
    return std::string(s.substr(0, std::min(s.size(), channel::kMaxText)));
}

PluginRunner* runner_of(mb_host* host, const char* call) {
    if (host == nullptr || host->runner == nullptr) return nullptr;
    return host->runner->on_loop_thread(call) ? host->runner : nullptr;
}

// Every entry point: resolve the runner, run `body`, and let nothing escape.
template <typename R, typename Body>
R entry(mb_host* host, const char* call, R failed, Body&& body) noexcept {
    try {
        PluginRunner* runner = runner_of(host, call);
        return runner ? body(*runner) : failed;
    } catch (...) {
        return failed;
    }
}

}  // namespace

const mb_host_api* PluginRunner::api() const {
    static const mb_host_api table = [] {
        mb_host_api t{};
        t.struct_size = sizeof t;
        t.abi_major = MB_ABI_MAJOR;
        t.abi_minor = MB_ABI_MINOR;
        t.abi_patch = MB_ABI_PATCH;
        t.log = [](mb_host* h, mb_log_level level, mb_str text) {
            entry(h, "log", 0, [&](PluginRunner& r) {
                r.log(level, view(text));
                return 0;
            });
        };
        t.report_fault = [](mb_host* h, mb_str what) {
            entry(h, "report_fault", 0, [&](PluginRunner& r) {
                r.report_fault(view(what));
                return 0;
            });
        };
        t.reply = [](mb_host* h, std::uint64_t event, mb_str text) {
            return entry(h, "reply", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.reply(event, view(text)); });
        };
        t.send_text = [](mb_host* h, std::uint32_t to, std::uint32_t channel, mb_str text) {
            return entry(h, "send_text", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.send_text(to, channel, view(text)); });
        };
        t.send_data = [](mb_host* h, const mb_data_request* request, mb_send_fn done, void* user,
                         mb_release_fn release, std::uint32_t* out_id) {
            return entry(h, "send_data", MB_ERR_INTERNAL, [&](PluginRunner& r) {
                if (request == nullptr || request->struct_size < kDataRequestSize_1_0)
                    return MB_ERR_ARGUMENT;
                return r.send_data(copy_in(*request), done, user, release, out_id);
            });
        };
        t.register_command = [](mb_host* h, const mb_command_spec* spec, mb_command_fn fn,
                                void* user, mb_release_fn release) {
            return entry(h, "register_command", MB_ERR_INTERNAL, [&](PluginRunner& r) {
                if (spec == nullptr || spec->struct_size < kCommandSpecSize_1_0)
                    return MB_ERR_ARGUMENT;
                return r.register_command(copy_in(*spec), fn, user, release);
            });
        };
        t.subscribe = [](mb_host* h, mb_event_kind kind, std::uint32_t portnum, mb_event_fn fn,
                         void* user, mb_release_fn release) {
            return entry(h, "subscribe", std::uint64_t{0}, [&](PluginRunner& r) {
                return r.subscribe(kind, portnum, fn, user, release);
            });
        };
        t.unsubscribe = [](mb_host* h, std::uint64_t id) {
            entry(h, "unsubscribe", 0, [&](PluginRunner& r) {
                r.unsubscribe(id);
                return 0;
            });
        };
        t.timer_start = [](mb_host* h, std::uint64_t delay_ms, std::uint64_t period_ms,
                           mb_timer_fn fn, void* user, mb_release_fn release) {
            return entry(h, "timer_start", std::uint64_t{0}, [&](PluginRunner& r) {
                return r.timer_start(delay_ms, period_ms, fn, user, release);
            });
        };
        t.timer_cancel = [](mb_host* h, std::uint64_t id) {
            entry(h, "timer_cancel", 0, [&](PluginRunner& r) {
                r.timer_cancel(id);
                return 0;
            });
        };
        t.node_find = [](mb_host* h, mb_str query, mb_node_fn fn, void* user) {
            return entry(h, "node_find", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.node_find(view(query), fn, user); });
        };
        t.node_each = [](mb_host* h, mb_node_fn fn, void* user) {
            return entry(h, "node_each", std::size_t{0},
                         [&](PluginRunner& r) { return r.node_each(fn, user); });
        };
        t.self_node = [](mb_host* h, mb_node_fn fn, void* user) {
            return entry(h, "self_node", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.self_node(fn, user); });
        };
        t.kv_get = [](mb_host* h, mb_str key, mb_bytes_fn fn, void* user) {
            return entry(h, "kv_get", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.kv_get(view(key), fn, user); });
        };
        t.kv_set = [](mb_host* h, mb_str key, mb_bytes value) {
            return entry(h, "kv_set", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.kv_set(view(key), view(value)); });
        };
        t.kv_erase = [](mb_host* h, mb_str key) {
            return entry(h, "kv_erase", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.kv_erase(view(key)); });
        };
        t.config_get = [](mb_host* h, mb_str path, mb_value* out) {
            return entry(h, "config_get", MB_ERR_INTERNAL, [&](PluginRunner& r) {
                if (out == nullptr || out->struct_size < kValueSize_1_0) return MB_ERR_ARGUMENT;
                return r.config_get(view(path), *out);
            });
        };
        t.post_work = [](mb_host* h, mb_work_fn work, mb_work_fn done, void* user,
                         mb_release_fn release) {
            return entry(h, "post_work", MB_ERR_INTERNAL,
                         [&](PluginRunner& r) { return r.post_work(work, done, user, release); });
        };
        t.status = [](mb_host* h, mb_status* out) {
            return entry(h, "status", MB_ERR_INTERNAL, [&](PluginRunner& r) {
                if (out == nullptr || out->struct_size < kStatusSize_1_1) return MB_ERR_ARGUMENT;
                return r.status(*out);
            });
        };
        return t;
    }();
    return &table;
}

void PluginRunner::log(mb_log_level level, std::string_view text) {
    channel::Call c;
    c.mutable_log()->set_level(level);
    c.mutable_log()->set_text(text_of(text));
    one_way(c);
}

void PluginRunner::report_fault(std::string_view what) {
    channel::Call c;
    c.set_report_fault(text_of(what));
    one_way(c);
}

mb_result PluginRunner::reply(std::uint64_t event, std::string_view text) {
    if (text.size() > channel::kMaxText) return MB_ERR_ARGUMENT;
    channel::Call c;
    c.mutable_reply()->set_event(event);
    c.mutable_reply()->set_text(std::string(text));
    return call_result(c);
}

mb_result PluginRunner::send_text(std::uint32_t to, std::uint32_t channel, std::string_view text) {
    if (text.size() > channel::kMaxText) return MB_ERR_ARGUMENT;
    channel::Call c;
    auto& m = *c.mutable_send_text();
    m.set_to(to);
    m.set_channel(channel);
    m.set_text(std::string(text));
    return call_result(c);
}

mb_result PluginRunner::send_data(const mb_data_request& request, mb_send_fn done, void* user,
                                  mb_release_fn release, std::uint32_t* out_id) {
    channel::Call c;
    auto& m = *c.mutable_send_data();
    m.set_to(request.to);
    m.set_channel(request.channel);
    m.set_portnum(request.portnum);
    m.set_payload(std::string(view(request.payload).substr(0, channel::kMaxText)));
    m.set_want_ack(request.want_ack);
    m.set_want_response(request.want_response);
    m.set_timeout_ms(request.timeout_ms);
    m.set_closure(keep({.send = done,
                        .user = user,
                        .release = release}));  // the host releases it once the send has ended
    std::uint64_t id = 0;
    const mb_result result = call_result(c, &id);
    if (result == MB_OK && out_id) *out_id = static_cast<std::uint32_t>(id);
    return result;
}

mb_result PluginRunner::register_command(const mb_command_spec& spec, mb_command_fn fn, void* user,
                                         mb_release_fn release) {
    channel::Call c;
    auto& m = *c.mutable_register_command();
    m.set_name(std::string(view(spec.name)));
    m.set_args(std::string(view(spec.args)));
    m.set_help(std::string(view(spec.help)));
    m.set_scope(spec.scope);
    m.set_privileged(spec.privileged != 0);
    m.set_closure(keep({.command = fn, .user = user, .release = release}));
    return call_result(c);
}

std::uint64_t PluginRunner::subscribe(mb_event_kind kind, std::uint32_t portnum, mb_event_fn fn,
                                      void* user, mb_release_fn release) {
    channel::Call c;
    auto& m = *c.mutable_subscribe();
    m.set_kind(kind);
    m.set_portnum(portnum);
    m.set_closure(keep({.event = fn, .user = user, .release = release}));
    std::uint64_t id = 0;
    return call_result(c, &id) == MB_OK ? id : 0;
}

void PluginRunner::unsubscribe(std::uint64_t id) {
    channel::Call c;
    c.set_unsubscribe(id);
    one_way(c);
}

std::uint64_t PluginRunner::timer_start(std::uint64_t delay_ms, std::uint64_t period_ms,
                                        mb_timer_fn fn, void* user, mb_release_fn release) {
    channel::Call c;
    auto& m = *c.mutable_timer_start();
    m.set_delay_ms(delay_ms);
    m.set_period_ms(period_ms);
    m.set_closure(keep({.timer = fn, .user = user, .release = release}));
    std::uint64_t id = 0;
    return call_result(c, &id) == MB_OK ? id : 0;
}

void PluginRunner::timer_cancel(std::uint64_t id) {
    channel::Call c;
    c.set_timer_cancel(id);
    one_way(c);
}

mb_result PluginRunner::node_find(std::string_view query, mb_node_fn fn, void* user) {
    if (fn == nullptr) return MB_ERR_ARGUMENT;
    // The command's sender by number or !id: the host sent that node along with the command.
    if (sender_ && (query == std::to_string(sender_->num()) || query == sender_->id())) {
        const mb_node node = channel::to_abi(*sender_);
        fn(user, &node);
        return MB_OK;
    }
    channel::Call c;
    c.set_node_find(std::string(query));
    const auto answers = call(c);
    if (answers.empty()) return MB_ERR_INTERNAL;
    const auto& a = answers.back();
    if (a.result() != MB_OK || a.nodes_size() == 0) return MB_ERR_NOT_FOUND;
    const mb_node node = channel::to_abi(a.nodes(0));
    fn(user, &node);
    return MB_OK;
}

std::size_t PluginRunner::node_each(mb_node_fn fn, void* user) {
    if (fn == nullptr) return 0;
    channel::Call c;
    c.set_node_each(true);
    const auto answers = call(c);  // every part first: fn may call the host itself
    std::size_t count = 0;
    for (const auto& a : answers) {
        for (const auto& n : a.nodes()) {
            const mb_node node = channel::to_abi(n);
            fn(user, &node);
            ++count;
        }
    }
    return count;
}

mb_result PluginRunner::self_node(mb_node_fn fn, void* user) {
    channel::Call c;
    c.set_self_node(true);
    const auto answers = call(c);
    if (answers.empty()) return MB_ERR_INTERNAL;
    const auto& a = answers.back();
    if (a.result() != MB_OK || a.nodes_size() == 0 || fn == nullptr) return MB_ERR_NOT_FOUND;
    const mb_node node = channel::to_abi(a.nodes(0));
    fn(user, &node);
    return MB_OK;
}

mb_result PluginRunner::kv_get(std::string_view key, mb_bytes_fn fn, void* user) {
    channel::Call c;
    c.set_kv_get(std::string(key));
    const auto answers = call(c);
    if (answers.empty()) return MB_ERR_INTERNAL;
    const auto& a = answers.back();
    if (a.result() != MB_OK) return static_cast<mb_result>(a.result());
    if (fn) fn(user, channel::bytes(a.bytes()));
    return MB_OK;
}

mb_result PluginRunner::kv_set(std::string_view key, std::string_view value) {
    channel::Call c;
    c.mutable_kv_set()->set_key(std::string(key));
    c.mutable_kv_set()->set_value(std::string(value));
    return call_result(c);
}

mb_result PluginRunner::kv_erase(std::string_view key) {
    channel::Call c;
    c.set_kv_erase(std::string(key));
    return call_result(c);
}

mb_result PluginRunner::config_get(std::string_view path, mb_value& out) {
    channel::Call c;
    c.set_config_get(std::string(path));
    const auto answers = call(c);
    if (answers.empty()) return MB_ERR_INTERNAL;
    const auto& a = answers.back();
    mb_value value = channel::to_abi(a.value());
    // Strings stay valid until unload: the runner keeps one copy of each per path.
    auto& kept = config_strings_[std::string(path)];
    kept = {a.value().string(), a.value().where()};
    value.string = channel::str(kept.first);
    value.where = channel::str(kept.second);
    channel::write_out(value, out);
    return value.type == MB_VALUE_NONE ? MB_ERR_NOT_FOUND : MB_OK;
}

mb_result PluginRunner::status(mb_status& out) {
    channel::Call c;
    c.set_status(true);
    auto answers = call(c);
    if (answers.empty()) return MB_ERR_INTERNAL;
    auto& a = answers.back();
    if (a.result() != MB_OK) return static_cast<mb_result>(a.result());
    if (data_dir_.empty()) data_dir_ = a.status().data_dir();
    a.mutable_status()->clear_data_dir();
    channel::fill(a.status(), out);
    if (out.struct_size >= kStatusSize_1_1) out.data_dir = channel::str(data_dir_);
    return MB_OK;
}

}  // namespace meshbot::runner
