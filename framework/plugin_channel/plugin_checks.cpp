#include "plugin_channel/plugin_checks.hpp"

namespace meshbot::channel {

namespace {

std::string version(unsigned major, unsigned minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

std::optional<InfoRefusal> check_plugin_info(const mb_plugin_info* info,
                                             std::string_view manifest_id,
                                             const std::string& library) {
    using Kind = InfoRefusal::Kind;
    if (info == nullptr || info->struct_size < sizeof(mb_plugin_info) || !info->create ||
        !info->destroy) {
        return InfoRefusal{Kind::version, library + ": entry point returned no usable plugin info"};
    }
    if (info->abi_major != MB_ABI_MAJOR || info->abi_minor > MB_ABI_MINOR) {
        return InfoRefusal{Kind::version, library + ": built for plugin ABI " +
                                              version(info->abi_major, info->abi_minor) +
                                              ", this host speaks " +
                                              version(MB_ABI_MAJOR, MB_ABI_MINOR)};
    }
    if (info->id == nullptr || manifest_id != info->id) {
        return InfoRefusal{Kind::manifest, library + ": the library calls itself '" +
                                               std::string(info->id ? info->id : "") +
                                               "' but the manifest says '" +
                                               std::string(manifest_id) + "'"};
    }
    return std::nullopt;
}

}  // namespace meshbot::channel
