#pragma once
// UTF-8 as the mesh carries it: one decoder (Unicode's table 3-7: no overlongs, no surrogates,
// nothing past U+10FFFF) for the bot, its simulator and plugins. Pure, header-only; any thread.

#include <cstddef>
#include <string_view>

namespace meshbot::utf8 {

// The code point starting at text[i]. An ill-formed sequence reports its maximal subpart (the
// lead byte plus the continuation bytes that were still acceptable), which a sanitiser turns
// into one U+FFFD.
struct Step {
    std::size_t length;  // bytes of the code point, or of the ill-formed subpart
    bool valid;
};

inline Step next(std::string_view text, std::size_t i) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) return {1, true};
    std::size_t continuation = 0;
    unsigned char lo = 0x80;  // the range of the first continuation byte, narrowed for
    unsigned char hi = 0xBF;  // leads that would otherwise allow overlongs or surrogates
    if (lead >= 0xC2 && lead <= 0xDF) {
        continuation = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        continuation = 2;
        if (lead == 0xE0) lo = 0xA0;  // overlong
        if (lead == 0xED) hi = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        continuation = 3;
        if (lead == 0xF0) lo = 0x90;  // overlong
        if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return {1, false};  // a stray continuation byte, C0, C1 or F5..FF
    }
    for (std::size_t n = 1; n <= continuation; ++n) {
        if (i + n >= text.size()) return {n, false};
        const auto byte = static_cast<unsigned char>(text[i + n]);
        if (byte < lo || byte > hi) return {n, false};
        lo = 0x80;
        hi = 0xBF;
    }
    return {continuation + 1, true};
}

// Length of the well-formed sequence starting at text[i], else 0.
inline std::size_t sequence_length(std::string_view text, std::size_t i) {
    const Step step = next(text, i);
    return step.valid ? step.length : 0;
}

inline bool valid(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const Step step = next(text, i);
        if (!step.valid) return false;
        i += step.length;
    }
    return true;
}

// The code point of the well-formed sequence of `length` bytes at text[i].
inline char32_t decode(std::string_view text, std::size_t i, std::size_t length) {
    const auto lead = static_cast<unsigned char>(text[i]);
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k)
        c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    return c;
}

inline bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// The largest code point boundary <= pos in valid UTF-8.
inline std::size_t boundary_at_or_before(std::string_view text, std::size_t pos) {
    if (pos >= text.size()) return text.size();
    while (pos > 0 && is_continuation(text[pos]))
        --pos;
    return pos;
}

// The longest prefix of valid UTF-8 `text` that fits `max_bytes` without splitting a code point.
inline std::string_view prefix(std::string_view text, std::size_t max_bytes) {
    return text.substr(0, boundary_at_or_before(text, max_bytes));
}

// Code points in valid UTF-8 (a column count close enough for names with accents or emoji).
inline std::size_t count_code_points(std::string_view text) {
    std::size_t count = 0;
    for (const char c : text)
        count += is_continuation(c) ? 0 : 1;
    return count;
}

}  // namespace meshbot::utf8
