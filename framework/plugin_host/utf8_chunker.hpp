#pragma once
// UTF-8 checks and the splitting of long replies into numbered mesh-sized parts
// (docs/architecture.md, "Commands and replies"). The firmware limits a text by bytes, not
// characters, and a part cut inside a code point shows as garbage on every phone, so all cuts here
// fall between code points.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::plugins {

// Strict UTF-8: no overlong forms, no surrogates (U+D800..DFFF), nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// `text` with each invalid sequence (each maximal ill-formed subpart, as Unicode recommends)
// replaced by U+FFFD, so the result is always valid.
std::string sanitize_utf8(std::string_view text);

// `text` (sanitized) cut to at most `max_bytes` bytes between code points, with "…" appended
// inside the limit when something was cut (and trailing blanks before it dropped). Below 3
// bytes there is no room for "…" and the text is only cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);
// Untrusted text (a plugin's log line, a control request) as one safe log line: at most
// `max_bytes`, cut on a code point, control characters (terminal escapes, line breaks) as '?'.
std::string printable(std::string_view text, std::size_t max_bytes);

// `text` (sanitized) as one part when it fits in `max_bytes`, else as parts "(i/n) body", each
// at most `max_bytes` bytes including that prefix, cut between code points. A cut prefers
// the last newline if it keeps the part at least half full, then the last blank (space, tab,
// newline), else falls between any two code points; the blanks at a cut are dropped.
// Throws std::invalid_argument when max_bytes leaves no room for a character after the
// prefix. Pure; any thread.
std::vector<std::string> split_reply(std::string_view text, std::size_t max_bytes);

}  // namespace meshbot::plugins
