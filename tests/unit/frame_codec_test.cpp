#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "mesh.pb.h"
#include "radio/frame_codec.hpp"

using meshbot::radio::encode_frame;
using meshbot::radio::FrameDecoder;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Collector {
    std::vector<Bytes> frames;
    std::vector<std::string> text;
    FrameDecoder decoder{
        [this](std::span<const std::uint8_t> p) { frames.emplace_back(p.begin(), p.end()); },
        [this](std::string_view t) { text.emplace_back(t); }};
    void feed(const Bytes& b) { decoder.feed(b); }
};

Bytes frame_of(const std::string& payload) {
    return encode_frame(payload);
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::string from_radio_text(std::uint32_t id) {
    meshbot::pb::FromRadio fr;
    auto* pkt = fr.mutable_packet();
    pkt->set_from(0x1234);
    pkt->set_id(id);
    pkt->mutable_decoded()->set_portnum(meshbot::pb::TEXT_MESSAGE_APP);
    pkt->mutable_decoded()->set_payload("hello " + std::to_string(id));
    return fr.SerializeAsString();
}

}  // namespace

TEST_CASE("a frame is the magic, a big-endian length and the payload") {
    const Bytes f = frame_of(std::string(300, 'x'));
    REQUIRE(f.size() == 304);
    CHECK(f[0] == 0x94);
    CHECK(f[1] == 0xC3);
    CHECK(f[2] == 0x01);
    CHECK(f[3] == 0x2C);
}

TEST_CASE("a payload over 512 bytes is not encoded") {
    Bytes out;
    Bytes big(513, 1);
    CHECK_FALSE(encode_frame(big, out));
    CHECK(out.empty());
    Bytes max(512, 1);
    CHECK(encode_frame(max, out));
}

TEST_CASE("any split of the stream decodes the same frames") {
    std::vector<std::string> payloads;
    Bytes stream;
    for (std::uint32_t i = 1; i <= 20; ++i) {
        payloads.push_back(from_radio_text(i));
        const Bytes f = frame_of(payloads.back());
        stream.insert(stream.end(), f.begin(), f.end());
    }
    std::mt19937 rng(7);
    for (std::size_t max_chunk :
         {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{17}, std::size_t{4096}}) {
        Collector c;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            std::size_t n = std::min<std::size_t>(1 + rng() % max_chunk, stream.size() - pos);
            c.decoder.feed(std::span(stream.data() + pos, n));
            pos += n;
        }
        REQUIRE(c.frames.size() == payloads.size());
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            CHECK(std::string(c.frames[i].begin(), c.frames[i].end()) == payloads[i]);
        }
    }
}

TEST_CASE("garbage between frames is skipped and reported as text") {
    Collector c;
    const Bytes garbage = {'b', 'o', 'o', 't', '\n', 0x00, 0xC3, 0xFF};
    c.feed(concat({garbage, frame_of("one"), Bytes{'x', 'y'}, frame_of("two")}));
    REQUIRE(c.frames.size() == 2);
    CHECK(c.frames[1] == Bytes{'t', 'w', 'o'});
    REQUIRE_FALSE(c.text.empty());
    CHECK(c.text.front() == "boot");
    CHECK(c.decoder.stats().skipped_bytes == garbage.size() + 2);
}

TEST_CASE("a second 0x94 starts a new header") {
    Collector c;
    c.feed(concat({Bytes{0x94}, frame_of("kept")}));
    REQUIRE(c.frames.size() == 1);
    CHECK(c.frames[0] == Bytes{'k', 'e', 'p', 't'});
}

TEST_CASE("an oversize length is rejected and the decoder resynchronises") {
    Collector c;
    c.feed(concat({Bytes{0x94, 0xC3, 0x02, 0x01}, Bytes(20, 0x55), frame_of("after")}));
    REQUIRE(c.frames.size() == 1);
    CHECK(c.frames[0] == Bytes{'a', 'f', 't', 'e', 'r'});
    CHECK(c.decoder.stats().oversize == 1);
}

TEST_CASE("a zero-length frame is accepted") {
    Collector c;
    c.feed(concat({Bytes{0x94, 0xC3, 0x00, 0x00}, frame_of("next")}));
    REQUIRE(c.frames.size() == 2);
    CHECK(c.frames[0].empty());
    meshbot::pb::FromRadio empty;
    CHECK(empty.ParseFromArray(c.frames[0].data(), 0));
}

TEST_CASE("a truncated frame is completed by later bytes and then the stream recovers") {
    Collector c;
    // Announces 10 bytes but the sender stopped after 3; the next frame's bytes fill the gap.
    c.feed(concat({Bytes{0x94, 0xC3, 0x00, 0x0A, 1, 2, 3}, frame_of("lost"), frame_of("found")}));
    REQUIRE_FALSE(c.frames.empty());
    CHECK(c.frames.back() == Bytes{'f', 'o', 'u', 'n', 'd'});
    c.decoder.reset();
    c.feed(frame_of("fresh"));
    CHECK(c.frames.back() == Bytes{'f', 'r', 'e', 's', 'h'});
}
