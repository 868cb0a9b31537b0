/*
 * meshbot plugin ABI: the C boundary between the meshbot host and its plugins.
 *
 * Rules (docs/abi.md explains them):
 * - Only plain C types cross this boundary: PODs, (pointer, size) strings and byte spans,
 *   and serialized protobuf bytes. Never C++ objects, exceptions or allocator ownership.
 * - Every struct starts with `uint32_t struct_size` and only ever grows at the end; a reader
 *   checks struct_size before touching a field added in a later minor version.
 * - Enums start at 0 = invalid, so a zeroed struct is never silently meaningful.
 * - Version gate: the host loads a plugin when the majors are equal and the host's minor is at
 *   least the plugin's.
 * - Threading: the host calls every plugin callback on its one event-loop thread, and plugins
 *   call the host API from that thread only (post_work's `work` runs elsewhere and must not
 *   call the host).
 * - Strings handed to a callback are valid for the duration of that call only.
 */
#ifndef MESHBOT_ABI_H
#define MESHBOT_ABI_H

#include <stddef.h>
#include <stdint.h>

#define MB_ABI_MAJOR 1
#define MB_ABI_MINOR 2
#define MB_ABI_PATCH 0

#define MB_PLUGIN_ENTRY_SYMBOL "mb_plugin_entry_v1"
#define MB_BROADCAST 0xFFFFFFFFu

#if defined(_WIN32)
#define MB_EXPORT __declspec(dllexport)
#else
#define MB_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mb_host mb_host;     /* opaque, one per loaded plugin, owned by the host */
typedef struct mb_plugin mb_plugin; /* opaque plugin instance, owned by the plugin */

typedef struct mb_str {
    const char* data; /* UTF-8, not necessarily NUL-terminated */
    size_t size;
} mb_str;

typedef struct mb_bytes {
    const uint8_t* data;
    size_t size;
} mb_bytes;

typedef enum mb_result {
    MB_RESULT_INVALID = 0,
    MB_OK = 1,
    MB_ERR_ARGUMENT = 2,  /* a parameter was malformed */
    MB_ERR_NOT_FOUND = 3, /* no such node, key, command ... */
    MB_ERR_REFUSED = 4,   /* not allowed (wrong thread, name taken, permission) */
    MB_ERR_FULL = 5,      /* a bounded queue or store is full */
    MB_ERR_TYPE = 6,      /* a config value exists with another type */
    MB_ERR_INTERNAL = 7
} mb_result;

typedef enum mb_log_level {
    MB_LOG_INVALID = 0,
    MB_LOG_TRACE = 1,
    MB_LOG_DEBUG = 2,
    MB_LOG_INFO = 3,
    MB_LOG_WARN = 4,
    MB_LOG_ERROR = 5
} mb_log_level;

typedef enum mb_scope {
    MB_SCOPE_INVALID = 0,
    MB_SCOPE_DM = 1,      /* only as a direct message to the bot */
    MB_SCOPE_CHANNEL = 2, /* only on an allowed channel */
    MB_SCOPE_BOTH = 3
} mb_scope;

/* What the bot knows about a node's public key (since 1.1). */
typedef enum mb_key_state {
    MB_KEY_INVALID = 0,
    MB_KEY_UNKNOWN = 1, /* no key heard yet */
    MB_KEY_PINNED = 2,  /* the first key seen (or one an operator accepted) */
    MB_KEY_CHANGED = 3  /* the node presented a different key; privileged rights suspended */
} mb_key_state;

typedef enum mb_event_kind {
    MB_EVENT_INVALID = 0,
    MB_EVENT_TEXT = 1,         /* a text message (not a command) */
    MB_EVENT_PACKET = 2,       /* any decoded packet of the subscribed portnum */
    MB_EVENT_NODE_UPDATED = 3, /* a node's info, position or metrics changed */
    MB_EVENT_KEY_CHANGED = 4,  /* a known node presented a different public key */
    MB_EVENT_LINK_UP = 5,      /* the radio link completed a handshake */
    MB_EVENT_LINK_DOWN = 6     /* the radio link was lost (it reconnects by itself) */
} mb_event_kind;

/* A mesh packet received from the radio. */
typedef struct mb_packet {
    uint32_t struct_size;
    uint32_t from;
    uint32_t to; /* MB_BROADCAST for channel messages */
    uint32_t id;
    uint32_t channel; /* channel index 0-7 */
    uint32_t portnum; /* 0 when the radio could not decrypt it */
    mb_bytes payload; /* decoded payload (UTF-8 text for portnum 1) */
    uint32_t request_id;
    uint8_t want_response;
    uint8_t pki_encrypted;
    uint8_t is_dm;    /* addressed to our node */
    uint8_t replayed; /* delivered from the radio's backlog after a (re)connect */
    float rx_snr;
    int32_t rx_rssi;
    int32_t hops_away;    /* hop_start - hop_limit, -1 when unknown */
    uint32_t rx_time;     /* epoch seconds, 0 when the radio had no clock */
    mb_bytes mesh_packet; /* the whole MeshPacket, serialized (proto/mesh.proto) */
} mb_packet;

/* A node as the bot knows it. */
typedef struct mb_node {
    uint32_t struct_size;
    uint32_t num;
    mb_str id; /* "!0badc0de" */
    mb_str long_name;
    mb_str short_name;
    uint32_t role;
    uint32_t hw_model;
    mb_bytes public_key; /* empty when unknown */
    uint32_t last_heard; /* epoch seconds, 0 when never */
    float snr;
    int32_t hops_away; /* -1 when unknown */
    uint8_t is_self;
    uint8_t has_position;
    uint8_t has_device_metrics;
    uint8_t reserved0;
    int32_t latitude_i; /* degrees * 1e7 */
    int32_t longitude_i;
    int32_t altitude;
    uint32_t battery_level; /* 0-100, above 100 = external power */
    float voltage;
    float channel_utilization;
    float air_util_tx;
    uint32_t uptime_seconds;
    /* since 1.1 */
    int32_t rssi;           /* of the last packet heard, 0 when unknown */
    uint32_t first_heard;   /* epoch seconds the bot first learned of it, 0 when unknown */
    mb_key_state key_state; /* `public_key` is the pinned key, or the new one when CHANGED */
    uint8_t radio_has_key;  /* the connected radio holds the node's pinned key */
    uint8_t reserved1;
    uint8_t reserved2;
    uint8_t reserved3;
} mb_node;

/* A command addressed to one of the plugin's registered commands. */
typedef struct mb_command {
    uint32_t struct_size;
    uint64_t event; /* pass to reply() */
    const mb_packet* packet;
    mb_str name; /* without the prefix */
    mb_str args; /* the rest of the text, trimmed */
} mb_command;

typedef struct mb_event {
    uint32_t struct_size;
    mb_event_kind kind;
    uint64_t event;          /* TEXT: pass to reply() */
    const mb_packet* packet; /* TEXT, PACKET */
    const mb_node* node;     /* NODE_UPDATED, KEY_CHANGED */
    mb_str reason;           /* LINK_DOWN */
} mb_event;

typedef enum mb_send_status {
    MB_SEND_INVALID = 0,
    MB_SEND_ACKED = 1,    /* routing ACK (from the destination, or implicit for broadcasts) */
    MB_SEND_SENT = 2,     /* queued by the radio, no ACK asked for */
    MB_SEND_RESPONSE = 3, /* want_response: `response` holds the answer */
    MB_SEND_NAK = 4,      /* routing_error says why */
    MB_SEND_TIMEOUT = 5,  /* no answer in time */
    MB_SEND_EXPIRED = 6,  /* no radio link for too long */
    MB_SEND_REJECTED = 7, /* outbox full, or refused (see message) */
    MB_SEND_CANCELLED = 8 /* the host is stopping */
} mb_send_status;

typedef struct mb_send_result {
    uint32_t struct_size;
    mb_send_status status;
    uint32_t id;               /* the packet id (the request_id answers carry) */
    int32_t routing_error;     /* Routing.Error with MB_SEND_NAK */
    uint32_t from;             /* who answered */
    const mb_packet* response; /* with MB_SEND_RESPONSE */
    mb_str message;            /* human-readable detail, may be empty */
} mb_send_result;

typedef struct mb_data_request {
    uint32_t struct_size;
    uint32_t to;      /* node number or MB_BROADCAST */
    uint32_t channel; /* channel index for broadcasts */
    uint32_t portnum;
    mb_bytes payload;
    uint8_t want_ack;
    uint8_t want_response;
    uint8_t reserved0;
    uint8_t reserved1;
    uint32_t timeout_ms; /* how long to wait for a response/ack; 0 = host default */
} mb_data_request;

typedef struct mb_command_spec {
    uint32_t struct_size;
    mb_str name; /* [a-z0-9_-], without the prefix */
    mb_str args; /* usage, e.g. "<text>" */
    mb_str help; /* one line */
    mb_scope scope;
    uint8_t privileged; /* admins only, PKI-encrypted DMs only */
} mb_command_spec;

typedef enum mb_value_type {
    MB_VALUE_NONE = 0, /* absent */
    MB_VALUE_BOOL = 1,
    MB_VALUE_INT = 2,
    MB_VALUE_FLOAT = 3,
    MB_VALUE_STRING = 4,
    MB_VALUE_ARRAY = 5, /* `integer` holds the length; elements are "key[0]", "key[1]" ... */
    MB_VALUE_TABLE = 6  /* sub-keys are "key.sub" */
} mb_value_type;

typedef struct mb_value {
    uint32_t struct_size;
    mb_value_type type;
    uint8_t boolean;
    int64_t integer;
    double number; /* also set for MB_VALUE_INT */
    mb_str string; /* valid until the plugin is unloaded */
    /* since 1.2: "file:line:column" of the value in the bot's config, for messages; empty when
     * unknown. Valid until the plugin is unloaded. */
    mb_str where;
} mb_value;

/* The host's health figures (since 1.1): the radio link, the key sync and the node store. */
typedef struct mb_status {
    uint32_t struct_size; /* set by the caller to sizeof(mb_status) */
    uint8_t link_up;      /* a handshake completed and the link has not dropped since */
    uint8_t reserved0;
    uint8_t reserved1;
    uint8_t reserved2;
    uint64_t started_at;       /* epoch seconds the daemon started */
    uint64_t connected_since;  /* epoch seconds of the current session's handshake, 0 when down */
    uint64_t last_rx;          /* epoch seconds of the last frame from the radio, 0 when never */
    uint32_t sessions;         /* handshakes completed since start (reconnects = sessions - 1) */
    uint32_t radio_queue_free; /* the radio's TX queue per its last queueStatus */
    uint32_t radio_queue_max;
    uint32_t outbox_pending; /* packets waiting in the bot's outbox */
    uint64_t frames_in;
    uint64_t frames_out;
    uint64_t key_checks_run;     /* periodic key checks that compared store and radio */
    uint64_t key_checks_skipped; /* periodic key checks skipped: nothing had changed */
    uint64_t keys_pushed;        /* add_contact pushes the radio acknowledged */
    uint64_t key_pushes_failed;
    uint64_t key_changes;    /* keys that changed for a known node since start */
    uint32_t nodes_known;    /* in the bot's node store */
    uint32_t nodes_on_radio; /* in the radio's NodeDB, per the last handshake */
    mb_str data_dir;         /* the bot's data directory; valid until the plugin is unloaded */
} mb_status;

typedef void (*mb_release_fn)(void* user); /* the host is done with `user` */
typedef void (*mb_command_fn)(void* user, const mb_command* command);
typedef void (*mb_event_fn)(void* user, const mb_event* event);
typedef void (*mb_timer_fn)(void* user);
typedef void (*mb_send_fn)(void* user, const mb_send_result* result);
typedef void (*mb_node_fn)(void* user, const mb_node* node);
typedef void (*mb_bytes_fn)(void* user, mb_bytes value);
typedef void (*mb_work_fn)(void* user);

/*
 * The host's function table. Every call takes the plugin's own mb_host handle so the host can
 * attribute, limit and clean up what the plugin registered. Registrations take a release
 * function that the host calls exactly once when it drops `user` (cancel, unload, one-shot
 * done), so the plugin can free whatever `user` points to.
 */
typedef struct mb_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint16_t abi_patch;
    uint16_t reserved0;

    void (*log)(mb_host* host, mb_log_level level, mb_str text);
    /* A callback failed (the SDK reports caught exceptions here); repeated faults disable the
     * plugin. */
    void (*report_fault)(mb_host* host, mb_str what);

    /* Answers the sender of a command or text event: split, numbered and paced by the host. */
    mb_result (*reply)(mb_host* host, uint64_t event, mb_str text);
    /* to = a node (DM, want_ack) or MB_BROADCAST on `channel`. */
    mb_result (*send_text)(mb_host* host, uint32_t to, uint32_t channel, mb_str text);
    mb_result (*send_data)(mb_host* host, const mb_data_request* request, mb_send_fn done,
                           void* user, mb_release_fn release, uint32_t* out_id);

    mb_result (*register_command)(mb_host* host, const mb_command_spec* spec, mb_command_fn fn,
                                  void* user, mb_release_fn release);
    /* portnum filters MB_EVENT_PACKET (0 = every portnum). Returns 0 on failure. */
    uint64_t (*subscribe)(mb_host* host, mb_event_kind kind, uint32_t portnum, mb_event_fn fn,
                          void* user, mb_release_fn release);
    void (*unsubscribe)(mb_host* host, uint64_t subscription);

    /* period_ms = 0: once. Returns 0 on failure. */
    uint64_t (*timer_start)(mb_host* host, uint64_t delay_ms, uint64_t period_ms, mb_timer_fn fn,
                            void* user, mb_release_fn release);
    void (*timer_cancel)(mb_host* host, uint64_t timer);

    /* By number ("123", "0x7b"), "!id", short name or long name (case-insensitive). */
    mb_result (*node_find)(mb_host* host, mb_str query, mb_node_fn fn, void* user);
    size_t (*node_each)(mb_host* host, mb_node_fn fn, void* user);
    mb_result (*self_node)(mb_host* host, mb_node_fn fn, void* user);

    /* A per-plugin key-value store that persists across restarts. */
    mb_result (*kv_get)(mb_host* host, mb_str key, mb_bytes_fn fn, void* user);
    mb_result (*kv_set)(mb_host* host, mb_str key, mb_bytes value);
    mb_result (*kv_erase)(mb_host* host, mb_str key);

    /* The plugin's [plugins.<id>] table. Paths: "key", "table.key", "list[2]". */
    mb_result (*config_get)(mb_host* host, mb_str path, mb_value* out);

    /* Runs work(user) on a worker thread, then done(user) on the event loop, then release(user). */
    mb_result (*post_work)(mb_host* host, mb_work_fn work, mb_work_fn done, void* user,
                           mb_release_fn release);

    /* ---- since 1.1 */
    /* Fills `out` up to out->struct_size. */
    mb_result (*status)(mb_host* host, mb_status* out);
} mb_host_api;

/* What a plugin library exports through its entry point. */
typedef struct mb_plugin_info {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint16_t abi_patch;
    uint16_t reserved0;
    const char* id; /* must equal the manifest's id */
    const char* version;
    /* Creates the plugin. On failure returns NULL and writes a message into error. */
    mb_plugin* (*create)(const mb_host_api* api, mb_host* host, char* error, size_t error_size);
    void (*destroy)(mb_plugin* plugin);
} mb_plugin_info;

typedef const mb_plugin_info* (*mb_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MESHBOT_ABI_H */
