#pragma once
// The --record output: one JSON object per line, each with "t" (seconds since start) and "ev".
// Tests parse these lines, so every string goes through json_escape and every line is flushed.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace meshbot::sim {

// JSON string escaping: quotes, backslashes and control characters are escaped; invalid UTF-8
// bytes become U+FFFD so that a line always parses, whatever bytes a client sent.
std::string json_escape(std::string_view text);

// The fields of one record, appended in call order. Plain value object, any thread.
class JsonLine {
public:
    JsonLine& add(std::string_view key, std::string_view value);
    JsonLine& add(std::string_view key, const char* value) {
        return add(key, std::string_view(value));
    }
    JsonLine& add(std::string_view key, const std::string& value) {
        return add(key, std::string_view(value));
    }
    JsonLine& add(std::string_view key, bool value);
    JsonLine& add(std::string_view key, double value);
    template <std::integral T>
    requires(!std::same_as<T, bool>) JsonLine& add(std::string_view key, T value) {
        return raw(key, std::to_string(value));
    }

    const std::string& body() const { return body_; }

private:
    JsonLine& raw(std::string_view key, std::string_view json_value);
    std::string body_;
};

// Owns the record file; a Recorder without a file ignores writes. io_context thread only.
class Recorder {
public:
    Recorder();
    // Truncates and opens `path`; returns false (and sets `error`) when it cannot.
    bool open(const std::filesystem::path& path, std::string& error);
    // Writes {"t":..,"ev":ev, <fields>} and flushes, so a test polling the file sees it at once.
    void write(std::string_view ev, const JsonLine& fields = {});
    // Seconds since the recorder was created (the sim's start).
    double elapsed() const;

private:
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, FileCloser> file_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace meshbot::sim
