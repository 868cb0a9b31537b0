#pragma once
// /nodes: which nodes count as heard directly, their one-line form, and how the lines are cut
// into pages that each fit one radio text. Pure functions, header-only so unit tests can use
// them.

#include <meshbot/sdk/values.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text.hpp"

namespace remote {

// Nodes heard directly (hops_away == 0) within `window` seconds of `now` (epoch), not the bot's
// own node, best SNR first (ties: most recently heard, then by number, so pages are stable).
inline std::vector<meshbot::NodeInfo> direct_nodes(std::vector<meshbot::NodeInfo> all,
                                                   std::uint32_t now, std::uint32_t window) {
    std::erase_if(all, [&](const meshbot::NodeInfo& n) {
        if (n.is_self || n.hops_away != 0 || n.last_heard == 0) return true;
        // A clock a little ahead of ours still counts as "just now".
        return n.last_heard < now && now - n.last_heard > window;
    });
    std::sort(all.begin(), all.end(), [](const meshbot::NodeInfo& a, const meshbot::NodeInfo& b) {
        if (a.snr != b.snr) return a.snr > b.snr;
        if (a.last_heard != b.last_heard) return a.last_heard > b.last_heard;
        return a.num < b.num;
    });
    return all;
}

// The name a line shows: the short name (or last four hex digits of the id), or the long name
// when asked for and known; cleaned and cut to `max_bytes` at a code point boundary.
inline std::string line_name(const meshbot::NodeInfo& n, bool long_names, std::size_t max_bytes) {
    const std::string name =
        clean_text(long_names && !n.long_name.empty() ? n.long_name : n.display_name());
    return std::string(utf8_prefix(name, max_bytes));
}

// "ALC 0a01 9.25dB 45s": name, last four hex digits of the id, SNR, time since last heard.
inline std::string node_line(const meshbot::NodeInfo& n, std::uint32_t now, bool long_names,
                             std::size_t name_bytes) {
    const std::string id = meshbot::node_id(n.num);
    const std::int64_t age = static_cast<std::int64_t>(now) - n.last_heard;
    return line_name(n, long_names, name_bytes) + " " + id.substr(id.size() - 4) + " " +
           format_db(n.snr) + "dB " + format_age(age);
}

// "12 direct <3d p1/3": the header each page starts with.
inline std::string page_header(std::size_t count, std::string_view window, std::size_t page,
                               std::size_t pages) {
    return std::to_string(count) + " direct <" + std::string(window) + " p" + std::to_string(page) +
           "/" + std::to_string(pages);
}

// Cuts `lines` into pages: header, then one line per node, joined by '\n', each page at most
// `page_bytes` bytes. The header is sized for the widest page marker possible, so every page
// fits whatever the final count; a line too long for an otherwise empty page is cut at a code
// point boundary. Returns the finished page texts (at least one, for no lines: the header).
inline std::vector<std::string> paginate(const std::vector<std::string>& lines,
                                         std::string_view window, std::size_t page_bytes) {
    const std::size_t count = lines.size();
    const std::size_t most_pages = std::max<std::size_t>(count, 1);
    const std::size_t header_max = page_header(count, window, most_pages, most_pages).size();
    std::vector<std::vector<std::string>> pages(1);
    std::size_t used = header_max;
    for (const std::string& raw : lines) {
        const std::size_t room = page_bytes > header_max + 1 ? page_bytes - header_max - 1 : 0;
        const std::string line(utf8_prefix(raw, room));
        if (!pages.back().empty() && used + 1 + line.size() > page_bytes) {
            pages.emplace_back();
            used = header_max;
        }
        pages.back().push_back(line);
        used += 1 + line.size();
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < pages.size(); ++i) {
        std::string text = page_header(count, window, i + 1, pages.size());
        for (const std::string& line : pages[i])
            text += "\n" + line;
        out.push_back(std::move(text));
    }
    return out;
}

}  // namespace remote
