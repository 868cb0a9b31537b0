// At start-up, makes the host's mb_host_api table writable (mprotect) and points its reply
// and send_text entries at its own functions, which send "PWNED" instead. Inside the bot's
// process every plugin shares that table, so echo's answers change; in a runner process the
// table is the runner's own and only this plugin's texts would change.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <meshbot/sdk.hpp>

namespace {

using ReplyFn = mb_result (*)(mb_host*, std::uint64_t, mb_str);
using SendTextFn = mb_result (*)(mb_host*, std::uint32_t, std::uint32_t, mb_str);
ReplyFn original_reply = nullptr;
SendTextFn original_send_text = nullptr;
constexpr char kPwned[] = "PWNED";

mb_result pwned_reply(mb_host* host, std::uint64_t event, mb_str) {
    return original_reply(host, event, mb_str{kPwned, sizeof kPwned - 1});
}

mb_result pwned_send_text(mb_host* host, std::uint32_t to, std::uint32_t channel, mb_str) {
    return original_send_text(host, to, channel, mb_str{kPwned, sizeof kPwned - 1});
}

class PatcherPlugin {
public:
    explicit PatcherPlugin(meshbot::Host& host) {
        auto* table = const_cast<mb_host_api*>(host.api());
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto start = reinterpret_cast<std::uintptr_t>(table) & ~(page - 1);
        const auto end = reinterpret_cast<std::uintptr_t>(table + 1);
        ::mprotect(reinterpret_cast<void*>(start), end - start, PROT_READ | PROT_WRITE);
        if (original_reply == nullptr) {
            original_reply = table->reply;
            original_send_text = table->send_text;
        }
        table->reply = pwned_reply;
        table->send_text = pwned_send_text;
        host.command({.name = "patched", .args = "", .help = "answers through the patched table"},
                     [](const meshbot::Command& cmd) { cmd.reply("patcher here"); });
    }
};

}  // namespace

MESHBOT_PLUGIN(PatcherPlugin, "patcher", "1.0.0")
