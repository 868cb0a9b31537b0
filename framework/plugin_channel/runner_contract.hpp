#pragma once
// What the host and the meshbot-plugin runner agree on besides the messages: the descriptor
// the channel arrives on, the command line, and what the runner's exit codes mean.

namespace meshbot::channel {

inline constexpr int kChannelFd = 3;  // stdin is /dev/null, stdout and stderr go to the log
// A plugin granted the network: the runner hands its seccomp listener to the host's network
// broker on this descriptor, then closes it, before the plugin's library is opened.
inline constexpr int kBrokerFd = 4;

// meshbot-plugin --library PATH --id ID --host-pid PID [--memory-limit-mb N]
//                [--private-dir DIR] [--grant network|exec]... [--no-sandbox] [--probe]
//   --private-dir: the one folder the plugin may write (data_dir/plugin-data/<id>/).
//   --grant: permissions the manifest asked for and the operator granted.
//   --no-sandbox: [plugins] sandbox = false (the memory limit still applies).
//   --probe: check the library (entry point, ABI, id) and exit without creating the plugin.
inline constexpr const char* kRunnerName = "meshbot-plugin";

inline constexpr int kExitUsage = 64;        // a bad command line: not started by the host
inline constexpr int kExitChannel = 70;      // the channel broke or the host broke the protocol
inline constexpr int kExitOutOfMemory = 71;  // the plugin hit the runner's memory limit

}  // namespace meshbot::channel
