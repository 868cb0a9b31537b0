#pragma once
// The node store on disk, under the data directory:
//   nodes.db       the snapshot: every node, written atomically (temp file, fsync, rename)
//   nodes.journal  key changes since the snapshot, appended and fsynced before they take effect
// Both are framed as  magic(4) | format(u32 LE) | ...  and every payload carries a CRC-32.
// Format 2 (format 1 is still read, and its journal appended to in its own format until the
// next snapshot starts a new one):
//   snapshot  header | length(u64) | StoreSnapshot | crc(payload)       (generation inside)
//   journal   header | generation(u64) | base seq(u64) | crc(of these 24 bytes)
//             then records: length(u32) | crc(payload) | crc(of those 8 bytes) | JournalRecord
// The journal names the snapshot generation it follows and the seq before its first record, so
// a journal that went missing or was emptied, or a snapshot older than its journal, is noticed.
// Only a record cut short at the very end of the journal is a torn write (dropped with a
// warning); any other damage is an error and the file is moved aside (<name>.corrupt-<time>).

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "store.pb.h"

namespace meshbot::nodes {

// The store format this build writes. 1: the first release of the node store. 2: snapshot
// generations in the journal header, and a checksum over each journal record's header.
inline constexpr std::uint32_t kStoreFormat = 2;

// An I/O failure writing the store, or a store from a newer meshbot.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws StoreError naming `dir` when it exists but is not a directory.
void check_data_dir(const std::filesystem::path& dir);

// A file descriptor, closed on destruction.
class FileHandle {
public:
    FileHandle() = default;
    explicit FileHandle(int fd) : fd_(fd) {}
    ~FileHandle();
    FileHandle(FileHandle&& other) noexcept : fd_(other.release()) {}
    FileHandle& operator=(FileHandle&& other) noexcept;
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_ = -1;
};

// Reads and writes the two files of one data directory. io_context thread only; one process
// writes a directory at a time (DirectoryLock).
class StoreFiles {
public:
    struct Loaded {
        pb::StoreSnapshot snapshot;              // empty when there was none
        std::vector<pb::JournalRecord> journal;  // records newer than the snapshot, in order
        std::vector<std::string> errors;         // damaged files (moved aside unless read-only)
        std::vector<std::string> warnings;       // e.g. a torn last journal record
    };

    explicit StoreFiles(std::filesystem::path dir);

    // read_only (the CLI): never moves, truncates or creates anything. Throws StoreError for a
    // store written by a newer format, which must not be touched, and for a store file (or the
    // directory) that is not a file (a directory) at all.
    Loaded load(bool read_only);
    // Appends the records to the journal and fsyncs it (throws StoreError; nothing of them stays
    // in the file then).
    void append(const std::vector<pb::JournalRecord>& records);
    // Replaces the snapshot atomically (throws StoreError, and leaves no temporary file), then
    // starts a new journal after it. Returns why that new journal could not be started (the
    // snapshot is saved all the same; the old journal stays in use), or "".
    std::string write_snapshot(pb::StoreSnapshot snapshot);

    std::filesystem::path snapshot_path() const { return dir_ / "nodes.db"; }
    std::filesystem::path journal_path() const { return dir_ / "nodes.journal"; }

private:
    // Opens the journal for appending; creates it (base_seq: the seq before its first record)
    // when there is none.
    void open_journal(std::uint64_t base_seq);
    // Replaces the journal by an empty one of this build's format, atomically.
    void start_journal(std::uint64_t generation, std::uint64_t base_seq);
    void read_journal(std::string_view all, Loaded& loaded, bool read_only, bool have_snapshot,
                      bool snapshot_damaged);
    std::string move_aside(const std::filesystem::path& file);

    std::filesystem::path dir_;
    FileHandle journal_;
    std::uint32_t journal_format_ = kStoreFormat;  // the format appends are written in
    std::uint64_t generation_ = 0;                 // the snapshot's on disk (0: none, format 1)
    bool unusable_ = false;                        // a failed append could not be cut off again
};

// An exclusive advisory lock on <dir>/meshbot.lock, held while the daemon owns the store.
class DirectoryLock {
public:
    // Creates the directory if needed; false when another process holds the lock. Throws
    // StoreError naming the path when it cannot (e.g. data_dir is a file).
    bool try_lock(const std::filesystem::path& dir);
    bool held() const { return static_cast<bool>(file_); }

private:
    FileHandle file_;
};

}  // namespace meshbot::nodes
