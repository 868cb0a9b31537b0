// meshbot-plugin: runs one plugin in a process of its own, started by the meshbot host, so
// that the plugin's crash, hang or mischief costs this process and never the bot or its radio
// link. Nothing of the plugin runs before the set-up below: its static constructors run at
// dlopen, which comes last.
#include <dlfcn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "plugin_channel/plugin_checks.hpp"
#include "plugin_channel/runner_contract.hpp"
#include "plugin_runner/host_channel.hpp"
#include "plugin_runner/name_lookup.hpp"
#include "plugin_runner/plugin_runner.hpp"
#include "plugin_runner/sandbox.hpp"

namespace {

namespace channel = meshbot::channel;

struct Options {
    std::string library;
    std::string id;
    long host_pid = 0;
    bool probe = false;
    meshbot::runner::SandboxPlan sandbox;
};

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--probe") {
            o.probe = true;
        } else if (arg == "--library" && has_value) {
            o.library = argv[++i];
        } else if (arg == "--id" && has_value) {
            o.id = argv[++i];
        } else if (arg == "--host-pid" && has_value) {
            o.host_pid = std::strtol(argv[++i], nullptr, 10);
        } else if (arg == "--memory-limit-mb" && has_value) {
            o.sandbox.memory_limit_mb = std::strtoul(argv[++i], nullptr, 10);
        } else if (arg == "--private-dir" && has_value) {
            o.sandbox.private_dir = argv[++i];
        } else if (arg == "--grant" && has_value) {
            const std::string_view what = argv[++i];
            if (what == "network") {
                o.sandbox.network = true;
            } else if (what == "exec") {
                o.sandbox.exec = true;
            } else {
                return false;
            }
        } else if (arg == "--no-sandbox") {
            o.sandbox.enabled = false;
        } else {
            return false;
        }
    }
    const auto slash = o.library.rfind('/');
    o.sandbox.plugin_dir = slash == std::string::npos ? "." : o.library.substr(0, slash);
    return !o.library.empty() && !o.id.empty() && o.host_pid > 0;
}

unsigned long g_memory_limit_mb = 0;

// operator new's last resort: a plugin that exhausts the memory limit ends the runner with an
// exit code the host reads as "memory limit", instead of unwinding through plugin code.
void out_of_memory() {
    char message[96];
    const int n = std::snprintf(message, sizeof message, "out of memory (limit %lu MiB)\n",
                                g_memory_limit_mb);
    if (n > 0) [[maybe_unused]]
        auto ignored = ::write(2, message, static_cast<std::size_t>(n));
    std::_Exit(channel::kExitOutOfMemory);
}

// Everything that must hold before plugin code runs. False: the runner cannot be trusted to
// keep its promises, so it does not start the plugin.
bool contain(const Options& o) {
    struct stat st {};
    if (::fstat(channel::kChannelFd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        std::fprintf(stderr, "descriptor %d is not the channel to the host\n", channel::kChannelFd);
        return false;
    }
    // The channel (and, for a plugin granted the network, the broker's descriptor) and stdio
    // are all a plugin may hold; the host passes nothing else, and this closes whatever
    // slipped through.
    const int keep =
        o.sandbox.network && o.sandbox.enabled ? channel::kBrokerFd : channel::kChannelFd;
    if (::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0) != 0) {
        for (int fd = keep + 1; fd < 1024; ++fd)
            ::close(fd);
    }
    // The runner dies with the host (and a host that died before this line is noticed here).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != o.host_pid) return false;
    std::signal(SIGPIPE, SIG_IGN);  // a host gone is noticed as a failed write
    g_memory_limit_mb = o.sandbox.memory_limit_mb;
    std::set_new_handler(out_of_memory);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the host logs the plugin's output by line
    return true;
}

// Applies the sandbox and tells the host which layers are in force.
bool sandbox(const Options& o, meshbot::runner::HostChannel& host) {
    meshbot::runner::SandboxReport report;
    std::string error;
    const bool network = o.sandbox.network && o.sandbox.enabled;
    const bool applied =
        meshbot::runner::apply_sandbox(o.sandbox, network ? channel::kBrokerFd : -1, report, error);
    // With the network granted the descriptor stays, for name lookups (name_lookup.hpp).
    if (network && applied) meshbot::runner::look_up_names_through(channel::kBrokerFd);
    channel::RunnerMessage m;
    auto& sandboxed = *m.mutable_sandboxed();
    for (auto& layer : report.applied)
        sandboxed.add_applied(layer);
    for (auto& gap : report.missing)
        sandboxed.add_missing(gap);
    sandboxed.set_off(!o.sandbox.enabled);
    if (!host.send(m)) return false;
    if (applied) return true;
    channel::RunnerMessage failed;
    failed.mutable_start_failed()->set_kind(channel::StartFailed::SANDBOX);
    failed.mutable_start_failed()->set_reason(error);
    host.send(failed);
    return false;
}

int fail(meshbot::runner::HostChannel& host, channel::StartFailed::Kind kind, std::string reason) {
    channel::RunnerMessage m;
    m.mutable_start_failed()->set_kind(kind);
    m.mutable_start_failed()->set_reason(std::move(reason));
    host.send(m);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse(argc, argv, options)) {
        std::fprintf(stderr,
                     "usage: %s --library PATH --id ID --host-pid PID [--memory-limit-mb N] "
                     "[--private-dir DIR] [--grant network|exec]... [--no-sandbox] [--probe]\n"
                     "meshbot starts this program for each plugin; it is not for use "
                     "by hand.\n",
                     channel::kRunnerName);
        return channel::kExitUsage;
    }
    if (!contain(options)) return channel::kExitChannel;
    meshbot::runner::HostChannel host(channel::kChannelFd);
    if (!sandbox(options, host)) return 0;

    void* library = ::dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        return fail(host, channel::StartFailed::LOAD,
                    options.library + ": cannot load: " + (why ? why : "unknown error"));
    }
    auto* entry = reinterpret_cast<mb_plugin_entry_fn>(::dlsym(library, MB_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) {
        return fail(host, channel::StartFailed::LOAD,
                    options.library + ": no entry point " MB_PLUGIN_ENTRY_SYMBOL);
    }
    const mb_plugin_info* info = entry();
    if (auto refusal = channel::check_plugin_info(info, options.id, options.library)) {
        using Kind = channel::InfoRefusal::Kind;
        const auto kind = refusal->kind == Kind::load      ? channel::StartFailed::LOAD
                          : refusal->kind == Kind::version ? channel::StartFailed::VERSION
                                                           : channel::StartFailed::MANIFEST;
        return fail(host, kind, std::move(refusal->reason));
    }
    channel::RunnerMessage started;
    started.mutable_started()->set_version(info->version ? info->version : "");
    started.mutable_started()->set_abi_major(info->abi_major);
    started.mutable_started()->set_abi_minor(info->abi_minor);
    if (options.probe) {
        host.send(started);
        return 0;
    }

    meshbot::runner::PluginRunner runner(host);
    char error[512] = {0};
    mb_plugin* instance = nullptr;
    try {
        instance = info->create(runner.api(), runner.handle(), error, sizeof error);
    } catch (...) {
        std::snprintf(error, sizeof error, "exception thrown across the plugin boundary");
    }
    if (instance == nullptr) {
        runner.release_all();
        return fail(host, channel::StartFailed::INIT, error[0] ? error : "no reason given");
    }
    if (!host.send(started)) return channel::kExitChannel;
    const int code = runner.run(*info, instance);
    std::fflush(nullptr);
    // Not exit(): a plugin thread may still run, and static destructors would race it.
    std::_Exit(code);
}
