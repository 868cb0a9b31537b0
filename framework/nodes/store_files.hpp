#pragma once
// The node store on disk, under the data directory:
//   nodes.db       the snapshot: every node, written atomically (temp file, fsync, rename)
//   nodes.journal  key changes since the snapshot, appended and fsynced before they take effect
// Both are framed as  magic(4) | format(u32 LE) | ...  and every payload carries a CRC-32, so a
// torn or damaged file is recognised: a journal is read up to its last whole record (a record
// cut short by a crash at the very end is dropped; damage before that is reported and the file
// moved aside), a damaged snapshot is moved aside whole.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "store.pb.h"

namespace meshbot::nodes {

// The store format this build writes. 1: the first release of the node store.
inline constexpr std::uint32_t kStoreFormat = 1;

// An I/O failure writing the store, or a store from a newer meshbot.
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

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
    // store written by a newer format, which must not be touched.
    Loaded load(bool read_only);
    // Appends the records to the journal and fsyncs it (throws StoreError).
    void append(const std::vector<pb::JournalRecord>& records);
    // Replaces the snapshot atomically, then empties the journal it contains (throws StoreError).
    void write_snapshot(const pb::StoreSnapshot& snapshot);

    std::filesystem::path snapshot_path() const { return dir_ / "nodes.db"; }
    std::filesystem::path journal_path() const { return dir_ / "nodes.journal"; }

private:
    void open_journal();
    std::string move_aside(const std::filesystem::path& file);

    std::filesystem::path dir_;
    FileHandle journal_;
    bool unusable_ = false;  // a failed append could not be cut off again
};

// An exclusive advisory lock on <dir>/meshbot.lock, held while the daemon owns the store.
class DirectoryLock {
public:
    // Creates the directory if needed; false when another process holds the lock.
    bool try_lock(const std::filesystem::path& dir);
    bool held() const { return static_cast<bool>(file_); }

private:
    FileHandle file_;
};

}  // namespace meshbot::nodes
