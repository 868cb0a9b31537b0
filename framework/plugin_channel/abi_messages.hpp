#pragma once
// The ABI's structs (abi.h) as channel messages and back. The host turns what it would hand an
// in-process plugin into a message; the runner turns the message back into the very struct,
// pointing into the message, so a plugin sees the same thing in both modes.

#include <string_view>

#include "meshbot/abi.h"
#include "plugin_channel.pb.h"

namespace meshbot::channel {

inline std::string_view view(mb_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}
inline std::string_view view(mb_bytes b) {
    return b.data ? std::string_view(reinterpret_cast<const char*>(b.data), b.size)
                  : std::string_view();
}
inline mb_str str(const std::string& s) {
    return mb_str{s.data(), s.size()};
}
inline mb_bytes bytes(const std::string& s) {
    return mb_bytes{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Packet to_message(const mb_packet& packet);
mb_packet to_abi(const Packet& packet);  // points into `packet`

Node to_message(const mb_node& node);
mb_node to_abi(const Node& node);  // points into `node`

Value to_message(const mb_value& value);
mb_value to_abi(const Value& value);  // `string` points into `value`

Status to_message(const mb_status& status);
// Fills `out` up to out->struct_size (a plugin built against an older ABI has a shorter one);
// data_dir points into `status`.
void fill(const Status& status, mb_status& out);

}  // namespace meshbot::channel
