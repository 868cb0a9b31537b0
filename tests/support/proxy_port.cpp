#include "support/proxy_port.hpp"

namespace meshbot::testing {

std::string proxy_table(const std::string& more) {
    return "[proxy]\nlisten = \"127.0.0.1:0\"\n" + more;
}

std::optional<std::uint16_t> proxy_port_from_log(const std::string& line) {
    const std::string marker = "proxy: virtual node listening on 127.0.0.1:";
    const auto at = line.find(marker);
    if (at == std::string::npos) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(line.substr(at + marker.size())));
}

std::uint16_t proxy_port(RunningBot& bot) {
    const auto line =
        bot.process->wait_for_line("proxy: virtual node listening on", std::chrono::seconds(10));
    if (!line) return 0;
    return proxy_port_from_log(*line).value_or(0);
}

}  // namespace meshbot::testing
