#pragma once
// One descriptor across a unix socket (SCM_RIGHTS) with a one-byte message: how the runner
// hands its seccomp listener to the host's network broker.

namespace meshbot::channel {

// Sends `fd` on the unix socket `socket`; false (errno set) when it cannot. `fd` stays open.
bool send_descriptor(int socket, int fd);
// The descriptor of the next message on `socket` (close-on-exec), or -1 when the message had
// none, or on an error or end of file.
int receive_descriptor(int socket);

}  // namespace meshbot::channel
