#pragma once
// What the attack_<technique> plugins share: their targets, the lines they print and socket calls
// that the host's import audit cannot see. Each plugin is attack_plugin.cpp + attack_net.cpp +
// one techniques/<technique>.cpp, which defines attack::run().
//
// Output (stdout, one flushed line each; the bot logs them as "[attack_x] ..."):
//   attack <target>: reached
//   attack <target>: blocked (<why>)
//   attack home: ok | blocked (<why>)
//   attack: done
// The audit refuses a plugin whose .dynsym imports socket(), connect(), sendto() ... by name, so
// nothing here imports them: they are looked up with dlsym() at run time, which the audit cannot
// see and which is exactly what a determined author would do.

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attack {

// Where a plugin aims, read from its [plugins.attack_<technique>] table; a technique skips the
// targets that are absent.
struct Targets {
    std::optional<int> radio_port;     // the radio's (the simulator's) API port on 127.0.0.1
    std::optional<int> listener_port;  // a TCP listener the test runs
    std::optional<int> udp_port;       // a UDP socket the test has bound on 127.0.0.1
    std::string lan_address;           // the machine's own non-loopback IPv4
    std::string store_path;            // the bot's node store (nodes.db)
    std::string control_socket;        // the bot's control socket
    std::string config_path;           // the bot's config file
    std::string serial_path;           // the radio's serial device
    std::string outside_path;          // a file outside the plugin's folders
    std::string unix_path;             // a unix datagram socket the test bound
    std::optional<int> signal_pid;     // a process (the test's) that counts its SIGUSR2s
    std::optional<int> ipc_key;        // a System V shared memory segment the test made
};

// "attack <target>: reached".
void reached(std::string_view target);
// "attack <target>: blocked (<why>)".
void blocked(std::string_view target, std::string_view why);
// reached() when error is 0, else blocked() with strerror(error).
void report(std::string_view target, int error);
// reached() when a program's wait status is exit 0, else blocked() with how it ended.
void report_exit(std::string_view target, int status);
// Creates and removes a file in $HOME, its private folder, and says "attack home: ok" or
// "attack home: blocked (...)".
void try_home();
// Any other line, flushed at once (the runner may be killed right after it).
void say(std::string_view line);

// A socket address of either family, by value.
struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
};

// A numeric IPv4 or IPv6 address and a port; nullopt when `host` is neither.
std::optional<Address> ip_address(const std::string& host, int port);

// The "radio" and "listener" targets (those whose ports are configured) on `host`.
std::vector<std::pair<std::string, Address>> tcp_targets(const Targets& targets,
                                                         const std::string& host = "127.0.0.1");

// libc's socket calls, found with dlsym(RTLD_NEXT, ...): the next definition after this library,
// which is libc's own, so neither the audit nor any connect() that the runner might interpose
// sees them.
struct SocketCalls {
    int (*socket)(int, int, int);
    int (*connect)(int, const sockaddr*, socklen_t);
    ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t);
};
const SocketCalls& socket_calls();

// socket() + blocking connect() to `address` through socket_calls(), then close: 0 when it
// connected, else the errno of whichever call failed.
int dial(const Address& address);

// The technique, defined once per plugin in techniques/<technique>.cpp. Runs in the plugin's
// create(), on the runner's loop thread; prints one line per target it tries.
void run(const Targets& targets);

}  // namespace attack
