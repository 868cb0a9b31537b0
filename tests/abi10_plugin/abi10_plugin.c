/* A plugin in plain C, built against the ABI 1.0 header as it was released
 * (tests/fixtures/abi-1.0/meshbot/abi.h, never to be updated): a 1.x host must load and run it
 * unchanged, in its own process or in the bot's. Its structs are the 1.0 sizes.
 *   /old NAME   a node query, a config read and a key-value read and write, all from inside
 *               the command handler: "<greeting> <short name>, call <n> (abi 1.0)"
 *   /oldwork    post_work: the work computes, done() replies "work done: 42" */
#include <meshbot/abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mb_host_api* g_api;
static mb_host* g_host;

static mb_str str(const char* s) {
    mb_str out = {s, strlen(s)};
    return out;
}

static void copy_short_name(void* user, const mb_node* node) {
    snprintf((char*)user, 64, "%.*s", (int)node->short_name.size, node->short_name.data);
}

static void copy_value(void* user, mb_bytes value) {
    snprintf((char*)user, 64, "%.*s", (int)value.size, (const char*)value.data);
}

static void on_old(void* user, const mb_command* command) {
    char name[64] = "nobody";
    char greeting[64] = "hello";
    char count[64] = "0";
    char text[200];
    /* The host must write no byte past the struct_size the plugin gave (a newer host's mb_value
     * is larger than this 1.0 one). */
    struct {
        mb_value value;
        unsigned char after[64];
    } guarded;
    mb_value* value = &guarded.value;
    const char* overrun = "";
    size_t i;
    int calls;
    (void)user;
    g_api->node_find(g_host, command->args, copy_short_name, name);
    memset(&guarded, 0xA5, sizeof guarded);
    memset(value, 0, sizeof *value);
    value->struct_size = sizeof *value;
    if (g_api->config_get(g_host, str("greeting"), value) == MB_OK &&
        value->type == MB_VALUE_STRING) {
        snprintf(greeting, sizeof greeting, "%.*s", (int)value->string.size, value->string.data);
    }
    for (i = 0; i < sizeof guarded.after; ++i) {
        if (guarded.after[i] != 0xA5) overrun = ", config_get wrote past the struct";
    }
    g_api->kv_get(g_host, str("calls"), copy_value, count);
    calls = atoi(count) + 1;
    snprintf(count, sizeof count, "%d", calls);
    {
        mb_bytes stored = {(const uint8_t*)count, strlen(count)};
        g_api->kv_set(g_host, str("calls"), stored);
    }
    snprintf(text, sizeof text, "%s %s, call %d (abi 1.0%s)", greeting, name, calls, overrun);
    g_api->reply(g_host, command->event, str(text));
}

struct job {
    uint64_t event;
    int result;
};

static void work(void* user) {
    ((struct job*)user)->result = 6 * 7;
}

static void work_done(void* user) {
    char text[64];
    struct job* j = (struct job*)user;
    snprintf(text, sizeof text, "work done: %d", j->result);
    g_api->reply(g_host, j->event, str(text));
}

static void on_oldwork(void* user, const mb_command* command) {
    struct job* j = (struct job*)calloc(1, sizeof *j);
    (void)user;
    if (j == NULL) return;
    j->event = command->event;
    g_api->post_work(g_host, work, work_done, j, free);
}

static int register_command(const char* name, const char* help, mb_command_fn fn) {
    mb_command_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.struct_size = sizeof spec;
    spec.name = str(name);
    spec.args = str("");
    spec.help = str(help);
    spec.scope = MB_SCOPE_BOTH;
    return g_api->register_command(g_host, &spec, fn, NULL, NULL) == MB_OK;
}

static int g_instance;

static mb_plugin* create(const mb_host_api* api, mb_host* host, char* error, size_t size) {
    if (api == NULL || api->abi_major != MB_ABI_MAJOR) {
        snprintf(error, size, "host ABI major does not match");
        return NULL;
    }
    g_api = api;
    g_host = host;
    if (!register_command("old", "a 1.0 plugin's nested calls", on_old) ||
        !register_command("oldwork", "a 1.0 plugin's post_work", on_oldwork)) {
        snprintf(error, size, "could not register commands");
        return NULL;
    }
    return (mb_plugin*)&g_instance;
}

static void destroy(mb_plugin* plugin) {
    (void)plugin;
}

MB_EXPORT const mb_plugin_info* mb_plugin_entry_v1(void) {
    static mb_plugin_info info;
    info.struct_size = sizeof info;
    info.abi_major = MB_ABI_MAJOR;
    info.abi_minor = MB_ABI_MINOR;
    info.abi_patch = MB_ABI_PATCH;
    info.id = "abi10";
    info.version = "1.0.0";
    info.create = create;
    info.destroy = destroy;
    return &info;
}
