#include "support/virtual_node_clients.hpp"

#include <catch2/catch.hpp>

#include "portnums.pb.h"

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

std::unique_ptr<RawRadioClient> configured_client(std::uint16_t port, std::uint32_t nonce) {
    auto client = std::make_unique<RawRadioClient>(port);
    REQUIRE_FALSE(client->handshake(nonce, std::chrono::seconds(10)).empty());
    return client;
}

bool is_text(const pb::FromRadio& message, const std::string& text) {
    return message.has_packet() && message.packet().decoded().portnum() == pb::TEXT_MESSAGE_APP &&
           message.packet().decoded().payload() == text;
}

std::string echo_plugin_only() {
    return "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]";
}

}  // namespace meshbot::testing
