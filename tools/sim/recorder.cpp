#include "recorder.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "meshbot/sdk/utf8.hpp"

namespace meshbot::sim {

namespace {

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
            const std::size_t len = meshbot::utf8::sequence_length(text, i);
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
