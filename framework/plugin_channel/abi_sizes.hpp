#pragma once
// The growth rule of docs/abi.md in code, for every side that takes structs from a plugin (the
// host's in-bot table, the runner's proxy table): the sizes each struct had when it appeared,
// zero-filled copies in, and writes out bounded by the caller's struct_size. Pure; any thread.

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "meshbot/abi.h"

namespace meshbot::channel {

// The smallest structs a plugin may hand over: their sizes in the version that introduced
// them, from the last field they had then. They never change when a struct grows.
inline constexpr std::size_t kDataRequestSize_1_0 = offsetof(mb_data_request, timeout_ms) + 4;
inline constexpr std::size_t kCommandSpecSize_1_0 = offsetof(mb_command_spec, privileged) + 1;
inline constexpr std::size_t kValueSize_1_0 = offsetof(mb_value, string) + sizeof(mb_str);
inline constexpr std::size_t kStatusSize_1_1 = offsetof(mb_status, data_dir) + sizeof(mb_str);

// A plugin's struct as this build knows it: the fields an older plugin's struct lacks are zero.
// The caller checked in.struct_size against the struct's first size.
template <typename T>
T copy_in(const T& in) {
    T out{};
    std::memcpy(&out, &in, std::min<std::size_t>(in.struct_size, sizeof out));
    out.struct_size = sizeof out;
    return out;
}

// Fills the plugin's `out` with `full` up to out.struct_size, never beyond: an older plugin's
// struct is smaller than this build's. out.struct_size keeps the plugin's value.
template <typename T>
void write_out(const T& full, T& out) {
    const auto size = std::min<std::size_t>(out.struct_size, sizeof full);
    const auto plugin_size = out.struct_size;
    std::memcpy(&out, &full, size);
    out.struct_size = plugin_size;
}

}  // namespace meshbot::channel
