// Frame decode + FromRadio parse throughput on a realistic mix (texts, node infos, telemetry,
// queue statuses, routing acks), fed in TCP-sized reads. Prints frames/s on one core.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "mesh.pb.h"
#include "radio/frame_codec.hpp"
#include "telemetry.pb.h"

using namespace meshbot;

namespace {

std::string text_packet(std::mt19937& rng) {
    pb::FromRadio m;
    auto* p = m.mutable_packet();
    p->set_from(rng());
    p->set_to(0xFFFFFFFF);
    p->set_id(rng());
    p->set_rx_time(1763700000);
    p->set_rx_snr(6.25f);
    p->set_rx_rssi(-92);
    p->set_hop_limit(2);
    p->set_hop_start(3);
    p->mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
    p->mutable_decoded()->set_payload("/echo the quick brown fox jumps over the lazy dog");
    return m.SerializeAsString();
}

std::string node_info(std::mt19937& rng) {
    pb::FromRadio m;
    auto* n = m.mutable_node_info();
    n->set_num(rng());
    n->mutable_user()->set_id("!12345678");
    n->mutable_user()->set_long_name("A node with a long name");
    n->mutable_user()->set_short_name("ND");
    n->mutable_user()->set_hw_model(43);
    n->mutable_user()->set_public_key(std::string(32, '\x5a'));
    n->mutable_position()->set_latitude_i(488566000);
    n->mutable_position()->set_longitude_i(23522000);
    n->set_snr(4.5f);
    n->set_last_heard(1763700000);
    n->mutable_device_metrics()->set_battery_level(87);
    n->mutable_device_metrics()->set_voltage(4.01f);
    n->set_hops_away(1);
    return m.SerializeAsString();
}

std::string telemetry(std::mt19937& rng) {
    pb::Telemetry t;
    t.set_time(1763700000);
    t.mutable_device_metrics()->set_battery_level(90);
    t.mutable_device_metrics()->set_channel_utilization(12.5f);
    t.mutable_device_metrics()->set_air_util_tx(1.5f);
    t.mutable_device_metrics()->set_uptime_seconds(86400);
    pb::FromRadio m;
    m.mutable_packet()->set_from(rng());
    m.mutable_packet()->set_id(rng());
    m.mutable_packet()->mutable_decoded()->set_portnum(pb::TELEMETRY_APP);
    m.mutable_packet()->mutable_decoded()->set_payload(t.SerializeAsString());
    return m.SerializeAsString();
}

std::string queue_status(std::mt19937& rng) {
    pb::FromRadio m;
    m.mutable_queuestatus()->set_free(15);
    m.mutable_queuestatus()->set_maxlen(16);
    m.mutable_queuestatus()->set_mesh_packet_id(rng());
    return m.SerializeAsString();
}

}  // namespace

int main() {
    std::mt19937 rng(1);
    std::vector<std::uint8_t> stream;
    std::size_t frames_in_stream = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string payload;
        switch (i % 5) {
            case 0:
                payload = text_packet(rng);
                break;
            case 1:
                payload = node_info(rng);
                break;
            case 2:
                payload = telemetry(rng);
                break;
            default:
                payload = queue_status(rng);
                break;
        }
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(payload.data());
        radio::encode_frame(std::span(bytes, payload.size()), stream);
        ++frames_in_stream;
    }

    std::size_t parsed = 0;
    std::size_t failed = 0;
    pb::FromRadio message;
    radio::FrameDecoder decoder([&](std::span<const std::uint8_t> p) {
        if (message.ParseFromArray(p.data(), static_cast<int>(p.size()))) {
            ++parsed;
        } else {
            ++failed;
        }
    });

    constexpr std::size_t kRead = 4096;  // what one socket read typically returns
    const int rounds = 500;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t pos = 0; pos < stream.size(); pos += kRead) {
            const std::size_t n = std::min(kRead, stream.size() - pos);
            decoder.feed(std::span(stream.data() + pos, n));
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double total = static_cast<double>(frames_in_stream) * rounds;
    std::printf(
        "frame decode + FromRadio parse: %.0f frames in %.3f s = %.2f M frames/s "
        "(%.1f MB/s, mean frame %zu bytes, %zu parse failures)\n",
        total, secs, total / secs / 1e6, static_cast<double>(stream.size()) * rounds / secs / 1e6,
        stream.size() / frames_in_stream, failed);
    return parsed == static_cast<std::size_t>(total) ? 0 : 1;
}
