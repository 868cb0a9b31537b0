// Exercises a library without the entry point: it exports a function, but not
// mb_plugin_entry_v1, so the host must refuse it with a clear reason (no entry point) instead
// of calling through a null function pointer.

#include <meshbot/abi.h>

extern "C" MB_EXPORT int meshbot_not_a_plugin(void) {
    return 42;
}
