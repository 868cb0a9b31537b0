// Exercises the version gate: the entry point announces ABI major MB_ABI_MAJOR + 1, so the host
// must refuse the plugin (failed_version) without ever calling create(). Written by hand in
// plain C style, without the SDK's MESHBOT_PLUGIN macro, the way a C plugin would.

#include <meshbot/abi.h>

#include <stdio.h>

extern "C" {

static mb_plugin* bad_major_create(const mb_host_api* api, mb_host* host, char* error,
                                   size_t error_size) {
    (void)api;
    (void)host;
    /* Never reached when the host checks the version first. */
    if (error && error_size) snprintf(error, error_size, "bad_major: create() must not be called");
    return NULL;
}

static void bad_major_destroy(mb_plugin* plugin) {
    (void)plugin;
}

MB_EXPORT const mb_plugin_info* mb_plugin_entry_v1(void) {
    static mb_plugin_info info;
    info.struct_size = sizeof info;
    info.abi_major = MB_ABI_MAJOR + 1;
    info.abi_minor = 0;
    info.abi_patch = 0;
    info.id = "bad_major";
    info.version = "1.0.0";
    info.create = bad_major_create;
    info.destroy = bad_major_destroy;
    return &info;
}

}  // extern "C"
