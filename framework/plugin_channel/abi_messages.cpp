#include "plugin_channel/abi_messages.hpp"

#include <algorithm>
#include <cstring>

namespace meshbot::channel {

Packet to_message(const mb_packet& p) {
    Packet m;
    m.set_from(p.from);
    m.set_to(p.to);
    m.set_id(p.id);
    m.set_channel(p.channel);
    m.set_portnum(p.portnum);
    m.set_payload(std::string(view(p.payload)));
    m.set_request_id(p.request_id);
    m.set_want_response(p.want_response);
    m.set_pki_encrypted(p.pki_encrypted);
    m.set_is_dm(p.is_dm);
    m.set_replayed(p.replayed);
    m.set_rx_snr(p.rx_snr);
    m.set_rx_rssi(p.rx_rssi);
    m.set_hops_away(p.hops_away);
    m.set_rx_time(p.rx_time);
    m.set_mesh_packet(std::string(view(p.mesh_packet)));
    return m;
}

mb_packet to_abi(const Packet& m) {
    mb_packet p{};
    p.struct_size = sizeof p;
    p.from = m.from();
    p.to = m.to();
    p.id = m.id();
    p.channel = m.channel();
    p.portnum = m.portnum();
    p.payload = bytes(m.payload());
    p.request_id = m.request_id();
    p.want_response = m.want_response();
    p.pki_encrypted = m.pki_encrypted();
    p.is_dm = m.is_dm();
    p.replayed = m.replayed();
    p.rx_snr = m.rx_snr();
    p.rx_rssi = m.rx_rssi();
    p.hops_away = m.hops_away();
    p.rx_time = m.rx_time();
    p.mesh_packet = bytes(m.mesh_packet());
    return p;
}

Node to_message(const mb_node& n) {
    Node m;
    m.set_num(n.num);
    m.set_id(std::string(view(n.id)));
    m.set_long_name(std::string(view(n.long_name)));
    m.set_short_name(std::string(view(n.short_name)));
    m.set_role(n.role);
    m.set_hw_model(n.hw_model);
    m.set_public_key(std::string(view(n.public_key)));
    m.set_last_heard(n.last_heard);
    m.set_snr(n.snr);
    m.set_hops_away(n.hops_away);
    m.set_is_self(n.is_self);
    m.set_has_position(n.has_position);
    m.set_has_device_metrics(n.has_device_metrics);
    m.set_latitude_i(n.latitude_i);
    m.set_longitude_i(n.longitude_i);
    m.set_altitude(n.altitude);
    m.set_battery_level(n.battery_level);
    m.set_voltage(n.voltage);
    m.set_channel_utilization(n.channel_utilization);
    m.set_air_util_tx(n.air_util_tx);
    m.set_uptime_seconds(n.uptime_seconds);
    m.set_rssi(n.rssi);
    m.set_first_heard(n.first_heard);
    m.set_key_state(n.key_state);
    m.set_radio_has_key(n.radio_has_key);
    return m;
}

mb_node to_abi(const Node& m) {
    mb_node n{};
    n.struct_size = sizeof n;
    n.num = m.num();
    n.id = str(m.id());
    n.long_name = str(m.long_name());
    n.short_name = str(m.short_name());
    n.role = m.role();
    n.hw_model = m.hw_model();
    n.public_key = bytes(m.public_key());
    n.last_heard = m.last_heard();
    n.snr = m.snr();
    n.hops_away = m.hops_away();
    n.is_self = m.is_self();
    n.has_position = m.has_position();
    n.has_device_metrics = m.has_device_metrics();
    n.latitude_i = m.latitude_i();
    n.longitude_i = m.longitude_i();
    n.altitude = m.altitude();
    n.battery_level = m.battery_level();
    n.voltage = m.voltage();
    n.channel_utilization = m.channel_utilization();
    n.air_util_tx = m.air_util_tx();
    n.uptime_seconds = m.uptime_seconds();
    n.rssi = m.rssi();
    n.first_heard = m.first_heard();
    n.key_state = m.key_state() >= MB_KEY_UNKNOWN && m.key_state() <= MB_KEY_CHANGED
                      ? static_cast<mb_key_state>(m.key_state())
                      : MB_KEY_INVALID;
    n.radio_has_key = m.radio_has_key();
    return n;
}

Value to_message(const mb_value& v) {
    Value m;
    m.set_type(v.type);
    m.set_boolean(v.boolean);
    m.set_integer(v.integer);
    m.set_number(v.number);
    m.set_string(std::string(view(v.string)));
    if (v.struct_size >= offsetof(mb_value, where) + sizeof(mb_str))
        m.set_where(std::string(view(v.where)));
    return m;
}

mb_value to_abi(const Value& m) {
    mb_value v{};
    v.struct_size = sizeof v;
    v.type = m.type() >= MB_VALUE_NONE && m.type() <= MB_VALUE_TABLE
                 ? static_cast<mb_value_type>(m.type())
                 : MB_VALUE_NONE;
    v.boolean = m.boolean();
    v.integer = m.integer();
    v.number = m.number();
    v.string = str(m.string());
    v.where = str(m.where());
    return v;
}

Status to_message(const mb_status& s) {
    Status m;
    m.set_link_up(s.link_up);
    m.set_started_at(s.started_at);
    m.set_connected_since(s.connected_since);
    m.set_last_rx(s.last_rx);
    m.set_sessions(s.sessions);
    m.set_radio_queue_free(s.radio_queue_free);
    m.set_radio_queue_max(s.radio_queue_max);
    m.set_outbox_pending(s.outbox_pending);
    m.set_frames_in(s.frames_in);
    m.set_frames_out(s.frames_out);
    m.set_key_checks_run(s.key_checks_run);
    m.set_key_checks_skipped(s.key_checks_skipped);
    m.set_keys_pushed(s.keys_pushed);
    m.set_key_pushes_failed(s.key_pushes_failed);
    m.set_key_changes(s.key_changes);
    m.set_nodes_known(s.nodes_known);
    m.set_nodes_on_radio(s.nodes_on_radio);
    m.set_data_dir(std::string(view(s.data_dir)));
    return m;
}

void fill(const Status& m, mb_status& out) {
    mb_status s{};
    s.struct_size = static_cast<std::uint32_t>(std::min<std::size_t>(out.struct_size, sizeof s));
    s.link_up = m.link_up();
    s.started_at = m.started_at();
    s.connected_since = m.connected_since();
    s.last_rx = m.last_rx();
    s.sessions = m.sessions();
    s.radio_queue_free = m.radio_queue_free();
    s.radio_queue_max = m.radio_queue_max();
    s.outbox_pending = m.outbox_pending();
    s.frames_in = m.frames_in();
    s.frames_out = m.frames_out();
    s.key_checks_run = m.key_checks_run();
    s.key_checks_skipped = m.key_checks_skipped();
    s.keys_pushed = m.keys_pushed();
    s.key_pushes_failed = m.key_pushes_failed();
    s.key_changes = m.key_changes();
    s.nodes_known = m.nodes_known();
    s.nodes_on_radio = m.nodes_on_radio();
    s.data_dir = str(m.data_dir());
    std::memcpy(&out, &s, s.struct_size);
}

}  // namespace meshbot::channel
