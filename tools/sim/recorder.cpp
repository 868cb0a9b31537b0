#include "recorder.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

namespace meshbot::sim {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not valid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) {
        len = 2;
        cp = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
        len = 3;
        cp = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
        len = 4;
        cp = lead & 0x07u;
    } else {
        return 0;
    }
    if (i + len > text.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

std::string format_double(double value) {
    // JSON has no NaN or infinity.
    if (!std::isfinite(value)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", value);
    return buf;
}

}  // namespace

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const std::size_t len = utf8_sequence_length(text, i);
            if (len == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(text.substr(i, len));
                i += len;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
        ++i;
    }
    return out;
}

JsonLine& JsonLine::raw(std::string_view key, std::string_view json_value) {
    body_ += ",\"";
    body_ += json_escape(key);
    body_ += "\":";
    body_ += json_value;
    return *this;
}

JsonLine& JsonLine::add(std::string_view key, std::string_view value) {
    return raw(key, "\"" + json_escape(value) + "\"");
}

JsonLine& JsonLine::add(std::string_view key, bool value) {
    return raw(key, value ? "true" : "false");
}

JsonLine& JsonLine::add(std::string_view key, double value) {
    return raw(key, format_double(value));
}

Recorder::Recorder() : start_(std::chrono::steady_clock::now()) {}

bool Recorder::open(const std::filesystem::path& path, std::string& error) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        error = std::strerror(errno);
        return false;
    }
    file_.reset(f);
    return true;
}

void Recorder::write(std::string_view ev, const JsonLine& fields) {
    if (!file_) return;
    char t[32];
    std::snprintf(t, sizeof t, "%.4f", elapsed());
    std::string line = "{\"t\":";
    line += t;
    line += ",\"ev\":\"";
    line += json_escape(ev);
    line += '"';
    line += fields.body();
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), file_.get());
    std::fflush(file_.get());
}

double Recorder::elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace meshbot::sim
