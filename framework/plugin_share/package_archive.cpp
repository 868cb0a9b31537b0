#include "plugin_share/package_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "config/text_file.hpp"
#include "plugin_host/file_digest.hpp"
#include "plugin_share/share_error.hpp"

namespace meshbot::share {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxFiles = 64;
constexpr std::size_t kMaxEntries = 256;  // folder entries too: each costs a header to read
constexpr la_int64_t kMaxFileBytes = 64LL << 20;
constexpr la_int64_t kMaxTotalBytes = 256LL << 20;
constexpr std::string_view kSums = "SHA256SUMS";

using Reader = std::unique_ptr<archive, decltype(&archive_read_free)>;

// A name inside the package: "<top>/<file>" or "<top>/", nothing deeper, nothing odd.
bool split_name(std::string name, std::string& top, std::string& file) {
    if (name.rfind("./", 0) == 0) name.erase(0, 2);
    if (name.empty() || name.front() == '/') return false;
    const auto slash = name.find('/');
    top = name.substr(0, slash);
    file = slash == std::string::npos ? "" : name.substr(slash + 1);
    if (!file.empty() && file.back() == '/') return false;  // a nested folder
    const auto plain = [](const std::string& part) {
        return part != "." && part != ".." && part.find('/') == std::string::npos &&
               part.find('\0') == std::string::npos;
    };
    return !top.empty() && plain(top) && (file.empty() || plain(file));
}

void write_entry(archive* in, const fs::path& target, la_int64_t size) {
    const int fd =
        ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw ShareError("cannot create " + target.string() + ": " + std::strerror(errno));
    la_int64_t written = 0;
    char buffer[65536];
    for (;;) {
        const auto n = archive_read_data(in, buffer, sizeof buffer);
        if (n == 0) break;
        if (n < 0 || (written += n) > size ||
            ::write(fd, buffer, static_cast<std::size_t>(n)) != n) {
            ::close(fd);
            throw ShareError("cannot unpack " + target.filename().string() + ": " +
                             (n < 0 ? archive_error_string(in) : "write failed or size wrong"));
        }
    }
    ::close(fd);
}

}  // namespace

bool looks_like_package(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    unsigned char magic[2] = {};
    return in.read(reinterpret_cast<char*>(magic), 2) && magic[0] == 0x1f && magic[1] == 0x8b;
}

fs::path unpack_package(const fs::path& package, const fs::path& into) {
    Reader in(archive_read_new(), &archive_read_free);
    archive_read_support_filter_gzip(in.get());
    archive_read_support_format_tar(in.get());
    if (archive_read_open_filename(in.get(), package.c_str(), 65536) != ARCHIVE_OK)
        throw ShareError(package.string() + ": not a plugin package (" +
                         archive_error_string(in.get()) + ")");
    std::string top_seen;
    std::set<std::string> files;
    la_int64_t total = 0;
    std::size_t entries = 0;
    archive_entry* entry = nullptr;
    for (;;) {
        const int status = archive_read_next_header(in.get(), &entry);
        if (status == ARCHIVE_EOF) break;
        if (status != ARCHIVE_OK)
            throw ShareError(package.string() + ": damaged package (" +
                             archive_error_string(in.get()) + ")");
        const char* raw = archive_entry_pathname(entry);
        std::string top, file;
        if (!raw || !split_name(raw, top, file))
            throw ShareError(package.string() + ": refused: the entry '" +
                             std::string(raw ? raw : "") +
                             "' is not a file in the plugin's folder");
        if (!top_seen.empty() && top != top_seen)
            throw ShareError(package.string() + ": refused: more than one top folder ('" +
                             top_seen + "', '" + top + "')");
        top_seen = top;
        const auto type = archive_entry_filetype(entry);
        if (++entries > kMaxEntries)
            throw ShareError(package.string() + ": refused: too many entries");
        if (file.empty()) {
            if (type != AE_IFDIR)
                throw ShareError(package.string() + ": refused: '" + top + "' is not a folder");
            continue;
        }
        if (type != AE_IFREG)
            throw ShareError(package.string() + ": refused: '" + top + "/" + file +
                             "' is not a regular file (links and devices are never unpacked)");
        const auto size = archive_entry_size(entry);
        total += size;
        if (files.size() >= kMaxFiles || size > kMaxFileBytes || total > kMaxTotalBytes)
            throw ShareError(package.string() + ": refused: too many or too large files");
        if (!files.insert(file).second)
            throw ShareError(package.string() + ": refused: '" + file + "' appears twice");
        std::error_code ec;
        fs::create_directories(into / top, ec);
        write_entry(in.get(), into / top / file, size);
    }
    if (top_seen.empty() || files.empty())
        throw ShareError(package.string() + ": an empty package");
    return into / top_seen;
}

void verify_checksums(const fs::path& folder, bool required) {
    const auto sums_file = folder / kSums;
    int error = 0;
    const auto sums = config::read_text_file(sums_file, error);
    if (!sums) {
        if (!required && error == ENOENT) return;
        throw ShareError("refused: the package has no checksum list SHA256SUMS (" +
                         std::string(std::strerror(error)) + ")");
    }
    std::map<std::string, std::string> listed;
    std::istringstream lines(*sums);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (line.empty()) continue;
        const auto at_line = "refused: SHA256SUMS:" + std::to_string(number) + ": ";
        if (line.back() == '\r')
            throw ShareError(at_line +
                             "ends in a carriage return (write the list with "
                             "sha256sum on Linux, or convert its line endings)");
        // sha256sum(1): 64 hex digits, a blank, then ' ' (text) or '*' (binary), then the name.
        const bool shaped = line.size() > 66 && line[64] == ' ' &&
                            (line[65] == ' ' || line[65] == '*') &&
                            line.find_first_not_of("0123456789abcdef") >= 64;
        const auto name = shaped ? line.substr(66) : "";
        if (!shaped || name.find('/') != std::string::npos || name == kSums)
            throw ShareError(at_line + "not a \"<sha256>  <file>\" line for a file of the plugin");
        if (!listed.emplace(name, line.substr(0, 64)).second)
            throw ShareError(at_line + name + " is listed twice");
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
        const auto name = entry.path().filename().string();
        if (name != kSums && !listed.count(name))
            throw ShareError("refused: " + name + " is not in the checksum list SHA256SUMS");
    }
    for (const auto& [name, expected] : listed) {
        std::string why;
        const auto actual = plugins::sha256_of_file(folder / name, why);
        if (!actual) throw ShareError("refused: SHA256SUMS lists " + name + ": " + why);
        if (*actual != expected)
            throw ShareError("refused: checksum mismatch for " + name + ": SHA256SUMS says " +
                             expected + ", the file is " + *actual);
    }
}

}  // namespace meshbot::share
