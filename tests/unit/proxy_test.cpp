// The virtual node's pure parts: [proxy] config, the admin policy, the handshake it serves, the
// outbox's turns between the bot and clients, and the session's config refresh.
#include <catch2/catch.hpp>

#include <ctime>

#include "admin.pb.h"
#include "app/config_reload.hpp"
#include "config/config_loader.hpp"
#include "portnums.pb.h"
#include "proxy/admin_policy.hpp"
#include "proxy/handshake_replay.hpp"
#include "radio/outbox.hpp"
#include "radio/session.hpp"

using namespace meshbot;
using namespace std::chrono_literals;
using meshbot::config::ConfigError;
using meshbot::config::parse_config;
using Verdict = proxy::PacketVerdict::Kind;

namespace {

config::ProxyConfig proxy_config(const std::string& table) {
    return parse_config("[proxy]\n" + table, "meshbot.toml").config.proxy;
}

std::string error_of(const std::string& table) {
    try {
        (void)parse_config("[proxy]\n" + table, "meshbot.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

pb::MeshPacket admin_packet(std::uint32_t to, const pb::AdminMessage& admin) {
    pb::MeshPacket p;
    p.set_to(to);
    p.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    p.mutable_decoded()->set_payload(admin.SerializeAsString());
    return p;
}

constexpr std::uint32_t kMe = 0x0badc0de;

}  // namespace

TEST_CASE("[proxy] is off by default and takes an IP:port, networks and admin names",
          "[config][proxy]") {
    const auto defaults = proxy_config("");
    CHECK_FALSE(defaults.enabled);
    CHECK(defaults.allow_from.empty());
    CHECK_FALSE(defaults.allow_all_admin);
    CHECK(defaults.allow_admin.empty());

    const auto on = proxy_config(
        "listen = \"0.0.0.0:4403\"\nallow_from = [\"192.168.1.0/24\", \"fd00::1\"]\n"
        "allow_admin = [\"set_owner\", \"set_config\"]\nmax_clients = 4\n");
    CHECK(on.enabled);
    CHECK(on.address == "0.0.0.0");
    CHECK(on.port == 4403);
    CHECK_FALSE(on.loopback);
    REQUIRE(on.allow_from.size() == 2);
    CHECK(on.allow_admin == std::vector<std::string>{"set_owner", "set_config"});
    CHECK(on.max_clients == 4);
    CHECK(proxy_config("allow_admin = true\n").allow_all_admin);

    CHECK_THAT(error_of("listen = \"localhost:4403\"\n"),
               Catch::Contains("meshbot.toml:2:10: proxy.listen: expected \"IP:port\""));
    CHECK_THAT(
        error_of("allow_from = [\"10.0.0.0/33\"]\n"),
        Catch::Contains("meshbot.toml:2:15: proxy.allow_from[0]: expected an IP address or a "
                        "network"));
    CHECK_THAT(
        error_of("allow_admin = [\"set_owner\", \"factory_reset\"]\n"),
        Catch::Contains("meshbot.toml:2:29: proxy.allow_admin[1]: expected one of set_owner"));
    CHECK(error_of("allow_admin = [\"factory_reset_device\"]\n").empty());
    CHECK_THAT(error_of("allow_admin = \"yes\"\n"),
               Catch::Contains("allow_admin: expected true, false or a list"));
    CHECK_THAT(error_of("client_buffer = 100\n"), Catch::Contains("client_buffer"));
}

TEST_CASE("an address range holds the addresses under its prefix", "[config][proxy]") {
    const auto lan = config::AddressRange::parse("192.168.1.0/24");
    REQUIRE(lan);
    const std::uint8_t in[4] = {192, 168, 1, 77};
    const std::uint8_t out[4] = {192, 168, 2, 77};
    CHECK(lan->contains(true, in));
    CHECK_FALSE(lan->contains(true, out));
    const auto odd = config::AddressRange::parse("10.0.0.0/9");
    REQUIRE(odd);
    const std::uint8_t ten_127[4] = {10, 127, 0, 1};
    const std::uint8_t ten_128[4] = {10, 128, 0, 1};
    CHECK(odd->contains(true, ten_127));
    CHECK_FALSE(odd->contains(true, ten_128));
    const auto one = config::AddressRange::parse("fd00::1");
    REQUIRE(one);
    std::uint8_t v6[16] = {0xfd, 0};
    v6[15] = 1;
    CHECK(one->contains(false, v6));
    CHECK_FALSE(one->contains(true, in));
    // An IPv4-mapped range is its IPv4 range (clients are compared in their IPv4 form).
    const auto mapped = config::AddressRange::parse("::ffff:10.0.0.0/104");
    REQUIRE(mapped);
    CHECK(mapped->v4);
    CHECK(mapped->prefix == 8);
    CHECK(mapped->contains(true, ten_127));
    CHECK_FALSE(config::AddressRange::parse("host.lan"));
    CHECK_FALSE(config::AddressRange::parse("10.0.0.1/"));
}

TEST_CASE("a reload applies [proxy]'s policy and limits; its listener needs a restart",
          "[config][proxy][reload]") {
    auto running = parse_config("[proxy]\nlisten = \"127.0.0.1:4403\"\n", "m.toml").config;
    const auto fresh = parse_config(
                           "[proxy]\nlisten = \"127.0.0.1:4404\"\nallow_admin = true\n"
                           "client_queue = 8\n",
                           "m.toml")
                           .config;
    const auto changes = app::compare_configs(running, fresh);
    CHECK(changes.proxy == std::vector<std::string>{"proxy.allow_admin", "proxy.client_queue"});
    CHECK(changes.need_restart == std::vector<std::string>{"proxy.listen"});
    app::apply_reloadable(running, fresh);
    CHECK(running.proxy.allow_all_admin);
    CHECK(running.proxy.client_queue == 8);
    CHECK(running.proxy.port == 4403);
}

TEST_CASE("clients may send anything but admin messages that change a radio", "[proxy]") {
    const config::ProxyConfig closed;
    pb::MeshPacket text;
    text.set_to(0xFFFFFFFF);
    text.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    CHECK(proxy::check_client_packet(text, kMe, closed).kind == Verdict::forward);

    pb::AdminMessage owner;
    owner.mutable_set_owner()->set_long_name("x");
    const auto refused = proxy::check_client_packet(admin_packet(kMe, owner), kMe, closed);
    CHECK(refused.kind == Verdict::refuse);
    CHECK(refused.admin == "set_owner");
    // Another node's radio too (remote admin rides on this radio's keys).
    CHECK(proxy::check_client_packet(admin_packet(0x10000001, owner), kMe, closed).kind ==
          Verdict::refuse);

    pb::AdminMessage get;
    get.set_get_owner_request(true);
    const auto read = proxy::check_client_packet(admin_packet(kMe, get), kMe, closed);
    CHECK(read.kind == Verdict::forward);
    CHECK(read.admin == "get_owner_request");

    // A variant newer than our schema (field 200) cannot be named: refused.
    pb::MeshPacket unknown;
    unknown.set_to(kMe);
    unknown.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    unknown.mutable_decoded()->set_payload(std::string("\xc0\x0c\x01", 3));
    CHECK(proxy::check_client_packet(unknown, kMe, closed).admin == "unknown");
    CHECK(proxy::check_client_packet(unknown, kMe, closed).kind == Verdict::refuse);
    // A read followed by a field our schema does not know: the radio (newer schema, last oneof
    // member wins) could read a change there. Refused.
    pb::MeshPacket smuggled = admin_packet(kMe, get);
    smuggled.mutable_decoded()->mutable_payload()->append("\xf0\x06\x01", 3);  // field 110
    CHECK(proxy::check_client_packet(smuggled, kMe, closed).kind == Verdict::refuse);
    // Bytes we cannot read, to the radio or to a channel (the radio decrypts a broadcast for its
    // own modules too).
    pb::MeshPacket sealed;
    sealed.set_to(kMe);
    sealed.set_encrypted("opaque");
    CHECK(proxy::check_client_packet(sealed, kMe, closed).kind == Verdict::refuse);
    sealed.set_to(0xFFFFFFFF);
    CHECK(proxy::check_client_packet(sealed, kMe, closed).kind == Verdict::refuse);
    // Before the radio's first handshake any destination may be the radio itself.
    CHECK(proxy::check_client_packet(admin_packet(kMe, owner), 0, closed).kind == Verdict::refuse);

    config::ProxyConfig some;
    some.allow_admin = {"set_owner"};
    CHECK(proxy::check_client_packet(admin_packet(kMe, owner), kMe, some).kind ==
          Verdict::forward_refresh);
    CHECK(proxy::check_client_packet(unknown, kMe, some).kind == Verdict::refuse);
    pb::AdminMessage reboot;
    reboot.set_reboot_seconds(5);
    CHECK(proxy::check_client_packet(admin_packet(kMe, reboot), kMe, some).kind == Verdict::refuse);
    CHECK(proxy::check_client_packet(admin_packet(kMe, owner), 0, some).kind ==
          Verdict::forward_refresh);
    // A broadcast reaches the radio's own admin module too: the bot's view needs refreshing.
    CHECK(proxy::check_client_packet(admin_packet(0xFFFFFFFF, owner), kMe, some).kind ==
          Verdict::forward_refresh);
    config::ProxyConfig open;
    open.allow_all_admin = true;
    CHECK(proxy::check_client_packet(unknown, kMe, open).kind == Verdict::forward_refresh);
    CHECK(proxy::check_client_packet(sealed, kMe, open).kind == Verdict::forward_refresh);
    sealed.set_to(0x10000001);
    CHECK(proxy::check_client_packet(sealed, kMe, open).kind == Verdict::forward);
    CHECK(proxy::check_client_packet(admin_packet(0x10000001, owner), kMe, open).kind ==
          Verdict::forward);
}

TEST_CASE("an admin response loses the radio's private key on its way to a client", "[proxy]") {
    pb::AdminMessage response;
    auto& security = *response.mutable_get_config_response()->mutable_security();
    security.set_public_key(std::string(32, 'p'));
    security.set_private_key(std::string(32, 's'));
    auto packet = admin_packet(kMe, response);
    CHECK(proxy::redact_private_key(packet));
    pb::AdminMessage after;
    REQUIRE(after.ParseFromString(packet.decoded().payload()));
    CHECK(after.get_config_response().security().private_key().empty());
    CHECK(after.get_config_response().security().public_key().size() == 32);
    CHECK_FALSE(proxy::redact_private_key(packet));  // nothing left to take
}

TEST_CASE("every AdminMessage variant is either a read or on the radio-changing list", "[proxy]") {
    const auto* oneof = pb::AdminMessage::descriptor()->FindOneofByName("payload_variant");
    REQUIRE(oneof);
    const auto& changing = config::radio_changing_admin();
    for (int i = 0; i < oneof->field_count(); ++i) {
        const std::string name = oneof->field(i)->name();
        const bool listed = std::find(changing.begin(), changing.end(), name) != changing.end();
        INFO(name);
        CHECK(listed != (name.rfind("get_", 0) == 0));
    }
    for (const auto name : changing)
        CHECK(pb::AdminMessage::descriptor()->FindFieldByName(std::string(name)) != nullptr);
}

namespace {

// A radio as a handshake leaves it: own node 0x0badc0de, two others, config frames with a file
// manifest at the end.
radio::RadioInfo radio_with_frames(std::uint32_t epoch) {
    radio::RadioInfo r;
    r.my_node_num = kMe;
    r.handshake_epoch = epoch;
    pb::FromRadio m;
    m.mutable_my_info()->set_my_node_num(kMe);
    r.config_frames.push_back(m);
    pb::FromRadio own;
    own.mutable_node_info()->set_num(kMe);
    own.mutable_node_info()->mutable_user()->set_long_name("Me");
    r.config_frames.push_back(own);
    pb::FromRadio channel;
    channel.mutable_channel()->set_index(0);
    r.config_frames.push_back(channel);
    pb::FromRadio security;
    security.mutable_config()->mutable_security()->set_public_key(std::string(32, 'p'));
    security.mutable_config()->mutable_security()->set_private_key(std::string(32, 's'));
    r.config_frames.push_back(security);
    pb::FromRadio file;
    file.mutable_fileinfo()->set_file_name("/prefs/db.proto");
    r.config_frames.push_back(file);
    for (std::uint32_t num : {0x10000001u, 0x10000002u}) {
        pb::NodeInfo n;
        n.set_num(num);
        n.set_last_heard(epoch - 100);
        n.mutable_user()->set_short_name("N" + std::to_string(num & 0xF));
        r.nodes[num] = n;
    }
    return r;
}

std::vector<pb::FromRadio> decoded(const std::vector<std::string>& frames) {
    std::vector<pb::FromRadio> out;
    for (const auto& f : frames) {
        out.emplace_back();
        REQUIRE(out.back().ParseFromString(f));
    }
    return out;
}

}  // namespace

TEST_CASE("the handshake a client gets is the radio's, with the node list brought up to date",
          "[proxy]") {
    const auto now = static_cast<std::uint32_t>(std::time(nullptr));
    const auto radio = radio_with_frames(now - 60);
    nodes::NodeStore store;
    store.on_handshake(radio);
    // Heard since the radio's handshake: a newer SNR for one node, and a node new to it.
    pb::MeshPacket heard;
    heard.set_from(0x10000002);
    heard.set_rx_time(now);
    heard.set_rx_snr(7.5f);
    heard.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    store.on_packet(heard);
    heard.set_from(0x10000009);
    store.on_packet(heard);

    const auto full = decoded(proxy::handshake_frames(radio, store, 555, false));
    REQUIRE(full.size() == 5 + 3 + 1);
    CHECK(full[0].has_my_info());
    CHECK(full[1].node_info().num() == kMe);
    CHECK(full[2].has_channel());
    // The radio's private key stays with it; its public key is shown.
    CHECK(full[3].config().security().private_key().empty());
    CHECK(full[3].config().security().public_key().size() == 32);
    // The other nodes come before the file manifest, then config_complete_id = the nonce.
    CHECK(full[4].node_info().num() == 0x10000001u);
    CHECK(full[5].node_info().num() == 0x10000002u);
    CHECK(full[5].node_info().snr() == Approx(7.5f));
    CHECK(full[5].node_info().last_heard() == now);
    CHECK(full[5].node_info().user().short_name() == "N2");  // the radio's User kept
    CHECK(full[6].node_info().num() == 0x10000009u);
    CHECK(full[6].node_info().user().id() == "!10000009");
    CHECK(full[7].has_fileinfo());
    CHECK(full[8].config_complete_id() == 555);
    const auto admin = decoded(proxy::handshake_frames(radio, store, 555, true));
    CHECK(admin[3].config().security().private_key().size() == 32);

    const auto config_only =
        decoded(proxy::handshake_frames(radio, store, radio::kNonceOnlyConfig, false));
    CHECK(config_only.size() == 6);
    CHECK(config_only.back().config_complete_id() == radio::kNonceOnlyConfig);
    const auto nodes_only =
        decoded(proxy::handshake_frames(radio, store, radio::kNonceOnlyNodes, false));
    REQUIRE(nodes_only.size() == 5);
    CHECK(nodes_only[0].node_info().num() == kMe);
    CHECK(std::all_of(nodes_only.begin(), nodes_only.end() - 1,
                      [](const pb::FromRadio& f) { return f.has_node_info(); }));
}

TEST_CASE("the session keeps the handshake's messages and refreshes them while staying ready",
          "[proxy][session]") {
    using Kind = radio::SessionEvent::Kind;
    radio::Session session;
    const auto t = radio::Clock::now();
    const auto feed = [&](const pb::FromRadio& m) { return session.on_from_radio(m, t); };
    pb::FromRadio info;
    info.mutable_my_info()->set_my_node_num(kMe);
    pb::FromRadio own;
    own.mutable_node_info()->set_num(kMe);
    own.mutable_node_info()->mutable_user()->set_long_name("Before");
    pb::FromRadio other;
    other.mutable_node_info()->set_num(0x10000001);
    pb::FromRadio done;
    done.set_config_complete_id(11);
    session.begin_handshake(11, t, 1'800'000'000);
    for (const auto& m : {info, own, other})
        feed(m);
    REQUIRE(feed(done).kind == Kind::ready);
    CHECK(session.radio().config_frames.size() == 2);  // my_info and the own node, not others
    CHECK(session.radio().handshake_epoch == 1'800'000'000u);

    session.begin_refresh(12);
    CHECK(session.ready());
    own.mutable_node_info()->mutable_user()->set_long_name("After");
    CHECK(feed(info).kind == Kind::none);  // not a restart: we asked
    feed(own);
    pb::FromRadio live;
    live.mutable_packet()->set_from(0x10000001);
    live.mutable_packet()->set_id(5);
    live.mutable_packet()->set_rx_time(1'800'000'100);
    const auto event = feed(live);
    CHECK(event.kind == Kind::packet);
    CHECK_FALSE(event.replayed);  // live traffic stays live during a refresh
    CHECK(session.radio().own_user.long_name() == "Before");
    done.set_config_complete_id(12);
    CHECK(feed(done).kind == Kind::refreshed);
    CHECK(session.radio().own_user.long_name() == "After");
    CHECK(session.radio().config_frames.size() == 2);
    CHECK(session.radio().handshake_epoch == 1'800'000'000u);

    // Two answers overlapping (a refresh asked while the radio still answered another): each
    // my_info starts over, so the frames are one handshake's, not two.
    session.begin_refresh(13);
    for (int i = 0; i < 2; ++i)
        for (const auto& m : {info, own})
            feed(m);
    done.set_config_complete_id(13);
    CHECK(feed(done).kind == Kind::refreshed);
    CHECK(session.radio().config_frames.size() == 2);
    // A refresh the radio never answers is given up; the last config stands. Its answer may
    // still come, late: that passes, without a restart of the handshake.
    session.begin_refresh(14);
    session.cancel_refresh();
    CHECK_FALSE(session.refreshing());
    CHECK(feed(info).kind == Kind::none);
    CHECK(session.radio().config_frames.size() == 2);
    done.set_config_complete_id(14);
    CHECK(feed(done).kind == Kind::stale_complete);
    CHECK(session.ready());
    // That answer over, my_info out of the blue is again a reason to start over.
    CHECK(feed(info).kind == Kind::restart_handshake);
}

TEST_CASE("the outbox alternates the bot and the clients, the clients in turns, each in order",
          "[proxy][outbox]") {
    radio::OutboxOptions options;
    options.text_gap = 0s;  // turns, not pacing, are under test
    radio::Outbox outbox(options, 7);
    auto t = radio::Clock::now();
    radio::Clock::time_point wake;
    const auto enqueue = [&](const std::string& body, std::uint64_t source) {
        pb::MeshPacket p;
        p.set_to(0xFFFFFFFF);
        p.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
        p.mutable_decoded()->set_payload(body);
        radio::SendCallback none;
        const auto id = outbox.enqueue(std::move(p), none, t);
        if (source != 0) outbox.assign_source(id, source);
        return id;
    };
    const auto next = [&] {
        auto p = outbox.take_next(t, 3, wake);
        REQUIRE(p);
        pb::QueueStatus status;
        status.set_free(10);
        status.set_mesh_packet_id(p->id());
        outbox.on_queue_status(status, t);
        return p->decoded().payload();
    };
    // Client 1 queued three texts before the bot's two replies and client 2's one.
    enqueue("c1-a", 1);
    enqueue("c1-b", 1);
    enqueue("c1-c", 1);
    enqueue("bot-a", 0);
    enqueue("bot-b", 0);
    enqueue("c2-a", 2);
    std::vector<std::string> order;
    for (int i = 0; i < 6; ++i)
        order.push_back(next());
    CHECK(order == std::vector<std::string>{"c1-a", "bot-a", "c2-a", "bot-b", "c1-b", "c1-c"});

    // The one served longest ago goes first; a client that shows up late waits behind those
    // already waiting (client 1, served last, and the newcomer tie: queue order decides).
    enqueue("c1-d", 1);
    enqueue("c3-a", 3);
    enqueue("bot-c", 0);
    std::vector<std::string> later;
    for (int i = 0; i < 3; ++i)
        later.push_back(next());
    CHECK(later == std::vector<std::string>{"bot-c", "c1-d", "c3-a"});

    // However many clients (or connections gone since) have texts waiting, the bot's replies
    // go every other turn.
    for (std::uint64_t c = 10; c < 15; ++c)
        enqueue("c" + std::to_string(c), c);
    enqueue("bot-d", 0);
    enqueue("bot-e", 0);
    std::vector<std::string> many;
    for (int i = 0; i < 7; ++i)
        many.push_back(next());
    CHECK(many == std::vector<std::string>{"bot-d", "c10", "bot-e", "c11", "c12", "c13", "c14"});
}
