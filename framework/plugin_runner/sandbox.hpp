#pragma once
// The kernel's part of containing a plugin (docs/plugin-sandbox.md): applied by the runner to
// itself after it closed every descriptor but its channel and before the plugin's library is
// opened, because opening it runs the plugin's constructors.

#include <string>
#include <vector>

namespace meshbot::runner {

// What the host asked for on the runner's command line. Plain data.
struct SandboxPlan {
    bool enabled = true;      // false: `[plugins] sandbox = false`, a diagnosis aid
    bool network = false;     // granted: connect() goes to the host's broker
    bool exec = false;        // granted: execve and new processes are allowed
    std::string plugin_dir;   // read-only: the plugin's own folder
    std::string private_dir;  // read-write: data_dir/plugin-data/<id>/
    unsigned long memory_limit_mb = 0;
};

// What was applied, by the names the host reports (`nnp userns netns ipcns seccomp landlock
// rlimits`), and each layer the kernel did not offer with the reason. Plain data.
struct SandboxReport {
    std::vector<std::string> applied;
    std::vector<std::string> missing;  // "landlock: the kernel has no Landlock (Linux 5.13+)"
};

// Applies every layer the kernel offers; a layer it does not offer is reported, not fatal.
// False (and `error`) when a layer the kernel offers could not be applied: the runner must not
// start the plugin then. With plan.network, the seccomp listener is handed to the host on
// `broker_fd` before this returns and is not kept. Single-threaded callers only (user
// namespaces and seccomp's one-thread filter require it).
bool apply_sandbox(const SandboxPlan& plan, int broker_fd, SandboxReport& report,
                   std::string& error);

// The pieces, one file each.
bool apply_landlock(const SandboxPlan& plan, SandboxReport& report, std::string& error);
bool apply_seccomp(const SandboxPlan& plan, int broker_fd, SandboxReport& report,
                   std::string& error);

}  // namespace meshbot::runner
