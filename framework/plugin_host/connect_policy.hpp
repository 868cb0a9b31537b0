#pragma once
// Which connections a plugin granted the network may have (docs/plugin-sandbox.md): anywhere
// but the radio, whatever the spelling, and no port on this machine unless the operator listed
// it. Decided by the host, for the runner's seccomp-notified connect() calls.

#include <cstdint>
#include <set>
#include <string>

namespace meshbot::plugins {

// The operator's grant and the radio it protects. Plain data; any thread.
struct ConnectPolicy {
    std::set<std::uint16_t> local_ports;  // [plugins.<id>] allow_local_ports
    std::string radio_host;               // [radio] host when the radio is on TCP, else empty
    std::uint16_t radio_port = 0;         // 0: a serial radio
};

struct ConnectVerdict {
    bool allowed = false;
    std::string target;  // the address as the plugin gave it, for the log
    std::string why;     // when refused
};

// `sockaddr` is the plugin's connect() argument, already copied out of its memory. Reads the
// machine's interface addresses and the radio links' addresses (radio/endpoint_registry).
ConnectVerdict decide_connect(const void* sockaddr, unsigned length, const ConnectPolicy& policy);

}  // namespace meshbot::plugins
