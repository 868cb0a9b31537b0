// The node store: key pinning, key changes and acceptance, persistence through the snapshot and
// the key journal, and damaged files.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "nodes/node_store.hpp"
#include "store_fixtures.hpp"

using meshbot::nodes::KeyEvent;
using meshbot::nodes::KeyState;
using meshbot::nodes::NodeRecord;
using meshbot::nodes::NodeStore;
using meshbot::nodes::StoreError;
using namespace meshbot::test_store;
namespace fs = std::filesystem;
namespace pb = meshbot::pb;

TEST_CASE("the first key is pinned; a different one is a change until the operator accepts it",
          "[store]") {
    NodeStore store;
    std::vector<KeyEvent::Kind> events;
    store.set_listeners({},
                        [&](const NodeRecord&, const KeyEvent& e) { events.push_back(e.kind); });

    store.on_packet(nodeinfo(7, key_of('a'), "A"));
    REQUIRE(store.find(7)->key_state() == KeyState::pinned);
    CHECK(store.trusts(7, key_of('a')));
    CHECK_FALSE(store.trusts(7, key_of('b')));
    const auto generation = store.key_generation();

    store.on_packet(nodeinfo(7, key_of('a'), "A"));  // the same key again: nothing happens
    CHECK(store.key_generation() == generation);

    store.on_packet(nodeinfo(7, key_of('b'), "A"));
    const NodeRecord* node = store.find(7);
    CHECK(node->key_state() == KeyState::changed);
    CHECK(*node->pinned_key == *meshbot::nodes::to_key(key_of('a')));
    CHECK(store.key_generation() > generation);
    CHECK(store.key_changes() == 1);
    CHECK_FALSE(store.trusts(7, key_of('a')));  // suspended, whichever key the packet carries
    CHECK_FALSE(store.trusts(7, key_of('b')));

    REQUIRE(store.accept_key(7));
    CHECK(store.find(7)->key_state() == KeyState::pinned);
    CHECK(store.trusts(7, key_of('b')));
    CHECK(store.find(7)->key_history.size() == 1);
    CHECK_FALSE(store.accept_key(7));  // nothing left to accept
    CHECK(events == std::vector<KeyEvent::Kind>{KeyEvent::Kind::pinned, KeyEvent::Kind::changed,
                                                KeyEvent::Kind::accepted});
}

TEST_CASE("the key digest follows the key bytes, not their length", "[store]") {
    NodeStore a, b;
    a.on_packet(nodeinfo(7, key_of('a'), "A"));
    b.on_packet(nodeinfo(7, key_of('b'), "A"));
    CHECK(a.key_digest() != b.key_digest());
    NodeStore c;
    c.on_packet(nodeinfo(7, key_of('a'), "A"));
    CHECK(a.key_digest() == c.key_digest());
}

TEST_CASE("empty and malformed keys are never learned", "[store]") {
    NodeStore store;
    store.on_packet(nodeinfo(7, "", "A"));
    store.on_packet(nodeinfo(8, std::string(31, 'x'), "B"));
    CHECK(store.find(7)->key_state() == KeyState::unknown);
    CHECK(store.find(8)->key_state() == KeyState::unknown);
    CHECK(store.key_generation() == 0);
}

TEST_CASE("a radio still listing a key the operator replaced is not a new change", "[store]") {
    NodeStore store;
    store.on_handshake(radio_with({{7, key_of('a')}}));
    store.on_packet(nodeinfo(7, key_of('b'), "A"));
    REQUIRE(store.accept_key(7));
    store.on_handshake(radio_with({{7, key_of('a')}}));  // first key wins on the radio
    CHECK(store.find(7)->key_state() == KeyState::pinned);
    CHECK(store.trusts(7, key_of('b')));
}

TEST_CASE("keys survive a restart, from the journal alone and from the snapshot", "[store]") {
    Scratch s;
    {
        NodeStore store(s.dir);
        store.load();
        store.on_handshake(radio_with({{7, key_of('a')}, {8, key_of('c')}}));
        store.on_packet(nodeinfo(7, key_of('b'), "A"));
        // No save(): as after a crash, only the journal has it.
    }
    {
        NodeStore store(s.dir);
        const auto report = store.load();
        CHECK(report.errors.empty());
        CHECK(report.journal_records >= 3);
        REQUIRE(store.find(7) != nullptr);
        CHECK(store.find(7)->key_state() == KeyState::changed);
        CHECK(*store.find(8)->pinned_key == *meshbot::nodes::to_key(key_of('c')));
        CHECK(store.self_num() == 0);  // non-key data waits for the snapshot
        CHECK(store.save());
        CHECK(fs::file_size(s.dir / "nodes.journal") ==
              28);  // folded: a new journal, its header alone
    }
    NodeStore store(s.dir);
    const auto report = store.load();
    CHECK(report.journal_records == 0);
    CHECK(report.keys == 3);
    CHECK(store.find(7)->key_state() == KeyState::changed);
    CHECK(store.find(7)->short_name == "A");
}

TEST_CASE("a damaged snapshot is moved aside with an error naming it", "[store]") {
    Scratch s;
    {
        NodeStore store(s.dir);
        store.load();
        store.on_handshake(radio_with({{7, key_of('a')}}));
        REQUIRE(store.save());
    }
    {
        std::fstream f(s.dir / "nodes.db", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(20);
        f.put('\x7f');  // one flipped byte: the CRC catches it
    }
    NodeStore store(s.dir);
    const auto report = store.load();
    REQUIRE(report.errors.size() == 1);
    CHECK_THAT(report.errors[0],
               Catch::Contains((s.dir / "nodes.db").string()) && Catch::Contains("moved aside"));
    CHECK_FALSE(fs::exists(s.dir / "nodes.db"));
    bool aside = false;
    for (const auto& entry : fs::directory_iterator(s.dir))
        aside |= entry.path().filename().string().rfind("nodes.db.corrupt-", 0) == 0;
    CHECK(aside);
    CHECK(store.size() == 0);
    CHECK(store.dirty());  // the next save writes a fresh, good snapshot
}

TEST_CASE("a torn last journal record is dropped, earlier ones are kept", "[store]") {
    Scratch s;
    {
        NodeStore store(s.dir);
        store.load();
        store.on_packet(nodeinfo(7, key_of('a'), "A"));
        store.on_packet(nodeinfo(8, key_of('b'), "B"));
    }
    const auto size = fs::file_size(s.dir / "nodes.journal");
    fs::resize_file(s.dir / "nodes.journal", size - 5);
    NodeStore store(s.dir);
    const auto report = store.load();
    CHECK(report.errors.empty());
    REQUIRE(report.warnings.size() == 1);
    CHECK_THAT(report.warnings[0], Catch::Contains("incomplete last record"));
    CHECK(store.find(7) != nullptr);
    CHECK(store.find(8) == nullptr);
    store.on_packet(nodeinfo(9, key_of('c'), "C"));  // appends after the last good record
    NodeStore again(s.dir);
    again.load();
    CHECK(again.find(9) != nullptr);
}

TEST_CASE("a store from a newer format is refused and left alone", "[store]") {
    Scratch s;
    {
        std::ofstream f(s.dir / "nodes.db", std::ios::binary);
        f << "MBNS" << std::string("\x09\x00\x00\x00", 4) << std::string(20, '\0');
    }
    NodeStore store(s.dir);
    CHECK_THROWS_AS(store.load(), StoreError);
    CHECK(fs::exists(s.dir / "nodes.db"));
}

TEST_CASE("a store written by the first release of the store format still loads", "[store]") {
    // tests/fixtures/store-format-1: written by the build that introduced the node store
    // (format 1), with a snapshot and a journal holding a key change after it.
    Scratch s;
    const fs::path fixture = fs::path(MESHBOT_TEST_FIXTURES) / "store-format-1";
    fs::copy(fixture, s.dir, fs::copy_options::recursive);
    NodeStore store(s.dir);
    const auto report = store.load();
    CHECK(report.errors.empty());
    CHECK(report.warnings.empty());
    CHECK(report.nodes == 4);
    REQUIRE(store.find(0x10000001) != nullptr);
    CHECK(store.find(0x10000001)->short_name == "N001");
    CHECK(store.find(0x10000001)->key_state() == KeyState::pinned);
    REQUIRE(store.find(0x10000002) != nullptr);
    CHECK(store.find(0x10000002)->key_state() == KeyState::changed);
    CHECK(store.self_num() == 0x0badc0de);
}

TEST_CASE("a reconnect does not clear a changed key: the radio lists the first key it kept",
          "[store]") {
    NodeStore store;
    store.on_handshake(radio_with({{7, key_of('a')}}));
    store.on_packet(nodeinfo(7, key_of('b'), "A"));
    REQUIRE(store.find(7)->key_state() == KeyState::changed);
    store.on_handshake(radio_with({{7, key_of('a')}}));
    CHECK(store.find(7)->key_state() == KeyState::changed);
    store.on_packet(nodeinfo(7, key_of('b'), "A"));  // the same change, not a new one
    CHECK(store.key_changes() == 1);
    store.on_packet(nodeinfo(7, key_of('a'), "A"));  // the node itself went back
    CHECK(store.find(7)->key_state() == KeyState::pinned);
}

TEST_CASE("damage in the middle of the journal is an error; the records before it are kept",
          "[store]") {
    Scratch s;
    {
        NodeStore store(s.dir);
        store.load();
        store.on_packet(nodeinfo(7, key_of('a'), "A"));
        store.on_packet(nodeinfo(8, key_of('b'), "B"));
        store.on_packet(nodeinfo(9, key_of('c'), "C"));
    }
    const auto size = fs::file_size(s.dir / "nodes.journal");
    {
        std::fstream f(s.dir / "nodes.journal", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(size / 2));  // inside the second record
        f.put('\x55');
    }
    NodeStore store(s.dir);
    const auto report = store.load();
    REQUIRE(report.errors.size() == 1);
    CHECK_THAT(report.errors[0], Catch::Contains("is damaged after 1 good records"));
    CHECK(store.find(7) != nullptr);
    CHECK(store.dirty());
}

TEST_CASE("a journal cut short inside its header reads as empty", "[store]") {
    Scratch s;
    {
        std::ofstream f(s.dir / "nodes.journal", std::ios::binary);
        f << "MBN";
    }
    NodeStore store(s.dir);
    const auto report = store.load();
    CHECK(report.errors.empty());
    store.on_packet(nodeinfo(7, key_of('a'), "A"));
    NodeStore again(s.dir);
    again.load();
    CHECK(again.find(7) != nullptr);
}

TEST_CASE("a key change the disk refused is undone, and later saved changes still load",
          "[store]") {
    Scratch s;
    NodeStore store(s.dir);
    store.load();
    store.on_packet(nodeinfo(7, key_of('a'), "A"));
    const auto size = fs::file_size(s.dir / "nodes.journal");

    // The file may grow by 40 bytes only: the next record is written in part, then refused.
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = size + 40;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    store.on_packet(nodeinfo(8, key_of('b'), "a name long enough to make the record too big"));
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);

    CHECK(store.find(8)->key_state() == KeyState::unknown);  // not durable, so not learned
    CHECK(fs::file_size(s.dir / "nodes.journal") == size);   // the partial write was cut off
    store.on_packet(nodeinfo(9, key_of('c'), "C"));          // reported as saved

    NodeStore again(s.dir);
    const auto report = again.load();
    CHECK(report.errors.empty());
    CHECK(report.warnings.empty());
    CHECK(again.find(7)->key_state() == KeyState::pinned);
    CHECK(again.find(9)->key_state() == KeyState::pinned);
}
