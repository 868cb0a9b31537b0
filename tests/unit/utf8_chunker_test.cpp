#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_host/utf8_chunker.hpp"

using meshbot::plugins::is_valid_utf8;
using meshbot::plugins::sanitize_utf8;
using meshbot::plugins::split_reply;
using meshbot::plugins::truncate_utf8;

namespace {

const std::string e_acute = "\xC3\xA9";          // é, 2 bytes
const std::string euro = "\xE2\x82\xAC";         // €, 3 bytes
const std::string antenna = "\xF0\x9F\x93\xA1";  // 📡, 4 bytes
const std::string fffd = "\xEF\xBF\xBD";         // U+FFFD
const std::string ellipsis = "\xE2\x80\xA6";     // …

std::string repeat(const std::string& s, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i)
        out += s;
    return out;
}

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string without_blanks(const std::string& s) {
    std::string out;
    for (const char c : s)
        if (!is_blank(c)) out += c;
    return out;
}

// Checks every rule of a split of `text` and returns the bodies (parts without "(i/n) ").
std::vector<std::string> checked_bodies(const std::string& text, std::size_t max_bytes) {
    const auto parts = split_reply(text, max_bytes);
    const std::string clean = sanitize_utf8(text);
    REQUIRE_FALSE(parts.empty());
    if (clean.size() <= max_bytes) {
        REQUIRE(parts.size() == 1);
        CHECK(parts[0] == clean);
        return parts;
    }
    REQUIRE(parts.size() >= 2);
    std::vector<std::string> bodies;
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        // Not "(" + ...: g++ 12 -O3 warns falsely about that chain (-Wrestrict, PR 105329).
        const std::string prefix =
            std::string("(") + std::to_string(i + 1) + "/" + std::to_string(parts.size()) + ") ";
        INFO("part " << i + 1 << " of " << parts.size() << ": [" << parts[i] << "]");
        CHECK(parts[i].size() <= max_bytes);
        CHECK(is_valid_utf8(parts[i]));
        REQUIRE(parts[i].compare(0, prefix.size(), prefix) == 0);
        const std::string body = parts[i].substr(prefix.size());
        CHECK_FALSE(body.empty());
        // Blanks at a cut are dropped (the text's own leading and trailing ones stay).
        if (i > 0) CHECK_FALSE(is_blank(body.front()));
        if (i + 1 < parts.size()) CHECK_FALSE(is_blank(body.back()));
        bodies.push_back(body);
        joined += body;
    }
    CHECK(without_blanks(joined) == without_blanks(clean));
    return bodies;
}

}  // namespace

TEST_CASE("is_valid_utf8 accepts well-formed text only", "[utf8]") {
    for (const std::string& good : {std::string(), std::string("plain ascii"), e_acute, euro,
                                    antenna, "caf" + e_acute + " " + euro + antenna,
                                    std::string("\xF4\x8F\xBF\xBF"),  // U+10FFFF
                                    std::string("\xED\x9F\xBF")}) {   // U+D7FF
        INFO(good);
        CHECK(is_valid_utf8(good));
    }
    for (const std::string& bad : {
             std::string("\xC3"),              // cut short
             std::string("\x80"),              // stray continuation
             std::string("\xC0\xAF"),          // overlong '/'
             std::string("\xE0\x80\xAF"),      // overlong
             std::string("\xED\xA0\x80"),      // surrogate U+D800
             std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
             std::string("\xF5\x80\x80\x80"),
             std::string("\xFF"),
             std::string("\xF0\x9F\x93"),  // 📡 without its last byte
             std::string("ok\xE2\x82"),
         }) {
        CHECK_FALSE(is_valid_utf8(bad));
    }
}

TEST_CASE("sanitize_utf8 replaces each maximal ill-formed subpart with U+FFFD", "[utf8]") {
    CHECK(sanitize_utf8("caf" + e_acute) == "caf" + e_acute);
    CHECK(sanitize_utf8("a\xFF"
                        "b") == "a" + fffd + "b");
    CHECK(sanitize_utf8("\xF0\x9F\x93"
                        "x") == fffd + "x");          // one subpart, one U+FFFD
    CHECK(sanitize_utf8("\xC0\xAF") == fffd + fffd);  // C0 is never a lead byte
    CHECK(sanitize_utf8("\xED\xA0\x80") == fffd + fffd + fffd);
    CHECK(sanitize_utf8("\xE2\x82") == fffd);
    CHECK(is_valid_utf8(sanitize_utf8("\x80\x81\xC3\xC3\xA9\xF8")));
}

TEST_CASE("truncate_utf8 cuts between code points and marks the cut", "[utf8]") {
    CHECK(truncate_utf8("hello", 5) == "hello");
    CHECK(truncate_utf8("hello world", 8) == "hello" + ellipsis);
    CHECK(truncate_utf8("hello world", 9) == "hello" + ellipsis);      // the blank is dropped
    CHECK(truncate_utf8("h" + e_acute + "llo", 5) == "h" + ellipsis);  // not inside é
    CHECK(truncate_utf8(repeat(antenna, 3), 10) == antenna + ellipsis);
    CHECK(truncate_utf8(repeat(antenna, 3), 6) == ellipsis);
    CHECK(truncate_utf8(euro + euro, 2).empty());  // no room for "…" nor for €
    CHECK(truncate_utf8("abc", 2) == "ab");
    CHECK(truncate_utf8("abc", 0).empty());
    CHECK(truncate_utf8("ab\xFF", 3) == ellipsis);
    CHECK(truncate_utf8("ab\xFF", 6) == "ab" + fffd);  // sanitized first, then it fits
    CHECK(truncate_utf8("ab\xFF", 5) == "ab" + fffd);
    CHECK(truncate_utf8("ab\xFF", 4) == "a" + ellipsis);
    for (std::size_t limit = 0; limit < 20; ++limit) {
        const auto cut = truncate_utf8(repeat(e_acute + euro + antenna + " x", 5), limit);
        CHECK(cut.size() <= limit);
        CHECK(is_valid_utf8(cut));
    }
}

TEST_CASE("A reply that fits is one part, unchanged and unnumbered", "[utf8]") {
    CHECK(split_reply("pong", 200) == std::vector<std::string>{"pong"});
    CHECK(split_reply("", 200) == std::vector<std::string>{""});
    const std::string exact = repeat(euro, 66) + "ab";  // 200 bytes
    CHECK(split_reply(exact, 200) == std::vector<std::string>{exact});
    CHECK(split_reply("a\xFF", 200) == std::vector<std::string>{"a" + fffd});
}

TEST_CASE("ASCII splits after blanks, dropping them", "[utf8]") {
    CHECK(split_reply("one two three four five six", 16) ==
          std::vector<std::string>{"(1/3) one two", "(2/3) three four", "(3/3) five six"});
    CHECK(split_reply("one   two three", 12) ==
          std::vector<std::string>{"(1/3) one", "(2/3) two", "(3/3) three"});
}

TEST_CASE("A newline is preferred when it keeps the part at least half full", "[utf8]") {
    // Budget 20 - 6 = 14 bytes: the newline at 9 wins over the later blank.
    CHECK(split_reply("aaaa bbbb\ncc dd ee ff", 20) ==
          std::vector<std::string>{"(1/2) aaaa bbbb", "(2/2) cc dd ee ff"});
    // A newline near the start would waste most of a packet: the last blank wins.
    CHECK(split_reply("ab\ncc dd ee ff gg hh ii", 20) ==
          std::vector<std::string>{"(1/2) ab\ncc dd ee ff", "(2/2) gg hh ii"});
    // CRLF: the CR goes with the newline.
    CHECK(split_reply("aaaa bbbb\r\ncc dd ee ff", 20) ==
          std::vector<std::string>{"(1/2) aaaa bbbb", "(2/2) cc dd ee ff"});
}

TEST_CASE("Without blanks the cut falls anywhere between code points", "[utf8]") {
    CHECK(split_reply("abcdefghijklmnopqrstuvwxyz", 16) ==
          std::vector<std::string>{"(1/3) abcdefghij", "(2/3) klmnopqrst", "(3/3) uvwxyz"});
    // Budget 13 - 6 = 7 bytes: two € (6 bytes) per part, never a third one cut in half.
    CHECK(split_reply(repeat(euro, 5), 13) == std::vector<std::string>{"(1/3) " + euro + euro,
                                                                       "(2/3) " + euro + euro,
                                                                       "(3/3) " + euro});
    CHECK(split_reply(repeat(antenna, 4), 13) ==
          std::vector<std::string>{"(1/4) " + antenna, "(2/4) " + antenna, "(3/4) " + antenna,
                                   "(4/4) " + antenna});
    for (const auto& c : {e_acute, euro, antenna}) {
        INFO(c.size() << "-byte characters");
        checked_bodies(repeat(c, 100), 50);
        checked_bodies(repeat("x" + c, 70), 37);
    }
    // An emoji ZWJ sequence may be split between its code points; each part stays valid.
    const std::string family =
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D"
        "\xF0\x9F\x91\xA7";
    checked_bodies(repeat(family, 20), 30);
}

TEST_CASE("A 1000-byte multi-byte reply splits into valid numbered parts", "[utf8]") {
    std::string text;
    for (int i = 0; text.size() < 1000; ++i)
        text += "caf" + e_acute + " " + euro + std::to_string(i) + antenna + (i % 7 ? " " : "\n");
    const auto bodies = checked_bodies(text, 200);
    CHECK(bodies.size() == split_reply(text, 200).size());
    CHECK(bodies.size() >= 6);
}

TEST_CASE("The part count's width is accounted for in every prefix", "[utf8]") {
    // 9 parts would need a one-digit count, 10+ a two-digit one: the prefix widens and the
    // parts still fit, and hard-cut ASCII parts use every byte.
    for (const std::size_t length : {500, 539, 540, 541, 600, 2000, 60'000}) {
        INFO("length " << length);
        const std::string text(length, 'x');
        const auto parts = split_reply(text, 60);
        checked_bodies(text, 60);
        for (std::size_t i = 0; i + 1 < parts.size(); ++i)
            CHECK(parts[i].size() == 60);
    }
    // One digit would give 12 parts of 54 bytes; two digits: 9 x 53 + 2 x 52 + the rest.
    const auto parts = split_reply(std::string(600, 'x'), 60);
    REQUIRE(parts.size() == 12);
    CHECK(parts[0] == "(1/12) " + std::string(53, 'x'));
    CHECK(parts[9] == "(10/12) " + std::string(52, 'x'));
    CHECK(parts[11] == "(12/12) " + std::string(600 - 9 * 53 - 2 * 52, 'x'));
}

TEST_CASE("A limit too small for any text after the number throws", "[utf8]") {
    CHECK_THROWS_AS(split_reply("hello world", 6), std::invalid_argument);
    CHECK_THROWS_AS(split_reply(repeat(antenna, 3), 9), std::invalid_argument);
    // 4 bytes fit after "(i/n) " only while n has one digit.
    CHECK(split_reply(repeat(antenna, 9), 10).size() == 9);
    CHECK_THROWS_AS(split_reply(repeat(antenna, 10), 10), std::invalid_argument);
}

TEST_CASE("Invalid UTF-8 in a long reply becomes U+FFFD in valid parts", "[utf8]") {
    const std::string text = repeat("abc\xFF\xC3 def\xE2\x82 ", 40);
    const auto bodies = checked_bodies(text, 50);
    std::string joined;
    for (const auto& b : bodies)
        joined += b;
    CHECK(joined.find(fffd) != std::string::npos);
}

TEST_CASE("Randomized replies keep every rule (fixed seed)", "[utf8]") {
    const std::vector<std::string> tokens = {"a",
                                             "word",
                                             "mesh",
                                             " ",
                                             " ",
                                             "\n",
                                             "\t",
                                             e_acute,
                                             euro,
                                             antenna,
                                             "  ",
                                             "\r\n",
                                             "\xFF",
                                             "\x80",
                                             "\xF0\x9F",
                                             "\xC3",
                                             "longerwordwithoutanyblanks"};
    std::mt19937 rng(0x6d657368);  // fixed: the same cases on every run and machine
    for (int round = 0; round < 400; ++round) {
        std::string text;
        const std::size_t target = rng() % 1500;
        while (text.size() < target)
            text += tokens[rng() % tokens.size()];
        const std::size_t limit = 50 + rng() % 151;  // 50..200
        INFO("round " << round << ", " << text.size() << " bytes, limit " << limit);
        checked_bodies(text, limit);
    }
}
