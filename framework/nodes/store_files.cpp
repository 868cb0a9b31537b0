#include "nodes/store_files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

namespace meshbot::nodes {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSnapshotMagic = "MBNS";
constexpr std::string_view kJournalMagic = "MBNJ";
constexpr std::size_t kHeaderSize = 8;          // magic + format
constexpr std::size_t kRecordHeaderSize = 8;    // length + crc
constexpr std::uint32_t kMaxRecord = 1u << 20;  // a node record is a few hundred bytes

std::string errno_text() {
    return std::strerror(errno);
}

std::uint32_t crc32(std::string_view bytes) {
    boost::crc_32_type crc;
    crc.process_bytes(bytes.data(), bytes.size());
    return crc.checksum();
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t get_le(std::string_view bytes, std::size_t at, int width) {
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    return v;
}

std::string header(std::string_view magic) {
    std::string out(magic);
    put_u32(out, kStoreFormat);
    return out;
}

// nullopt when the file does not exist.
std::optional<std::string> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!fs::exists(path)) return std::nullopt;
        throw StoreError("cannot read " + path.string() + ": " + errno_text());
    }
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw StoreError("cannot write " + path.string() + ": " + errno_text());
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void sync(int fd, const fs::path& path) {
    if (::fsync(fd) != 0) throw StoreError("cannot fsync " + path.string() + ": " + errno_text());
}

// Makes a rename or a new file in `dir` durable. False when that cannot be promised.
bool sync_directory(const fs::path& dir) {
    FileHandle d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) return false;
    // Some file systems do not support fsync on a directory: their renames are durable anyway.
    return ::fsync(d.get()) == 0 || errno == EINVAL || errno == ENOTSUP;
}

// Checks the 8-byte header; returns an error text, or empty when it is ours.
std::string check_header(std::string_view bytes, std::string_view magic, const fs::path& path) {
    if (bytes.size() < kHeaderSize || bytes.substr(0, 4) != magic)
        return "not a meshbot store file";
    const auto format = static_cast<std::uint32_t>(get_le(bytes, 4, 4));
    if (format > kStoreFormat) {
        throw StoreError(path.string() + " was written by a newer meshbot (store format " +
                         std::to_string(format) + ", this build reads up to " +
                         std::to_string(kStoreFormat) + "); refusing to touch it");
    }
    if (format == 0) return "format 0 is invalid";
    return {};
}

std::string decode_snapshot(std::string_view bytes, const fs::path& path, pb::StoreSnapshot& out) {
    if (auto bad = check_header(bytes, kSnapshotMagic, path); !bad.empty()) return bad;
    if (bytes.size() < kHeaderSize + 12) return "truncated";
    const auto length = get_le(bytes, kHeaderSize, 8);
    if (length != bytes.size() - kHeaderSize - 12) return "truncated or padded";
    const auto payload = bytes.substr(kHeaderSize + 8, length);
    const auto crc = static_cast<std::uint32_t>(get_le(bytes, kHeaderSize + 8 + length, 4));
    if (crc != crc32(payload)) return "checksum mismatch";
    if (!out.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return "unparseable";
    return {};
}

}  // namespace

FileHandle::~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
}

FileHandle& FileHandle::operator=(FileHandle&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

StoreFiles::StoreFiles(fs::path dir) : dir_(std::move(dir)) {}

std::string StoreFiles::move_aside(const fs::path& file) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    fs::path target = file;
    target += std::string(".corrupt-") + stamp;
    for (int i = 1; fs::exists(target); ++i) {
        target = file;
        target += std::string(".corrupt-") + stamp + "-" + std::to_string(i);
    }
    std::error_code ec;
    fs::rename(file, target, ec);
    if (ec) throw StoreError("cannot move " + file.string() + " aside: " + ec.message());
    return target.string();
}

StoreFiles::Loaded StoreFiles::load(bool read_only) {
    Loaded loaded;
    if (auto bytes = read_file(snapshot_path())) {
        const auto bad = decode_snapshot(*bytes, snapshot_path(), loaded.snapshot);
        if (!bad.empty()) {
            loaded.snapshot.Clear();
            std::string message =
                "node store " + snapshot_path().string() + " is damaged (" + bad + ")";
            message += read_only ? ""
                                 : "; moved aside to " + move_aside(snapshot_path()) +
                                       ", starting from the key journal";
            loaded.errors.push_back(std::move(message));
        }
    }
    auto bytes = read_file(journal_path());
    if (!bytes) return loaded;
    if (bytes->size() < kHeaderSize && header(kJournalMagic).rfind(*bytes, 0) == 0) {
        // Created, then the process died before the header was written: an empty journal.
        if (!read_only) fs::resize_file(journal_path(), 0);
        return loaded;
    }
    if (auto bad = check_header(*bytes, kJournalMagic, journal_path()); !bad.empty()) {
        std::string message =
            "key journal " + journal_path().string() + " is damaged (" + bad + ")";
        message += read_only ? "" : "; moved aside to " + move_aside(journal_path());
        loaded.errors.push_back(std::move(message));
        return loaded;
    }
    const std::string_view all(*bytes);
    std::size_t at = kHeaderSize;
    bool torn = false;  // the bad bytes are one record cut short at the end of the file
    while (at < all.size()) {
        if (all.size() - at < kRecordHeaderSize) {
            torn = true;
            break;
        }
        const auto length = get_le(all, at, 4);
        const auto crc = static_cast<std::uint32_t>(get_le(all, at + 4, 4));
        if (length > kMaxRecord) break;
        if (length > all.size() - at - kRecordHeaderSize) {
            torn = true;
            break;
        }
        const auto payload = all.substr(at + kRecordHeaderSize, length);
        pb::JournalRecord record;
        if (crc != crc32(payload) ||
            !record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
            torn = at + kRecordHeaderSize + length == all.size();
            break;
        }
        if (record.seq() > loaded.snapshot.journal_seq())
            loaded.journal.push_back(std::move(record));
        at += kRecordHeaderSize + length;
    }
    if (at < all.size() && !torn) {
        // Damage before the end: what follows cannot be trusted to be whole. Keep the good
        // records read so far (the caller saves them in a snapshot) and the file for a look.
        std::string message = "key journal " + journal_path().string() + " is damaged after " +
                              std::to_string(loaded.journal.size()) + " good records";
        message += read_only ? "" : "; moved aside to " + move_aside(journal_path());
        loaded.errors.push_back(std::move(message));
        return loaded;
    }
    if (at < all.size()) {
        // Only the record being written when the process died can be incomplete, and it was
        // never reported as saved: drop it so appends continue after the last good record.
        loaded.warnings.push_back("key journal " + journal_path().string() + ": dropped " +
                                  std::to_string(all.size() - at) +
                                  " bytes of an incomplete last record (a write cut short)");
        if (!read_only) {
            std::error_code ec;
            fs::resize_file(journal_path(), at, ec);
            if (ec)
                throw StoreError("cannot truncate " + journal_path().string() + ": " +
                                 ec.message());
        }
    }
    return loaded;
}

void StoreFiles::open_journal() {
    if (unusable_)
        throw StoreError(journal_path().string() +
                         " could not be repaired after a failed write; key changes are not "
                         "saved until meshbot restarts");
    if (journal_) return;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    journal_ =
        FileHandle(::open(journal_path().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!journal_) throw StoreError("cannot open " + journal_path().string() + ": " + errno_text());
    struct stat st {};
    if (::fstat(journal_.get(), &st) == 0 && st.st_size == 0) {
        try {
            write_all(journal_.get(), header(kJournalMagic), journal_path());
            sync(journal_.get(), journal_path());
        } catch (const StoreError&) {
            journal_ = FileHandle();  // reopened (and the header rewritten) next time
            ::truncate(journal_path().c_str(), 0);
            throw;
        }
        sync_directory(dir_);
    }
}

void StoreFiles::append(const std::vector<pb::JournalRecord>& records) {
    if (records.empty()) return;
    open_journal();
    std::string buffer;
    for (const auto& record : records) {
        const std::string payload = record.SerializeAsString();
        put_u32(buffer, static_cast<std::uint32_t>(payload.size()));
        put_u32(buffer, crc32(payload));
        buffer += payload;
    }
    struct stat st {};
    if (::fstat(journal_.get(), &st) != 0)
        throw StoreError("cannot stat " + journal_path().string() + ": " + errno_text());
    try {
        write_all(journal_.get(), buffer, journal_path());  // one write for the whole batch
        sync(journal_.get(), journal_path());
    } catch (const StoreError&) {
        // Part of the batch may be on disk. Cut it off, or a later record that is reported as
        // saved would sit behind garbage that the next load stops at.
        if (::ftruncate(journal_.get(), st.st_size) != 0 || ::fsync(journal_.get()) != 0) {
            journal_ = FileHandle();
            unusable_ = true;
        }
        throw;
    }
}

void StoreFiles::write_snapshot(const pb::StoreSnapshot& snapshot) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    const std::string payload = snapshot.SerializeAsString();
    std::string bytes = header(kSnapshotMagic);
    bytes.reserve(payload.size() + 32);
    put_u64(bytes, payload.size());
    bytes += payload;
    put_u32(bytes, crc32(payload));

    fs::path temp = snapshot_path();
    temp += ".tmp";
    {
        FileHandle file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!file) throw StoreError("cannot create " + temp.string() + ": " + errno_text());
        write_all(file.get(), bytes, temp);
        sync(file.get(), temp);
    }
    if (::rename(temp.c_str(), snapshot_path().c_str()) != 0)
        throw StoreError("cannot rename " + temp.string() + ": " + errno_text());
    // Unless the rename is durable, a power cut could bring back the old snapshot: then the
    // journal must still hold the key changes (its records the new snapshot holds are skipped
    // by their seq at load).
    if (!sync_directory(dir_)) return;
    if (unusable_) {  // the snapshot holds everything: the journal can start afresh
        unusable_ = false;
        journal_ = FileHandle();
        if (::truncate(journal_path().c_str(), 0) != 0 && errno != ENOENT)
            throw StoreError("cannot reset " + journal_path().string() + ": " + errno_text());
    }

    // Every journal record is now in the snapshot (and skipped by seq if this truncation is
    // lost to a crash), so the journal can start over.
    open_journal();
    if (::ftruncate(journal_.get(), kHeaderSize) != 0)
        throw StoreError("cannot truncate " + journal_path().string() + ": " + errno_text());
    sync(journal_.get(), journal_path());
}

bool DirectoryLock::try_lock(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path path = dir / "meshbot.lock";
    FileHandle file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!file) throw StoreError("cannot open " + path.string() + ": " + errno_text());
    if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) return false;
    file_ = std::move(file);
    return true;
}

}  // namespace meshbot::nodes
