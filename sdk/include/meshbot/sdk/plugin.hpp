#pragma once
// MESHBOT_PLUGIN(Class, "id", "version"): turns a plain class into a meshbot plugin library.

#include <cstdio>
#include <cstring>
#include <memory>
#include <type_traits>

#include "meshbot/abi.h"
#include "meshbot/sdk/host.hpp"

namespace meshbot::detail {

// What the host's mb_plugin* points to: the Host wrapper and the user's plugin object.
template <typename Plugin>
struct Instance {
    Host host;
    std::unique_ptr<Plugin> plugin;
    Instance(const mb_host_api* api, mb_host* h) : host(api, h) {}
};

template <typename Plugin>
mb_plugin* create(const mb_host_api* api, mb_host* host, char* error,
                  std::size_t error_size) noexcept {
    auto fail = [&](const char* what) -> mb_plugin* {
        if (error && error_size) std::snprintf(error, error_size, "%s", what);
        return nullptr;
    };
    if (!api || api->struct_size < sizeof(mb_host_api) || api->abi_major != MB_ABI_MAJOR) {
        return fail("host ABI does not match the SDK this plugin was built with");
    }
    try {
        auto instance = std::make_unique<Instance<Plugin>>(api, host);
        instance->plugin = std::make_unique<Plugin>(instance->host);
        return reinterpret_cast<mb_plugin*>(instance.release());
    } catch (const std::exception& e) {
        return fail(e.what());
    } catch (...) {
        return fail("unknown exception in the plugin's constructor");
    }
}

template <typename Plugin>
void destroy(mb_plugin* plugin) noexcept {
    std::unique_ptr<Instance<Plugin>> instance(reinterpret_cast<Instance<Plugin>*>(plugin));
    if (!instance) return;
    const mb_host_api* api = instance->host.api();
    mb_host* host = instance->host.handle();
    guarded(api, host, "plugin destructor", [&] { instance->plugin.reset(); });
}

template <typename Plugin>
const mb_plugin_info* plugin_info(const char* id, const char* version) noexcept {
    static_assert(std::is_class_v<Plugin>, "MESHBOT_PLUGIN(Class, ...): Class must be a class");
    static_assert(!std::is_abstract_v<Plugin>,
                  "MESHBOT_PLUGIN(Class, ...): Class must not be abstract");
    static_assert(std::is_constructible_v<Plugin, Host&>,
                  "MESHBOT_PLUGIN(Class, ...): Class needs a constructor Class(meshbot::Host&)");
    static mb_plugin_info info = [&] {
        mb_plugin_info i{};
        i.struct_size = sizeof i;
        i.abi_major = MB_ABI_MAJOR;
        i.abi_minor = MB_ABI_MINOR;
        i.abi_patch = MB_ABI_PATCH;
        i.id = id;
        i.version = version;
        i.create = &create<Plugin>;
        i.destroy = &destroy<Plugin>;
        return i;
    }();
    return &info;
}

}  // namespace meshbot::detail

#define MESHBOT_PLUGIN(Class, id, version)                                \
    extern "C" MB_EXPORT const mb_plugin_info* mb_plugin_entry_v1(void) { \
        return ::meshbot::detail::plugin_info<Class>(id, version);        \
    }
