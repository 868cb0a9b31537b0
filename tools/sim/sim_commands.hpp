#pragma once
// The simulator's command language (stdin and --script files): parsing into typed commands,
// and turning the injection commands into the MeshPackets the "mesh" delivers.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "firmware_model.hpp"
#include "mesh.pb.h"

namespace meshbot::sim {

struct TextCmd {
    std::uint32_t from = 0;
    std::uint32_t to = kBroadcast;
    std::uint32_t channel = 0;
    bool pki = false;
    std::optional<std::string> key;  // raw 32 bytes forced into MeshPacket.public_key
    std::optional<std::uint32_t> id;
    std::optional<std::uint32_t> hops;
    std::optional<std::uint32_t> rx_time;
    std::optional<std::uint32_t> reply_id;  // decoded.reply_id: a reply or reaction to that id
    std::string text;
};
struct NodeInfoCmd {
    std::uint32_t from = 0;
    std::optional<std::string> long_name;
    std::optional<std::string> short_name;
    std::optional<std::string> key;  // raw 32 bytes
};
struct TelemetryCmd {
    std::uint32_t from = 0;
    std::optional<std::uint32_t> battery;
    std::optional<float> voltage;
    std::optional<std::uint32_t> uptime;
    std::optional<float> chutil;
    std::optional<float> airutil;
};
struct EncryptedCmd {
    std::uint32_t from = 0;
    std::uint32_t to = kBroadcast;
};
struct NotifyCmd {
    std::string text;
};
struct DropCmd {};
struct RebootCmd {
    double secs = 1.0;
    std::vector<std::uint32_t> lose;  // NodeDB entries lost during the reboot
};
struct ForgetCmd {
    std::uint32_t from = 0;
};
struct ForgetKeyCmd {
    std::uint32_t from = 0;
};
struct BeaconCmd {
    std::uint32_t from = 0;
    double every = 0;  // 0 stops the beacon
};
struct SilenceCmd {
    std::uint32_t from = 0;
};
struct ReturnCmd {
    std::uint32_t from = 0;
};
struct NodeRebootCmd {
    std::uint32_t from = 0;
};
struct GarbageCmd {
    std::size_t count = 0;
};
struct OversizeCmd {};
struct TruncatedCmd {};
struct UndecodableCmd {};
struct FloodCmd {
    std::size_t count = 0;
    std::optional<std::uint32_t> from;
};
struct RebootedFrameCmd {};
struct QuitCmd {};
struct WaitCmd {
    double secs = 0;
};

using Command = std::variant<TextCmd, NodeInfoCmd, TelemetryCmd, EncryptedCmd, NotifyCmd, DropCmd,
                             RebootCmd, GarbageCmd, OversizeCmd, TruncatedCmd, UndecodableCmd,
                             FloodCmd, RebootedFrameCmd, QuitCmd, WaitCmd, ForgetCmd, ForgetKeyCmd,
                             BeaconCmd, SilenceCmd, ReturnCmd, NodeRebootCmd>;

// Blank lines and `#` comments give neither a command nor an error.
struct ParseResult {
    std::optional<Command> command;
    std::string error;
};

ParseResult parse_command(std::string_view line);

// The packet a text/nodeinfo/telemetry/encrypted command injects; the NodeDB learns from it
// when the server hands it to FirmwareModel::on_air. nodeinfo key=/telemetry values also set
// the remote radio's own state. Other commands give nullopt.
std::optional<pb::MeshPacket> build_injection(const Command& command, FirmwareModel& model);

// Text for `--help`: the command reference.
std::string_view command_help();

}  // namespace meshbot::sim
