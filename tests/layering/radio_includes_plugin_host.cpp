// Must not compile: a source of the radio layer reaching up into the plugin host. The test
// "layers: ..." builds it and expects the compiler to find no such header.
#include "plugin_host/plugin_host.hpp"
