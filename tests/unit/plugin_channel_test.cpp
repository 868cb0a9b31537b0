// The host <-> runner channel: framing (split reads, several messages in one read, a length past
// the limit) and the ABI structs as messages and back.
#include <catch2/catch.hpp>

#include <cstring>

#include "plugin_channel/abi_messages.hpp"
#include "plugin_channel/channel_frames.hpp"
#include "plugin_channel/plugin_checks.hpp"
#include "plugin_host/line_budget.hpp"

using meshbot::channel::FrameReader;
namespace channel = meshbot::channel;

namespace {

channel::RunnerMessage log_message(const std::string& text) {
    channel::RunnerMessage m;
    m.mutable_call()->mutable_log()->set_level(MB_LOG_INFO);
    m.mutable_call()->mutable_log()->set_text(text);
    return m;
}

std::string text_of(std::string_view bytes) {
    channel::RunnerMessage m;
    REQUIRE(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    return m.call().log().text();
}

}  // namespace

TEST_CASE("channel frames survive any split of the byte stream", "[unit][channel]") {
    const std::string stream = channel::frame(log_message("first")) +
                               channel::frame(log_message(std::string(70000, 'x'))) +
                               channel::frame(log_message(""));
    for (const std::size_t chunk :
         {std::size_t{1}, std::size_t{3}, std::size_t{4096}, stream.size()}) {
        INFO("chunk " << chunk);
        FrameReader reader;
        std::vector<std::string> texts;
        std::string error;
        for (std::size_t at = 0; at < stream.size(); at += chunk) {
            reader.feed(stream.data() + at, std::min(chunk, stream.size() - at));
            while (auto bytes = reader.next(error))
                texts.push_back(text_of(*bytes));
            REQUIRE(error.empty());
        }
        REQUIRE(texts.size() == 3);
        CHECK(texts[0] == "first");
        CHECK(texts[1].size() == 70000);
        CHECK(texts[2].empty());
    }
}

TEST_CASE("a frame announcing more than the limit is an error, not an allocation",
          "[unit][channel]") {
    FrameReader reader;
    // A radio frame's magic read as a length: 0x94 0xc3 0x00 0x1e -> about 500 MB.
    const char bytes[] = {'\x94', '\xc3', '\x00', '\x1e', 'a', 'b'};
    reader.feed(bytes, sizeof bytes);
    std::string error;
    CHECK_FALSE(reader.next(error));
    CHECK_THAT(error, Catch::StartsWith("a message of 503366548 bytes (the limit is"));
}

TEST_CASE("ABI structs cross the channel unchanged", "[unit][channel]") {
    const std::string payload = "hello";
    const std::string mesh = "\x0a\x01z";
    mb_packet p{};
    p.struct_size = sizeof p;
    p.from = 1;
    p.to = MB_BROADCAST;
    p.id = 77;
    p.channel = 2;
    p.portnum = 1;
    p.payload = channel::bytes(payload);
    p.request_id = 9;
    p.want_response = 1;
    p.pki_encrypted = 1;
    p.is_dm = 1;
    p.replayed = 1;
    p.rx_snr = -3.5f;
    p.rx_rssi = -90;
    p.hops_away = 2;
    p.rx_time = 1700000000;
    p.mesh_packet = channel::bytes(mesh);
    const auto pm = channel::to_message(p);
    const mb_packet back = channel::to_abi(pm);
    CHECK(back.from == 1);
    CHECK(back.to == MB_BROADCAST);
    CHECK(back.id == 77);
    CHECK(back.channel == 2);
    CHECK(channel::view(back.payload) == "hello");
    CHECK(back.request_id == 9);
    CHECK((back.want_response && back.pki_encrypted && back.is_dm && back.replayed));
    CHECK(back.rx_snr == -3.5f);
    CHECK(back.rx_rssi == -90);
    CHECK(back.hops_away == 2);
    CHECK(back.rx_time == 1700000000u);
    CHECK(channel::view(back.mesh_packet) == mesh);

    const std::string id = "!0badc0de", name = "Alice", short_name = "ALC", key(32, '\x07');
    mb_node n{};
    n.struct_size = sizeof n;
    n.num = 0x0badc0de;
    n.id = channel::str(id);
    n.long_name = channel::str(name);
    n.short_name = channel::str(short_name);
    n.public_key = channel::bytes(key);
    n.latitude_i = 488566000;
    n.battery_level = 101;
    n.key_state = MB_KEY_CHANGED;
    n.radio_has_key = 1;
    n.first_heard = 5;
    const auto nm = channel::to_message(n);
    const mb_node nb = channel::to_abi(nm);
    CHECK(nb.num == 0x0badc0de);
    CHECK(channel::view(nb.id) == id);
    CHECK(channel::view(nb.long_name) == name);
    CHECK(channel::view(nb.short_name) == short_name);
    CHECK(channel::view(nb.public_key) == key);
    CHECK(nb.latitude_i == 488566000);
    CHECK(nb.battery_level == 101u);
    CHECK(nb.key_state == MB_KEY_CHANGED);
    CHECK(nb.radio_has_key == 1);
    CHECK(nb.first_heard == 5u);

    channel::Node hostile_node;
    hostile_node.set_key_state(99);  // a value no version of the ABI has
    CHECK(channel::to_abi(hostile_node).key_state == MB_KEY_INVALID);
}

TEST_CASE("a status is written only as far as the caller's struct reaches", "[unit][channel]") {
    channel::Status s;
    s.set_link_up(true);
    s.set_sessions(4);
    s.set_nodes_on_radio(12);
    s.set_data_dir("/var/lib/meshbot");
    // A caller whose struct ends before nodes_on_radio: the bytes past it stay untouched.
    struct {
        mb_status status;
        unsigned char guard[8];
    } out;
    std::memset(&out, 0xAB, sizeof out);
    out.status.struct_size = static_cast<std::uint32_t>(offsetof(mb_status, nodes_on_radio));
    channel::fill(s, out.status);
    CHECK(out.status.link_up == 1);
    CHECK(out.status.sessions == 4u);
    CHECK(out.status.nodes_on_radio == 0xABABABABu);
    CHECK(out.guard[0] == 0xAB);
}

TEST_CASE("a library's entry point is checked for its info, ABI and id", "[unit][channel]") {
    mb_plugin_info info{};
    info.struct_size = sizeof info;
    info.abi_major = MB_ABI_MAJOR;
    info.abi_minor = MB_ABI_MINOR;
    info.id = "echo";
    info.create = [](const mb_host_api*, mb_host*, char*, std::size_t) -> mb_plugin* {
        return nullptr;
    };
    info.destroy = [](mb_plugin*) {};
    CHECK_FALSE(channel::check_plugin_info(&info, "echo", "echo.so"));

    auto refusal = channel::check_plugin_info(&info, "ohce", "echo.so");
    REQUIRE(refusal);
    CHECK(refusal->kind == channel::InfoRefusal::Kind::manifest);
    CHECK(refusal->reason ==
          "echo.so: the library calls itself 'echo' but the manifest says 'ohce'");

    info.abi_minor = MB_ABI_MINOR + 1;
    refusal = channel::check_plugin_info(&info, "echo", "echo.so");
    REQUIRE(refusal);
    CHECK(refusal->kind == channel::InfoRefusal::Kind::version);

    refusal = channel::check_plugin_info(nullptr, "echo", "echo.so");
    REQUIRE(refusal);
    CHECK(refusal->reason == "echo.so: entry point returned no usable plugin info");
}

TEST_CASE("a plugin's log lines are capped per second and the dropped ones counted once",
          "[unit][channel]") {
    meshbot::plugins::LineBudget budget;
    const auto t0 = std::chrono::steady_clock::now();
    unsigned dropped = 99;
    for (unsigned i = 0; i < meshbot::plugins::LineBudget::kLinesPerSecond; ++i)
        REQUIRE(budget.take(t0, dropped));
    CHECK(dropped == 0);
    CHECK_FALSE(budget.take(t0 + std::chrono::milliseconds(10), dropped));
    CHECK_FALSE(budget.take(t0 + std::chrono::milliseconds(990), dropped));
    CHECK(budget.take(t0 + std::chrono::milliseconds(1000), dropped));
    CHECK(dropped == 2);
    CHECK(budget.take(t0 + std::chrono::milliseconds(1001), dropped));
    CHECK(dropped == 0);
}
