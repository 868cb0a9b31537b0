#pragma once
// getaddrinfo() for a plugin granted the network: its own network namespace has no route to a
// name server, so lookups go to the host (the broker's descriptor, see plugin_channel.proto).
// The runner exports its getaddrinfo (--export-dynamic-symbol), so it is the one the plugin and
// the libraries it loads (libcurl, ...) call. Without a grant, libc's own answers (from
// /etc/hosts; no name server is reachable).

namespace meshbot::runner {

// From now on getaddrinfo() asks the host on `fd` (a SOCK_SEQPACKET socket). Before dlopen.
void look_up_names_through(int fd);

}  // namespace meshbot::runner
