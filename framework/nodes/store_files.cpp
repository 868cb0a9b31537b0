#include "nodes/store_files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>

namespace meshbot::nodes {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSnapshotMagic = "MBNS";
constexpr std::string_view kJournalMagic = "MBNJ";
constexpr std::size_t kHeaderSize = 8;              // magic + format
constexpr std::size_t kJournalHeaderSize = 8 + 20;  // format 2: + generation, base seq, crc
constexpr std::uint32_t kMaxRecord = 1u << 20;      // a node record is a few hundred bytes

// A journal record's header: length + crc, and from format 2 a crc over those 8 bytes, so a
// damaged length is told apart from a record cut short.
constexpr std::size_t record_header_size(std::uint32_t format) {
    return format >= 2 ? 12 : 8;
}

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

std::string header(std::string_view magic, std::uint32_t format = kStoreFormat) {
    std::string out(magic);
    put_u32(out, format);
    return out;
}

// nullopt when the file does not exist. Anything that is not a regular file is refused by name:
// a directory in place of nodes.db is an operator's mistake to point at, not damage to move.
std::optional<std::string> read_file(const fs::path& path) {
    FileHandle file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!file) {
        if (errno == ENOENT) return std::nullopt;
        throw StoreError("cannot read " + path.string() + ": " + errno_text());
    }
    struct stat st {};
    if (::fstat(file.get(), &st) != 0)
        throw StoreError("cannot stat " + path.string() + ": " + errno_text());
    if (S_ISDIR(st.st_mode))
        throw StoreError(path.string() + " is a directory, not a node store file; move it away");
    if (!S_ISREG(st.st_mode))
        throw StoreError(path.string() + " is not a regular file; move it away");
    std::string out;
    char chunk[65536];
    for (;;) {
        const ssize_t n = ::read(file.get(), chunk, sizeof chunk);
        if (n == 0) return out;
        if (n < 0) {
            if (errno == EINTR) continue;
            throw StoreError("cannot read " + path.string() + ": " + errno_text());
        }
        out.append(chunk, static_cast<std::size_t>(n));
    }
}

// Writes `bytes` to a new file `path` and fsyncs it; on any failure the file is removed again,
// so that a full disk does not keep a partial file that takes the space the journal needs.
void write_new_file(const fs::path& path, std::string_view bytes) {
    try {
        FileHandle file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!file) throw StoreError("cannot create " + path.string() + ": " + errno_text());
        write_all(file.get(), bytes, path);
        sync(file.get(), path);
    } catch (const StoreError&) {
        ::unlink(path.c_str());
        throw;
    }
}

void rename_into_place(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        const std::string why = errno_text();
        ::unlink(from.c_str());
        throw StoreError("cannot rename " + from.string() + " to " + to.string() + ": " + why);
    }
}

// Checks the 8-byte header; returns an error text, or empty when it is ours (format set).
std::string check_header(std::string_view bytes, std::string_view magic, const fs::path& path,
                         std::uint32_t& format) {
    if (bytes.size() < kHeaderSize || bytes.substr(0, 4) != magic)
        return "not a meshbot store file";
    format = static_cast<std::uint32_t>(get_le(bytes, 4, 4));
    if (format > kStoreFormat) {
        throw StoreError(path.string() + " was written by a newer meshbot (store format " +
                         std::to_string(format) + ", this build reads up to " +
                         std::to_string(kStoreFormat) + "); refusing to touch it");
    }
    if (format == 0) return "format 0 is invalid";
    return {};
}

std::string journal_header(std::uint64_t generation, std::uint64_t base_seq) {
    std::string out = header(kJournalMagic);
    put_u64(out, generation);
    put_u64(out, base_seq);
    put_u32(out, crc32(out));
    return out;
}

std::string decode_snapshot(std::string_view bytes, const fs::path& path, pb::StoreSnapshot& out) {
    std::uint32_t format = 0;
    if (auto bad = check_header(bytes, kSnapshotMagic, path, format); !bad.empty()) return bad;
    if (bytes.size() < kHeaderSize + 12) return "truncated";
    const auto length = get_le(bytes, kHeaderSize, 8);
    if (length != bytes.size() - kHeaderSize - 12) return "truncated or padded";
    const auto payload = bytes.substr(kHeaderSize + 8, length);
    const auto crc = static_cast<std::uint32_t>(get_le(bytes, kHeaderSize + 8 + length, 4));
    if (crc != crc32(payload)) return "checksum mismatch";
    if (!out.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return "unparseable";
    if (format < 2) out.set_generation(0);  // format 1 had no generations
    return {};
}

}  // namespace

void check_data_dir(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
        throw StoreError("the data directory " + dir.string() + " is not a directory");
}

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
    check_data_dir(dir_);
    Loaded loaded;
    bool have_snapshot = false, snapshot_damaged = false;
    if (auto bytes = read_file(snapshot_path())) {
        const auto bad = decode_snapshot(*bytes, snapshot_path(), loaded.snapshot);
        have_snapshot = bad.empty();
        if (!bad.empty()) {
            snapshot_damaged = true;
            loaded.snapshot.Clear();
            std::string message =
                "node store " + snapshot_path().string() + " is damaged (" + bad + ")";
            message += read_only ? ""
                                 : "; moved aside to " + move_aside(snapshot_path()) +
                                       ", starting from the key journal";
            loaded.errors.push_back(std::move(message));
        }
    }
    generation_ = loaded.snapshot.generation();
    journal_format_ = kStoreFormat;
    const auto bytes = read_file(journal_path());
    const std::string lost = "; key changes saved after snapshot generation " +
                             std::to_string(generation_) + " may be lost";
    if (!bytes) {
        // Every snapshot of format 2 is written after its journal exists (write_snapshot).
        if (generation_ > 0)
            loaded.errors.push_back("key journal " + journal_path().string() + " is missing" +
                                    lost);
        return loaded;
    }
    read_journal(*bytes, loaded, read_only, have_snapshot, snapshot_damaged);
    return loaded;
}

void StoreFiles::read_journal(std::string_view all, Loaded& loaded, bool read_only,
                              bool have_snapshot, bool snapshot_damaged) {
    const std::string name = "key journal " + journal_path().string();
    const std::string lost = "; key changes saved after snapshot generation " +
                             std::to_string(generation_) + " may be lost";
    const auto damaged = [&](const std::string& why) {
        std::string message = name + " is " + why;
        if (!read_only && !all.empty()) message += "; moved aside to " + move_aside(journal_path());
        loaded.errors.push_back(message + lost);
    };
    if (all.size() < kHeaderSize && generation_ == 0 &&
        header(kJournalMagic, 1).rfind(all, 0) == 0) {
        // Format 1 created the file, then wrote its header: a crash between left this. Format 2
        // creates a journal whole (start_journal), so it cannot come from this build.
        if (!read_only) fs::remove(journal_path());
        return;
    }
    if (all.size() < kHeaderSize) {
        damaged(all.empty() ? "empty" : "cut short to " + std::to_string(all.size()) + " bytes");
        return;
    }
    std::uint32_t format = 0;
    if (auto bad = check_header(all, kJournalMagic, journal_path(), format); !bad.empty()) {
        damaged("damaged (" + bad + ")");
        return;
    }
    std::size_t at = kHeaderSize;
    std::uint64_t expected_seq = 0;  // format 2: records follow the header's base seq
    if (format >= 2) {
        if (all.size() < kJournalHeaderSize || get_le(all, kJournalHeaderSize - 4, 4) !=
                                                   crc32(all.substr(0, kJournalHeaderSize - 4))) {
            damaged(all.size() < kJournalHeaderSize ? "cut short inside its header"
                                                    : "damaged (header checksum mismatch)");
            return;
        }
        const auto generation = get_le(all, 8, 8);
        expected_seq = get_le(all, 16, 8) + 1;
        at = kJournalHeaderSize;
        // An older journal is normal: the snapshot was written, the new journal was not
        // (a crash, a full disk); its records the snapshot holds are skipped by their seq.
        if (generation > generation_ && have_snapshot) {
            loaded.errors.push_back("node store " + snapshot_path().string() +
                                    " (snapshot generation " + std::to_string(generation_) +
                                    ") is older than " + name + ", which follows generation " +
                                    std::to_string(generation) +
                                    "; key changes saved in between may be lost");
        } else if (generation > 0 && !have_snapshot && !snapshot_damaged) {
            loaded.errors.push_back("node store " + snapshot_path().string() + " is missing (" +
                                    name + " follows snapshot generation " +
                                    std::to_string(generation) +
                                    "); key changes saved before that journal may be lost");
        }
    }
    const std::size_t record_header = record_header_size(format);
    std::size_t good = 0;
    std::string bad;  // why the bytes at `at` are not a record; empty: a torn last record
    while (at < all.size()) {
        if (all.size() - at < record_header) break;  // torn inside the record header
        const auto length = get_le(all, at, 4);
        const auto crc = static_cast<std::uint32_t>(get_le(all, at + 4, 4));
        if (format >= 2 && get_le(all, at + 8, 4) != crc32(all.substr(at, 8))) {
            bad = "record header checksum mismatch";
            break;
        }
        if (length > kMaxRecord) {
            bad = "a record length of " + std::to_string(length) + " bytes";
            break;
        }
        // Format 1 cannot tell a damaged length from a record cut short: both read as torn.
        if (length > all.size() - at - record_header) break;
        const auto payload = all.substr(at + record_header, length);
        pb::JournalRecord record;
        if (crc != crc32(payload)) {
            bad = "record checksum mismatch";
            break;
        }
        if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
            bad = "a record that does not parse";
            break;
        }
        if (format >= 2 && record.seq() != expected_seq) {
            bad = "record seq " + std::to_string(record.seq()) + " where " +
                  std::to_string(expected_seq) + " belongs";
            break;
        }
        ++expected_seq;
        ++good;
        if (record.seq() > loaded.snapshot.journal_seq())
            loaded.journal.push_back(std::move(record));
        at += record_header + length;
    }
    if (!bad.empty()) {
        // Damage, not a crash: what follows cannot be trusted. Keep the good records read so
        // far (the caller saves them in a snapshot) and the file for a look.
        damaged("damaged after " + std::to_string(good) + " good records (" + bad + ")");
        return;
    }
    journal_format_ = format;
    if (at < all.size()) {
        // Only the record being written when the process died can be incomplete, and it was
        // never reported as saved: drop it so appends continue after the last good record.
        loaded.warnings.push_back(name + ": dropped " + std::to_string(all.size() - at) +
                                  " bytes of an incomplete last record (a write cut short)");
        if (!read_only) {
            std::error_code ec;
            fs::resize_file(journal_path(), at, ec);
            if (ec)
                throw StoreError("cannot truncate " + journal_path().string() + ": " +
                                 ec.message());
        }
    }
}

void StoreFiles::open_journal(std::uint64_t base_seq) {
    if (unusable_)
        throw StoreError(journal_path().string() +
                         " could not be cut back after a failed write; key changes are not "
                         "saved until the next snapshot starts a new journal");
    if (journal_) return;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    FileHandle file(::open(journal_path().c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!file && errno != ENOENT)
        throw StoreError("cannot open " + journal_path().string() + ": " + errno_text());
    struct stat st {};
    if (file && ::fstat(file.get(), &st) == 0 && st.st_size > 0) {
        journal_ = std::move(file);
        return;
    }
    start_journal(generation_, base_seq);
}

void StoreFiles::start_journal(std::uint64_t generation, std::uint64_t base_seq) {
    fs::path temp = journal_path();
    temp += ".tmp";
    write_new_file(temp, journal_header(generation, base_seq));
    rename_into_place(temp, journal_path());
    journal_ = FileHandle();
    journal_format_ = kStoreFormat;
    sync_directory(dir_);
    journal_ = FileHandle(::open(journal_path().c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!journal_) throw StoreError("cannot open " + journal_path().string() + ": " + errno_text());
}

void StoreFiles::append(const std::vector<pb::JournalRecord>& records) {
    if (records.empty()) return;
    open_journal(records.front().seq() - 1);
    std::string buffer;
    for (const auto& record : records) {
        const std::string payload = record.SerializeAsString();
        const auto start = buffer.size();
        put_u32(buffer, static_cast<std::uint32_t>(payload.size()));
        put_u32(buffer, crc32(payload));
        if (journal_format_ >= 2) put_u32(buffer, crc32(std::string_view(buffer).substr(start)));
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

std::string StoreFiles::write_snapshot(pb::StoreSnapshot snapshot) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    // A snapshot of format 2 promises a journal: create it first, so that a crash between
    // the two renames below leaves an older journal (normal), never none (reported as loss).
    if (!journal_ && !fs::exists(journal_path(), ec)) {
        try {
            start_journal(generation_, snapshot.journal_seq());
        } catch (const StoreError&) {
            // The snapshot below most likely fails the same way, and says why.
        }
    }
    const std::uint64_t generation = generation_ + 1;
    snapshot.set_format(kStoreFormat);
    snapshot.set_generation(generation);
    const std::string payload = snapshot.SerializeAsString();
    std::string bytes = header(kSnapshotMagic);
    bytes.reserve(payload.size() + 32);
    put_u64(bytes, payload.size());
    bytes += payload;
    put_u32(bytes, crc32(payload));

    fs::path temp = snapshot_path();
    temp += ".tmp";
    write_new_file(temp, bytes);
    rename_into_place(temp, snapshot_path());
    generation_ = generation;
    // Unless the rename is durable, a power cut could bring back the old snapshot: then the
    // journal must still hold the key changes (its records the new snapshot holds are skipped
    // by their seq at load).
    if (!sync_directory(dir_)) return {};
    // Every journal record is now in the snapshot, so a new journal can start after it.
    try {
        start_journal(generation, snapshot.journal_seq());
        unusable_ = false;
    } catch (const StoreError& e) {
        return e.what();
    }
    return {};
}

bool DirectoryLock::try_lock(const fs::path& dir) {
    check_data_dir(dir);
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
