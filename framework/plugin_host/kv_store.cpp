#include "plugin_host/kv_store.hpp"

#include <cstdint>
#include <fstream>
#include <iterator>

#include "config/text_file.hpp"

namespace meshbot::plugins {

namespace {

// File layout: "MBKV1\n", then records of [u32 key size][key][u32 value size][value], little
// endian. Simple enough to inspect with xxd, and no parser to get wrong.
constexpr std::string_view kMagic = "MBKV1\n";

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

bool get_u32(std::string_view& in, std::uint32_t& v) {
    if (in.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
        v |= std::uint32_t{static_cast<unsigned char>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(4);
    return true;
}

bool get_chunk(std::string_view& in, std::string& out) {
    std::uint32_t size = 0;
    if (!get_u32(in, size) || in.size() < size) return false;
    out.assign(in.substr(0, size));
    in.remove_prefix(size);
    return true;
}

}  // namespace

KvStore::KvStore(std::filesystem::path file, std::string& problem, std::size_t max_bytes)
    : file_(std::move(file)), max_bytes_(max_bytes) {
    std::ifstream in(file_, std::ios::binary);
    if (!in) return;  // a new store
    const std::string content((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    std::string_view rest(content);
    bool ok = rest.starts_with(kMagic);
    if (ok) rest.remove_prefix(kMagic.size());
    while (ok && !rest.empty()) {
        std::string key, value;
        ok = get_chunk(rest, key) && get_chunk(rest, value);
        if (ok) {
            bytes_ += key.size() + value.size();
            values_.insert_or_assign(std::move(key), std::move(value));
        }
    }
    if (!ok) {
        values_.clear();
        bytes_ = 0;
        const auto aside = file_.string() + ".corrupt";
        std::error_code ec;
        std::filesystem::rename(file_, aside, ec);
        problem = "store " + file_.string() + " is unreadable; moved aside to " + aside;
    }
}

std::optional<std::string_view> KvStore::get(std::string_view key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
}

KvStore::Result KvStore::set(std::string_view key, std::string_view value) {
    auto it = values_.find(key);
    const std::size_t old = it == values_.end() ? 0 : key.size() + it->second.size();
    if (bytes_ - old + key.size() + value.size() > max_bytes_) return Result::full;
    auto previous = it == values_.end() ? std::optional<std::string>() : std::optional(it->second);
    values_.insert_or_assign(std::string(key), std::string(value));
    bytes_ = bytes_ - old + key.size() + value.size();
    if (save()) return Result::ok;
    // Keep memory and disk in agreement.
    if (previous) {
        values_.insert_or_assign(std::string(key), std::move(*previous));
    } else {
        values_.erase(std::string(key));
    }
    bytes_ = bytes_ + old - key.size() - value.size();
    return Result::io_error;
}

KvStore::Result KvStore::erase(std::string_view key) {
    auto it = values_.find(key);
    if (it == values_.end()) return Result::ok;
    std::string previous = std::move(it->second);
    values_.erase(it);
    if (save()) {
        bytes_ -= key.size() + previous.size();
        return Result::ok;
    }
    values_.insert_or_assign(std::string(key), std::move(previous));
    return Result::io_error;
}

bool KvStore::save() const {
    if (file_.empty()) return true;
    std::string content(kMagic);
    for (const auto& [key, value] : values_) {
        put_u32(content, static_cast<std::uint32_t>(key.size()));
        content += key;
        put_u32(content, static_cast<std::uint32_t>(value.size()));
        content += value;
    }
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    return config::write_file_durably(file_, content);
}

}  // namespace meshbot::plugins
