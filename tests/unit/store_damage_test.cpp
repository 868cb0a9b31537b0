// The node store against damaged, missing and odd files: only a record cut short at the very end
// of the journal is a torn write; every other damage is an error with a .corrupt copy, and a
// journal that went missing or was emptied is noticed. Also what the store says in the log.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fstream>

#include "../support/log_capture.hpp"
#include "nodes/node_store.hpp"
#include "store_fixtures.hpp"

using meshbot::nodes::KeyState;
using meshbot::nodes::NodeStore;
using meshbot::nodes::StoreError;
using meshbot::testing::LogCapture;
using namespace meshbot::test_store;

namespace {

std::uint32_t read_u32(const fs::path& file, std::uintmax_t at) {
    std::ifstream f(file, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    unsigned char b[4] = {};
    f.read(reinterpret_cast<char*>(b), 4);
    return b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}

void write_u32(const fs::path& file, std::uintmax_t at, std::uint32_t v) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at));
    for (int i = 0; i < 4; ++i)
        f.put(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void flip_byte(const fs::path& file, std::uintmax_t at) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    const char c = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x10));
}

bool has_corrupt_copy(const fs::path& dir, const std::string& name) {
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind(name + ".corrupt-", 0) == 0) return true;
    }
    return false;
}

// A store whose snapshot holds node 7 and whose journal holds nodes 8 and then 9 (journaled
// after the snapshot). Returns where the last journal record (node 9) starts.
std::uintmax_t snapshot_then_two_records(const fs::path& dir) {
    NodeStore store(dir);
    store.load();
    store.on_packet(nodeinfo(7, key_of('a'), "A"));
    REQUIRE(store.save());
    store.on_packet(nodeinfo(8, key_of('b'), "B"));
    const auto last = fs::file_size(dir / "nodes.journal");
    store.on_packet(nodeinfo(9, key_of('c'), "C"));
    return last;
}

// Sets or clears the immutable attribute; false when this file system or user cannot.
bool set_immutable(const fs::path& file, bool on) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    int flags = 0;
    bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (ok) {
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        ok = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    ::close(fd);
    return ok;
}

}  // namespace

TEST_CASE("a bit flip in the last complete journal record is damage, not a torn write",
          "[store][journal_damage]") {
    Scratch s;
    snapshot_then_two_records(s.dir);
    const auto journal = s.dir / "nodes.journal";
    flip_byte(journal, fs::file_size(journal) - 3);  // inside node 9's payload

    NodeStore store(s.dir);
    const auto report = store.load();
    REQUIRE(report.errors.size() == 1);
    CHECK_THAT(report.errors[0], Catch::Contains(journal.string()) && Catch::Contains("damaged") &&
                                     Catch::Contains("moved aside"));
    CHECK(report.warnings.empty());
    CHECK(has_corrupt_copy(s.dir, "nodes.journal"));
    CHECK(store.find(8)->key_state() == KeyState::pinned);  // the good record before it
    CHECK(store.find(9) == nullptr);
}

TEST_CASE("a bad length in the last complete journal record is damage, not a torn write",
          "[store][journal_damage]") {
    for (const std::int64_t delta : {+100, -7}) {
        INFO("length changed by " << delta);
        Scratch s;
        const auto last = snapshot_then_two_records(s.dir);
        const auto journal = s.dir / "nodes.journal";
        write_u32(
            journal, last,
            static_cast<std::uint32_t>(static_cast<std::int64_t>(read_u32(journal, last)) + delta));
        NodeStore store(s.dir);
        const auto report = store.load();
        REQUIRE(report.errors.size() == 1);
        CHECK_THAT(report.errors[0], Catch::Contains("damaged") && Catch::Contains("moved aside"));
        CHECK(has_corrupt_copy(s.dir, "nodes.journal"));
        CHECK(store.find(8)->key_state() == KeyState::pinned);
    }
}

TEST_CASE("a journal emptied, cut inside its header or gone is noticed, not read as no changes",
          "[store][journal_damage]") {
    for (const int size : {0, 5, -1}) {  // -1: the file is deleted
        INFO("journal cut to " << size << " bytes");
        Scratch s;
        snapshot_then_two_records(s.dir);
        const auto journal = s.dir / "nodes.journal";
        if (size < 0) {
            fs::remove(journal);
        } else {
            fs::resize_file(journal, static_cast<std::uintmax_t>(size));
        }
        NodeStore store(s.dir);
        const auto report = store.load();
        REQUIRE(report.errors.size() == 1);
        CHECK_THAT(report.errors[0],
                   Catch::Contains(journal.string()) && Catch::Contains("may be lost"));
        CHECK(store.find(7)->key_state() == KeyState::pinned);  // the snapshot still counts
        CHECK(store.dirty());  // a fresh snapshot and journal follow at the next save
        REQUIRE(store.save());
        NodeStore again(s.dir);
        const auto clean = again.load();
        CHECK(clean.errors.empty());
        CHECK(clean.warnings.empty());
    }
}

TEST_CASE("a snapshot older than its journal, or missing, is noticed", "[store][journal_damage]") {
    Scratch s;
    fs::path old_snapshot = s.dir / "old.db";
    {
        NodeStore store(s.dir);
        store.load();
        store.on_packet(nodeinfo(7, key_of('a'), "A"));
        REQUIRE(store.save());
        fs::copy_file(s.dir / "nodes.db", old_snapshot);
        store.on_packet(nodeinfo(8, key_of('b'), "B"));
        REQUIRE(store.save());  // node 8 is now only in the snapshot
        store.on_packet(nodeinfo(9, key_of('c'), "C"));
    }
    fs::copy_file(old_snapshot, s.dir / "nodes.db", fs::copy_options::overwrite_existing);
    {
        NodeStore store(s.dir);
        const auto report = store.load(true);
        REQUIRE(report.errors.size() == 1);
        CHECK_THAT(report.errors[0],
                   Catch::Contains("older than") && Catch::Contains("may be lost"));
        CHECK(store.find(9)->key_state() == KeyState::pinned);  // the journal still counts
    }
    fs::remove(s.dir / "nodes.db");
    NodeStore store(s.dir);
    const auto report = store.load(true);
    REQUIRE(report.errors.size() == 1);
    CHECK_THAT(report.errors[0], Catch::Contains((s.dir / "nodes.db").string()) &&
                                     Catch::Contains("missing") && Catch::Contains("may be lost"));
}

TEST_CASE("only a record cut short at the end is a torn write, wherever the cut falls",
          "[store][journal_damage]") {
    for (const int cut : {1, 5, 11, 20}) {  // inside the record's header or its payload
        INFO("cut " << cut << " bytes into the last record");
        Scratch s;
        const auto last = snapshot_then_two_records(s.dir);
        fs::resize_file(s.dir / "nodes.journal", last + static_cast<std::uintmax_t>(cut));
        NodeStore store(s.dir);
        const auto report = store.load();
        CHECK(report.errors.empty());
        REQUIRE(report.warnings.size() == 1);
        CHECK_THAT(report.warnings[0], Catch::Contains("incomplete last record"));
        CHECK(store.find(8)->key_state() == KeyState::pinned);
        CHECK_FALSE(has_corrupt_copy(s.dir, "nodes.journal"));
    }
}

TEST_CASE("a store of the first format is migrated: saved, it loads without a word",
          "[store][journal_damage]") {
    Scratch s;
    fs::copy(fs::path(MESHBOT_TEST_FIXTURES) / "store-format-1", s.dir,
             fs::copy_options::recursive);
    {
        NodeStore store(s.dir);
        REQUIRE(store.load().errors.empty());
        store.on_packet(nodeinfo(0x10000005, key_of('e'), "N005"));  // into the old journal
    }
    {
        NodeStore store(s.dir);
        const auto report = store.load();
        CHECK(report.errors.empty());
        CHECK(report.warnings.empty());
        CHECK(store.find(0x10000002)->key_state() == KeyState::changed);
        CHECK(store.find(0x10000005)->key_state() == KeyState::pinned);
        REQUIRE(store.save());
        store.on_packet(nodeinfo(0x10000006, key_of('f'), "N006"));  // into the new journal
    }
    NodeStore store(s.dir);
    const auto report = store.load();
    CHECK(report.errors.empty());
    CHECK(report.warnings.empty());
    CHECK(report.nodes == 6);
    CHECK(store.find(0x10000002)->key_state() == KeyState::changed);
    CHECK(store.find(0x10000006)->key_state() == KeyState::pinned);
}

TEST_CASE("a directory in place of a store file is refused by name", "[store][store_files]") {
    for (const char* name : {"nodes.db", "nodes.journal"}) {
        Scratch s;
        fs::create_directory(s.dir / name);
        for (const bool read_only : {true, false}) {
            NodeStore store(s.dir);
            try {
                store.load(read_only);
                FAIL("no error for a directory " << name);
            } catch (const StoreError& e) {
                CHECK_THAT(e.what(), Catch::Contains((s.dir / name).string()) &&
                                         Catch::Contains("is a directory"));
            }
        }
    }
    Scratch s;
    const auto file = s.dir / "not-a-dir";
    std::ofstream(file) << "x";
    NodeStore store(file);
    try {
        store.load(true);
        FAIL("no error for a data directory that is a file");
    } catch (const StoreError& e) {
        CHECK_THAT(e.what(), Catch::Contains(file.string()) && Catch::Contains("not a directory"));
    }
}

TEST_CASE("a journal that cannot be emptied after a snapshot: the log says the snapshot is saved",
          "[store][store_files]") {
    Scratch s;
    NodeStore store(s.dir);
    store.load();
    store.on_packet(nodeinfo(7, key_of('a'), "A"));
    const auto journal = s.dir / "nodes.journal";
    if (!set_immutable(journal, true)) {
        WARN("cannot set the immutable attribute here (needs CAP_LINUX_IMMUTABLE): not tested");
        return;
    }
    struct Unset {
        fs::path file;
        ~Unset() { set_immutable(file, false); }
    } unset{journal};

    LogCapture log;
    store.on_packet(nodeinfo(7, key_of('a'), "Renamed"));  // not a key change: snapshot only
    CHECK(store.save());
    CHECK(log.find("error", "not saved").empty());
    CHECK_THAT(log.text(), Catch::Contains("saved") && Catch::Contains(journal.string()));
    NodeStore again(s.dir);
    again.load(true);
    CHECK(again.find(7)->short_name == "Renamed");
}

TEST_CASE("thousands of new nodes give one info line about pinned keys, not one each",
          "[store][store_log]") {
    NodeStore store;
    LogCapture log;
    for (std::uint32_t num = 1; num <= 5000; ++num)
        store.on_packet(nodeinfo(num, key_of(static_cast<char>('a' + num % 26)), "N"));
    store.save();  // the daemon saves on a debounce: the summary goes out with it at the latest
    const auto info = log.find("info", "pinned");
    REQUIRE(info.size() == 1);
    CHECK_THAT(info[0], Catch::Contains("5000 node(s)"));
    CHECK(log.find("debug", "key pinned for").size() == 5000);
}
