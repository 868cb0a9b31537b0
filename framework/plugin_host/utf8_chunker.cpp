#include "plugin_host/utf8_chunker.hpp"

#include <meshbot/sdk/utf8.hpp>

#include <stdexcept>

namespace meshbot::plugins {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view ellipsis = "\xE2\x80\xA6";     // U+2026 "…"

using utf8::boundary_at_or_before;
using utf8::Step;

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t decimal_digits(std::size_t n) {
    std::size_t digits = 1;
    for (; n >= 10; n /= 10)
        ++digits;
    return digits;
}

[[noreturn]] void throw_too_small(std::size_t max_bytes) {
    throw std::invalid_argument("split_reply: " + std::to_string(max_bytes) +
                                " bytes leave no room for a character after the part number");
}

// The bodies of the parts of `text` (valid UTF-8, longer than max_bytes), assuming the part
// count n has `n_digits` digits: part i then has the prefix "(i/n) " of 4 + digits(i) +
// n_digits bytes.
std::vector<std::string> split_bodies(std::string_view text, std::size_t max_bytes,
                                      std::size_t n_digits) {
    std::vector<std::string> bodies;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t prefix = 4 + decimal_digits(bodies.size() + 1) + n_digits;
        if (prefix >= max_bytes) throw_too_small(max_bytes);
        const std::size_t budget = max_bytes - prefix;
        if (text.size() - pos <= budget) {
            bodies.emplace_back(text.substr(pos));
            break;
        }
        // The window is text[pos, end); a blank at `end` itself is a perfect cut.
        const std::size_t end = pos + budget;
        std::size_t cut = pos;   // the body is text[pos, cut)
        std::size_t next = pos;  // where the next part starts
        std::size_t blank = 0;
        std::size_t newline = 0;
        for (std::size_t k = end; k > pos && blank == 0; --k) {
            if (is_blank(text[k])) blank = k;
        }
        for (std::size_t k = end; k > pos && newline == 0; --k) {
            if (text[k] == '\n') newline = k;
        }
        // A newline ends a thought, but each part costs a packet and >= 2 s of airtime, so
        // only when the part stays at least half full.
        const std::size_t at = newline != 0 && newline - pos >= budget / 2 ? newline : blank;
        if (at != 0) {
            cut = at;
            while (cut > pos && is_blank(text[cut - 1]))
                --cut;
            next = at + 1;
        }
        if (cut == pos) {  // no blank, or only blanks before it
            cut = boundary_at_or_before(text, end);
            if (cut == pos) throw_too_small(max_bytes);  // the next code point does not fit
            next = cut;
        }
        bodies.emplace_back(text.substr(pos, cut - pos));
        pos = next;
        while (pos < text.size() && is_blank(text[pos]))
            ++pos;
    }
    return bodies;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    return utf8::valid(text);
}

std::string sanitize_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const Step step = utf8::next(text, i);
        if (step.valid)
            out.append(text.substr(i, step.length));
        else
            out.append(replacement);
        i += step.length;
    }
    return out;
}

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string out = truncate_utf8(text, max_bytes);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    return out;
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
    std::string clean = sanitize_utf8(text);
    if (clean.size() <= max_bytes) return clean;
    if (max_bytes < ellipsis.size()) {
        clean.resize(boundary_at_or_before(clean, max_bytes));
        return clean;
    }
    std::size_t cut = boundary_at_or_before(clean, max_bytes - ellipsis.size());
    while (cut > 0 && is_blank(clean[cut - 1]))
        --cut;
    clean.resize(cut);
    clean.append(ellipsis);
    return clean;
}

std::vector<std::string> split_reply(std::string_view text, std::size_t max_bytes) {
    const std::string clean = sanitize_utf8(text);
    if (clean.size() <= max_bytes) return {clean};

    // The prefix width depends on n, and n on the prefix width: start at one digit and widen
    // until the count fits the width it was computed with. The width only grows and the count
    // is at most the byte count, so this ends; should a wider assumption ever give a count
    // with fewer digits, the real prefixes are only shorter than budgeted.
    std::size_t n_digits = 1;
    std::vector<std::string> bodies = split_bodies(clean, max_bytes, n_digits);
    while (decimal_digits(bodies.size()) > n_digits) {
        n_digits = decimal_digits(bodies.size());
        bodies = split_bodies(clean, max_bytes, n_digits);
    }

    const std::string n = std::to_string(bodies.size());
    std::vector<std::string> parts;
    parts.reserve(bodies.size());
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        // Appended piece by piece: g++ 12 -O3 warns falsely (-Wrestrict, PR 105329) about
        // a chain of operator+ starting from a literal.
        std::string& part = parts.emplace_back();
        part.reserve(max_bytes);
        part.append("(").append(std::to_string(i + 1)).append("/").append(n).append(") ");
        part.append(bodies[i]);
    }
    return parts;
}

}  // namespace meshbot::plugins
