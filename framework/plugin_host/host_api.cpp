// The mb_host_api function table: C entry points that check their arguments and forward to
// the PluginHost. Nothing thrown here may reach a plugin, so every entry catches everything.
#include <spdlog/spdlog.h>

#include <cstring>
#include <string_view>

#include "plugin_channel/abi_sizes.hpp"
#include "plugin_host/plugin_host.hpp"
#include "radio/radio_info.hpp"

namespace meshbot::plugins {

namespace {

// docs/abi.md, "Structs grow only at the end": first sizes, zero-filled copies in, bounded
// writes out.
using channel::copy_in;
using channel::kCommandSpecSize_1_0;
using channel::kDataRequestSize_1_0;
using channel::kStatusSize_1_1;
using channel::kValueSize_1_0;

std::string_view view(mb_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

// A node as plugins see it; points into `node` and `id`, valid while both are.
mb_node to_abi(const nodes::NodeRecord& node, std::uint32_t self, const std::string& id,
               bool radio_has_key) {
    mb_node out{};
    out.struct_size = sizeof out;
    out.num = node.num;
    out.id = mb_str{id.data(), id.size()};
    out.long_name = mb_str{node.long_name.data(), node.long_name.size()};
    out.short_name = mb_str{node.short_name.data(), node.short_name.size()};
    out.role = node.role;
    out.hw_model = node.hw_model;
    if (const nodes::PublicKey* key = node.current_key())
        out.public_key = mb_bytes{key->data(), key->size()};
    out.last_heard = node.last_heard;
    out.snr = node.snr;
    out.hops_away = node.hops_away;
    out.is_self = node.num == self;
    if (node.position) {
        out.has_position = 1;
        out.latitude_i = node.position->latitude_i;
        out.longitude_i = node.position->longitude_i;
        out.altitude = node.position->altitude;
    }
    if (node.metrics) {
        const auto& m = *node.metrics;
        out.has_device_metrics = 1;
        out.battery_level = m.battery_level;
        out.voltage = m.voltage;
        out.channel_utilization = m.channel_utilization;
        out.air_util_tx = m.air_util_tx;
        out.uptime_seconds = m.uptime_seconds;
    }
    out.rssi = node.rssi;
    out.first_heard = node.first_heard;
    switch (node.key_state()) {
        case nodes::KeyState::unknown:
            out.key_state = MB_KEY_UNKNOWN;
            break;
        case nodes::KeyState::pinned:
            out.key_state = MB_KEY_PINNED;
            break;
        case nodes::KeyState::changed:
            out.key_state = MB_KEY_CHANGED;
            break;
    }
    out.radio_has_key = radio_has_key;
    return out;
}

// Resolves the handle; null for a foreign, unloaded or wrong-thread caller.
PluginRecord* plugin_of(mb_host* host, const char* call) {
    if (host == nullptr || host->owner == nullptr || host->plugin == nullptr) return nullptr;
    if (!host->owner->on_loop_thread(*host->plugin, call)) return nullptr;
    return host->plugin;
}

// Every entry point: resolve the plugin, run `body`, turn any exception into `failed`.
template <typename R, typename Body>
R guarded(mb_host* host, const char* call, R failed, Body&& body) noexcept {
    try {
        PluginRecord* plugin = plugin_of(host, call);
        if (plugin == nullptr) return failed;
        return body(*host->owner, *plugin);
    } catch (const std::exception& e) {
        spdlog::error("host api {}: {}", call, e.what());
    } catch (...) {
        spdlog::error("host api {}: unknown exception", call);
    }
    return failed;
}

void api_log(mb_host* host, mb_log_level level, mb_str text) {
    guarded(host, "log", 0, [&](PluginHost& h, PluginRecord& p) {
        h.log(p, level, view(text));
        return 0;
    });
}

void api_report_fault(mb_host* host, mb_str what) {
    guarded(host, "report_fault", 0, [&](PluginHost& h, PluginRecord& p) {
        h.report_fault(p, view(what));
        return 0;
    });
}

mb_result api_reply(mb_host* host, std::uint64_t event, mb_str text) {
    return guarded(host, "reply", MB_ERR_INTERNAL,
                   [&](PluginHost& h, PluginRecord& p) { return h.reply(p, event, view(text)); });
}

mb_result api_send_text(mb_host* host, std::uint32_t to, std::uint32_t channel, mb_str text) {
    return guarded(host, "send_text", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord& p) {
        return h.send_text(p, to, channel, view(text));
    });
}

mb_result api_send_data(mb_host* host, const mb_data_request* request, mb_send_fn done, void* user,
                        mb_release_fn release, std::uint32_t* out_id) {
    return guarded(host, "send_data", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord& p) {
        if (request == nullptr || request->struct_size < kDataRequestSize_1_0)
            return MB_ERR_ARGUMENT;
        return h.send_data(p, copy_in(*request), done, user, release, out_id);
    });
}

mb_result api_register_command(mb_host* host, const mb_command_spec* spec, mb_command_fn fn,
                               void* user, mb_release_fn release) {
    return guarded(host, "register_command", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord& p) {
        if (spec == nullptr || spec->struct_size < kCommandSpecSize_1_0) return MB_ERR_ARGUMENT;
        return h.register_command(p, copy_in(*spec), fn, user, release);
    });
}

std::uint64_t api_subscribe(mb_host* host, mb_event_kind kind, std::uint32_t portnum,
                            mb_event_fn fn, void* user, mb_release_fn release) {
    return guarded(host, "subscribe", std::uint64_t{0}, [&](PluginHost& h, PluginRecord& p) {
        return h.subscribe(p, kind, portnum, fn, user, release);
    });
}

void api_unsubscribe(mb_host* host, std::uint64_t id) {
    guarded(host, "unsubscribe", 0, [&](PluginHost& h, PluginRecord& p) {
        h.unsubscribe(p, id);
        return 0;
    });
}

std::uint64_t api_timer_start(mb_host* host, std::uint64_t delay_ms, std::uint64_t period_ms,
                              mb_timer_fn fn, void* user, mb_release_fn release) {
    return guarded(host, "timer_start", std::uint64_t{0}, [&](PluginHost& h, PluginRecord& p) {
        return h.timer_start(p, delay_ms, period_ms, fn, user, release);
    });
}

void api_timer_cancel(mb_host* host, std::uint64_t id) {
    guarded(host, "timer_cancel", 0, [&](PluginHost& h, PluginRecord& p) {
        h.timer_cancel(p, id);
        return 0;
    });
}

mb_result api_node_find(mb_host* host, mb_str query, mb_node_fn fn, void* user) {
    return guarded(host, "node_find", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord&) {
        if (fn == nullptr) return MB_ERR_ARGUMENT;
        const auto& dir = h.directory();
        const nodes::NodeRecord* node = dir.find(view(query));
        if (node == nullptr) return MB_ERR_NOT_FOUND;
        const std::string id = radio::node_id(node->num);
        const mb_node n = h.node_to_abi(*node, id);
        fn(user, &n);
        return MB_OK;
    });
}

size_t api_node_each(mb_host* host, mb_node_fn fn, void* user) {
    return guarded(host, "node_each", std::size_t{0}, [&](PluginHost& h, PluginRecord&) {
        if (fn == nullptr) return std::size_t{0};
        const auto& dir = h.directory();
        std::size_t count = 0;
        dir.for_each([&](const nodes::NodeRecord& node) {
            const std::string id = radio::node_id(node.num);
            const mb_node n = h.node_to_abi(node, id);
            fn(user, &n);
            ++count;
        });
        return count;
    });
}

mb_result api_self_node(mb_host* host, mb_node_fn fn, void* user) {
    return guarded(host, "self_node", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord&) {
        const auto& dir = h.directory();
        const nodes::NodeRecord* node = dir.self_num() ? dir.find(dir.self_num()) : nullptr;
        if (node == nullptr || fn == nullptr) return MB_ERR_NOT_FOUND;
        const std::string id = radio::node_id(node->num);
        const mb_node n = h.node_to_abi(*node, id);
        fn(user, &n);
        return MB_OK;
    });
}

mb_result api_kv_get(mb_host* host, mb_str key, mb_bytes_fn fn, void* user) {
    return guarded(host, "kv_get", MB_ERR_INTERNAL, [&](PluginHost&, PluginRecord& p) {
        const auto value = p.store.get(view(key));
        if (!value) return MB_ERR_NOT_FOUND;
        if (fn)
            fn(user, mb_bytes{reinterpret_cast<const std::uint8_t*>(value->data()), value->size()});
        return MB_OK;
    });
}

mb_result api_kv_set(mb_host* host, mb_str key, mb_bytes value) {
    return guarded(host, "kv_set", MB_ERR_INTERNAL, [&](PluginHost&, PluginRecord& p) {
        if (key.size == 0) return MB_ERR_ARGUMENT;
        const std::string_view v(reinterpret_cast<const char*>(value.data),
                                 value.data ? value.size : 0);
        switch (p.store.set(view(key), v)) {
            case KvStore::Result::ok:
                return MB_OK;
            case KvStore::Result::full:
                return MB_ERR_FULL;
            case KvStore::Result::io_error:
                break;
        }
        spdlog::error("plugin {}: could not write its store", p.id());
        return MB_ERR_INTERNAL;
    });
}

mb_result api_kv_erase(mb_host* host, mb_str key) {
    return guarded(host, "kv_erase", MB_ERR_INTERNAL, [&](PluginHost&, PluginRecord& p) {
        return p.store.erase(view(key)) == KvStore::Result::ok ? MB_OK : MB_ERR_INTERNAL;
    });
}

mb_result api_config_get(mb_host* host, mb_str path, mb_value* out) {
    return guarded(host, "config_get", MB_ERR_INTERNAL, [&](PluginHost&, PluginRecord& p) {
        if (out == nullptr || out->struct_size < kValueSize_1_0) return MB_ERR_ARGUMENT;
        const mb_value value = p.config.get(view(path));
        channel::write_out(value, *out);
        return value.type == MB_VALUE_NONE ? MB_ERR_NOT_FOUND : MB_OK;
    });
}

mb_result api_post_work(mb_host* host, mb_work_fn work, mb_work_fn done, void* user,
                        mb_release_fn release) {
    return guarded(host, "post_work", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord& p) {
        return h.post_work(p, work, done, user, release);
    });
}

mb_result api_status(mb_host* host, mb_status* out) {
    return guarded(host, "status", MB_ERR_INTERNAL, [&](PluginHost& h, PluginRecord&) {
        if (out == nullptr || out->struct_size < kStatusSize_1_1) return MB_ERR_ARGUMENT;
        return h.status(*out);
    });
}

}  // namespace

mb_result PluginHost::status(mb_status& out) const {
    mb_status filled = mesh_.status().to_abi();
    // Valid until the plugin is unloaded (abi.h): the host's copy, not the temporary's.
    filled.data_dir = mb_str{data_dir_.data(), data_dir_.size()};
    channel::write_out(filled, out);
    return MB_OK;
}

const mb_host_api& PluginHost::api() {
    static const mb_host_api table = [] {
        mb_host_api t{};
        t.struct_size = sizeof t;
        t.abi_major = MB_ABI_MAJOR;
        t.abi_minor = MB_ABI_MINOR;
        t.abi_patch = MB_ABI_PATCH;
        t.log = api_log;
        t.report_fault = api_report_fault;
        t.reply = api_reply;
        t.send_text = api_send_text;
        t.send_data = api_send_data;
        t.register_command = api_register_command;
        t.subscribe = api_subscribe;
        t.unsubscribe = api_unsubscribe;
        t.timer_start = api_timer_start;
        t.timer_cancel = api_timer_cancel;
        t.node_find = api_node_find;
        t.node_each = api_node_each;
        t.self_node = api_self_node;
        t.kv_get = api_kv_get;
        t.kv_set = api_kv_set;
        t.kv_erase = api_kv_erase;
        t.config_get = api_config_get;
        t.post_work = api_post_work;
        t.status = api_status;
        return t;
    }();
    return table;
}

mb_node PluginHost::node_to_abi(const nodes::NodeRecord& node, const std::string& id) const {
    return to_abi(node, mesh_.directory().self_num(), id, mesh_.radio_holds_key(node.num));
}

void PluginHost::on_node_updated(const nodes::NodeRecord& node) {
    node_event(MB_EVENT_NODE_UPDATED, node);
}

void PluginHost::on_key_changed(const nodes::NodeRecord& node) {
    node_event(MB_EVENT_KEY_CHANGED, node);
}

void PluginHost::node_event(mb_event_kind kind, const nodes::NodeRecord& node) {
    if (!has_subscribers(kind)) return;
    const std::string id = radio::node_id(node.num);
    const mb_node n = node_to_abi(node, id);
    mb_event e{};
    e.struct_size = sizeof e;
    e.kind = kind;
    e.node = &n;
    dispatch(kind, 0, e);
}

}  // namespace meshbot::plugins
