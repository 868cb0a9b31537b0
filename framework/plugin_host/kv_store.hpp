#pragma once
// A plugin's persistent key-value store: one small file per plugin, rewritten atomically.

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace meshbot::plugins {

// Owns the in-memory copy of one plugin's store and its file; io_context thread only.
// Every change is written through (temp file, fsync, rename), so a crash leaves either the
// old or the new store, never a torn one. Plugin stores are small (bounded by max_bytes).
class KvStore {
public:
    static constexpr std::size_t kDefaultMaxBytes = 1 << 20;

    KvStore() = default;  // not persisted (no data dir)
    // Loads `file` if it exists. A file that cannot be read is moved aside (".corrupt") and
    // reported through `problem`, and the store starts empty.
    KvStore(std::filesystem::path file, std::string& problem,
            std::size_t max_bytes = kDefaultMaxBytes);

    std::optional<std::string_view> get(std::string_view key) const;
    enum class Result { ok, full, io_error };
    Result set(std::string_view key, std::string_view value);
    Result erase(std::string_view key);
    std::size_t size() const { return values_.size(); }

private:
    bool save() const;

    std::filesystem::path file_;
    std::size_t max_bytes_ = kDefaultMaxBytes;
    std::size_t bytes_ = 0;
    std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace meshbot::plugins
