#pragma once
// Names for the numbers a node reports about itself: its role (User.role) and its hardware
// model (User.hw_model, the HardwareModel enum of the official mesh.proto). Header-only.

#include <cstdint>
#include <iterator>
#include <string>

namespace remote {

inline std::string role_name(std::uint32_t role) {
    static constexpr const char* names[] = {
        "CLIENT",      "CLIENT_MUTE", "ROUTER",     "ROUTER_CLIENT", "REPEATER",
        "TRACKER",     "SENSOR",      "TAK",        "CLIENT_HIDDEN", "LOST_AND_FOUND",
        "TAK_TRACKER", "ROUTER_LATE", "CLIENT_BASE"};
    if (role < std::size(names)) return names[role];
    return "role " + std::to_string(role);
}

// The models seen most often; the enum grows with every firmware release, so anything else is
// shown by number ("hw 131").
inline std::string hw_model_name(std::uint32_t model) {
    struct Name {
        std::uint32_t value;
        const char* name;
    };
    static constexpr Name names[] = {
        {0, "UNSET"},
        {1, "TLORA_V2"},
        {2, "TLORA_V1"},
        {3, "TLORA_V2_1_1P6"},
        {4, "TBEAM"},
        {5, "HELTEC_V2_0"},
        {6, "TBEAM_V0P7"},
        {7, "T_ECHO"},
        {8, "TLORA_V1_1P3"},
        {9, "RAK4631"},
        {10, "HELTEC_V2_1"},
        {11, "HELTEC_V1"},
        {12, "LILYGO_TBEAM_S3_CORE"},
        {13, "RAK11200"},
        {14, "NANO_G1"},
        {15, "TLORA_V2_1_1P8"},
        {16, "TLORA_T3_S3"},
        {17, "NANO_G1_EXPLORER"},
        {18, "NANO_G2_ULTRA"},
        {25, "STATION_G1"},
        {26, "RAK11310"},
        {29, "CANARYONE"},
        {30, "RP2040_LORA"},
        {31, "STATION_G2"},
        {37, "PORTDUINO"},
        {39, "DIY_V1"},
        {42, "M5STACK"},
        {43, "HELTEC_V3"},
        {44, "HELTEC_WSL_V3"},
        {47, "RPI_PICO"},
        {48, "HELTEC_WIRELESS_TRACKER"},
        {49, "HELTEC_WIRELESS_PAPER"},
        {50, "T_DECK"},
        {51, "T_WATCH_S3"},
        {52, "PICOMPUTER_S3"},
        {53, "HELTEC_HT62"},
        {66, "HELTEC_VISION_MASTER_T190"},
        {67, "HELTEC_VISION_MASTER_E213"},
        {68, "HELTEC_VISION_MASTER_E290"},
        {69, "HELTEC_MESH_NODE_T114"},
        {70, "SENSECAP_INDICATOR"},
        {71, "TRACKER_T1000_E"},
        {72, "RAK3172"},
        {73, "WIO_E5"},
        {84, "WISMESH_TAP"},
        {89, "THINKNODE_M1"},
        {90, "THINKNODE_M2"},
        {94, "HELTEC_MESH_POCKET"},
        {110, "HELTEC_V4"},
        {255, "PRIVATE_HW"},
    };
    for (const Name& n : names) {
        if (n.value == model) return n.name;
    }
    return "hw " + std::to_string(model);
}

}  // namespace remote
