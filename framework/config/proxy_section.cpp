// The [proxy] section: the virtual node's listener, whom it admits, and what its clients may do.

#include <toml++/toml.h>

#include <algorithm>
#include <string>

#include "config/config_reader.hpp"

namespace meshbot::config {

const std::vector<std::string_view>& radio_changing_admin() {
    // Field names of the AdminMessage oneof (docs/radio-protocol.md §4) that change the radio.
    static const std::vector<std::string_view> names = {
        "set_owner",
        "set_channel",
        "set_config",
        "set_module_config",
        "set_canned_message_module_messages",
        "set_ringtone_message",
        "set_fixed_position",
        "remove_fixed_position",
        "set_time_only",
        "store_ui_config",
        "set_ham_mode",
        "set_scale",
        "remove_by_nodenum",
        "set_favorite_node",
        "remove_favorite_node",
        "set_ignored_node",
        "remove_ignored_node",
        "toggle_muted_node",
        "begin_edit_settings",
        "commit_edit_settings",
        "add_contact",
        "key_verification",
        "send_input_event",
        "delete_file_request",
        "backup_preferences",
        "restore_preferences",
        "remove_backup_preferences",
        "enter_dfu_mode_request",
        "ota_request",
        "sensor_config",
        "reboot_seconds",
        "reboot_ota_seconds",
        "shutdown_seconds",
        "factory_reset_device",
        "factory_reset_config",
        "nodedb_reset",
        "exit_simulator",
    };
    return names;
}

}  // namespace meshbot::config

namespace meshbot::config::detail {

namespace {

std::string admin_names() {
    std::string out;
    for (const auto name : radio_changing_admin())
        out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

}  // namespace

void read_proxy(Section& s, ProxyConfig& p) {
    if (const auto listen = read_listen(s, "4403", "the virtual node")) {
        p.enabled = !listen->address.empty();
        if (p.enabled) {
            p.address = listen->address;
            p.port = listen->port;
            p.loopback = listen->loopback;
        }
    }

    std::vector<AddressRange> ranges;
    const auto range = [&](const toml::node& node, const std::string& key) {
        std::string text;
        if (!check_string(s, node, key, text)) return false;
        auto parsed = AddressRange::parse(text);
        if (!parsed) {
            s.error(node, key,
                    "expected an IP address or a network such as \"192.168.1.0/24\", got " +
                        describe(node));
            return false;
        }
        ranges.push_back(std::move(*parsed));
        return true;
    };
    if (read_array(s, "allow_from", "IP addresses or networks (\"192.168.1.0/24\")", range))
        p.allow_from = std::move(ranges);

    if (const toml::node* node = s.take("allow_admin")) {
        if (const auto* flag = node->as_boolean()) {
            p.allow_all_admin = flag->get();
        } else if (const auto* list = node->as_array()) {
            std::vector<std::string> names;
            for (std::size_t i = 0; i < list->size(); ++i) {
                std::string name;
                const std::string key = "allow_admin[" + std::to_string(i) + "]";
                if (!check_string(s, *list->get(i), key, name)) continue;
                const auto& known = radio_changing_admin();
                if (std::find(known.begin(), known.end(), name) == known.end()) {
                    s.error(
                        *list->get(i), key,
                        "expected one of " + admin_names() + ", got " + describe(*list->get(i)));
                    continue;
                }
                names.push_back(std::move(name));
            }
            p.allow_admin = std::move(names);
        } else {
            s.error(*node, "allow_admin",
                    "expected true, false or a list of admin messages such as [\"set_owner\"], "
                    "got " +
                        describe(*node));
        }
    }
    read_integer(s, "max_clients", p.max_clients, 1, 1000);
    read_integer(s, "client_buffer", p.client_buffer, 16 * 1024, 64 * 1024 * 1024,
                 "bytes of frames a client has not read yet before it is disconnected");
    read_integer(s, "client_queue", p.client_queue, 1, 10000,
                 "packets one client may have waiting for the radio");
}

}  // namespace meshbot::config::detail
