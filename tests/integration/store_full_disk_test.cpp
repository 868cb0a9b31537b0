// The node store on a full disk: a small tmpfs of its own (a user and mount namespace made by
// `unshare`, reached through /proc/<pid>/root), filled, then freed. A failed snapshot must not
// keep its temporary file, key changes the disk refused are retried once space returns, the log
// says what is and is not saved, and `meshbot status` shows it.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

#include "nodes/node_store.hpp"
#include "portnums.pb.h"
#include "support/bot_process.hpp"
#include "support/child_process.hpp"
#include "support/log_capture.hpp"
#include "support/node_packets.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::nodes::KeyState;
using meshbot::nodes::NodeStore;
using meshbot::testing::bin_path;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::LogCapture;
using meshbot::testing::quoted;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
namespace fs = std::filesystem;
namespace pb = meshbot::pb;

namespace {

// Owns a tmpfs of `size` mounted on a fresh folder inside a private mount namespace (the
// `unshare` child keeps it alive until destroyed). Test thread.
class TinyDisk {
public:
    explicit TinyDisk(const std::string& size)
        : process_({"/usr/bin/unshare", "-Urm", "sh", "-c",
                    "mount -t tmpfs -o size=" + size + " none \"$0\" && echo mounted && exec cat",
                    mount_point_.path().string()}) {
        REQUIRE(process_.wait_for_line("mounted", 10s));
        path_ = fs::path("/proc/" + std::to_string(process_.pid()) + "/root") /
                mount_point_.path().relative_path();
    }
    ~TinyDisk() {
        if (filler_ >= 0) ::close(filler_);
        process_.close_stdin();
    }

    // The mounted file system, as this process reaches it.
    const fs::path& path() const { return path_; }

    // Writes to a filler file until the disk refuses; returns its size.
    std::uintmax_t fill() {
        if (filler_ < 0) filler_ = ::open((path_ / "filler").c_str(), O_WRONLY | O_CREAT, 0600);
        REQUIRE(filler_ >= 0);
        ::lseek(filler_, 0, SEEK_END);
        const std::vector<char> block(4096, 'f');
        for (;;) {
            const ssize_t n = ::write(filler_, block.data(), block.size());
            if (n > 0) continue;
            REQUIRE(errno == ENOSPC);
            break;
        }
        return fs::file_size(path_ / "filler");
    }
    // Gives `bytes` of the filler back (all of it with 0).
    void free_space(std::uintmax_t bytes = 0) {
        const auto size = fs::file_size(path_ / "filler");
        REQUIRE(::ftruncate(filler_, static_cast<off_t>(bytes == 0 ? 0 : size - bytes)) == 0);
    }

private:
    TempDir mount_point_;
    ChildProcess process_;
    fs::path path_;
    int filler_ = -1;
};

std::string key_of(char fill) {
    return std::string(32, fill);
}

pb::MeshPacket nodeinfo(std::uint32_t from, const std::string& key, const std::string& name) {
    return meshbot::testing::announce(from, key, "N", name);
}

pb::MeshPacket heard(std::uint32_t from) {
    pb::MeshPacket p;
    p.set_from(from);
    p.set_to(0xFFFFFFFF);
    p.set_rx_snr(5.5f);
    return p;
}

}  // namespace

TEST_CASE("a full disk: no temporary file left behind, refused keys retried when space returns",
          "[store][full_disk]") {
    TinyDisk disk("1m");
    const fs::path dir = disk.path() / "data";
    LogCapture log;
    NodeStore store(dir);
    store.load();
    // Enough nodes that a snapshot needs far more room than one key record.
    for (std::uint32_t num = 1; num <= 300; ++num)
        store.on_packet(nodeinfo(num, key_of('k'), std::string(100, 'n')));
    REQUIRE(store.save());
    const auto snapshot_size = fs::file_size(dir / "nodes.db");
    REQUIRE(snapshot_size > 32 * 1024);

    // 16 KiB free: a snapshot does not fit, one big key record does.
    disk.fill();
    disk.free_space(16 * 1024);
    store.on_packet(heard(1));
    CHECK_FALSE(store.save());
    CHECK_FALSE(fs::exists(dir / "nodes.db.tmp"));  // its space is free again
    CHECK(fs::file_size(dir / "nodes.db") == snapshot_size);
    const auto snapshot_error = log.find("error", "not saved");
    REQUIRE(snapshot_error.size() == 1);
    CHECK_THAT(snapshot_error[0], Catch::Contains("No space left on device") &&
                                      Catch::Contains("key changes are safe in the journal"));
    store.on_packet(nodeinfo(1000, key_of('a'), std::string(6000, 'x')));
    CHECK(store.find(1000)->key_state() == KeyState::pinned);

    // Nothing free: the key is refused, loudly, and the log never claims it is kept.
    disk.fill();
    log.clear();
    store.on_packet(nodeinfo(1001, key_of('b'), std::string(6000, 'y')));
    CHECK(store.find(1001)->key_state() == KeyState::unknown);  // not durable: does not count
    CHECK(log.find("error", "KEYS ARE NOT BEING SAVED").size() == 1);
    CHECK_FALSE(store.save());
    CHECK(log.find("error", "in the journal").empty());
    CHECK(log.find("error", "not being saved either").size() == 1);
    CHECK_FALSE(fs::exists(dir / "nodes.db.tmp"));

    // Space returns: the next change retries the refused key first.
    disk.free_space();
    log.clear();
    store.on_packet(heard(2));
    CHECK(store.find(1001)->key_state() == KeyState::pinned);
    CHECK(log.find("warning", "key changes are saved again").size() == 1);
    CHECK(store.save());

    NodeStore again(dir);
    const auto report = again.load(true);
    CHECK(report.errors.empty());
    CHECK(report.warnings.empty());
    CHECK(again.find(1000)->key_state() == KeyState::pinned);
    CHECK(again.find(1001)->key_state() == KeyState::pinned);
}

TEST_CASE("a full disk under the running bot: an error in the log and in meshbot status",
          "[store][full_disk]") {
    TinyDisk disk("1m");
    SimProcess sim({.nodes = 3});
    TempDir config_dir;
    const auto config = config_dir.write(
        "meshbot.toml", config_for(sim, "dirs = []", {},
                                   "[bot]\ndata_dir = " + quoted(disk.path() / "data") + "\n"));
    ChildProcess bot({bin_path("meshbot").string(), "--config", config.string()});
    REQUIRE(bot.wait_for_line("ready: node", 10s));
    const auto status = [&config] {
        ChildProcess cli({bin_path("meshbot").string(), "status", "--config", config.string()});
        const auto code = cli.wait_exit(15s);
        REQUIRE(code);
        cli.wait_for_line("\x01never printed", 5s);  // the reader drains the pipe
        return std::make_pair(*code, cli.output());
    };
    const auto healthy = status();
    CHECK(healthy.first == 0);
    CHECK_THAT(healthy.second, Catch::Contains("keys: saved"));

    // The journal's last page may still have room: new nodes until one needs another page.
    disk.fill();
    bool refused = false;
    for (int i = 1; i <= 80 && !refused; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "!2000%04x", i);
        const auto from = bot.line_count();
        sim.command(std::string("nodeinfo from=") + id + " key=" + std::string(64, 'c'));
        // Its debug "key pinned for" line, or the error naming it.
        const auto line = bot.wait_for_line_after(from, id, 10s);
        REQUIRE(line);
        refused = line->find("KEYS ARE NOT BEING SAVED") != std::string::npos;
    }
    REQUIRE(refused);
    const auto failing = status();
    CHECK(failing.first == 1);
    CHECK_THAT(failing.second, Catch::Contains("keys: NOT BEING SAVED") &&
                                   Catch::Contains("No space left on device"));

    disk.free_space();
    sim.command("nodeinfo from=!10000001");  // any change retries
    CHECK(bot.wait_for_line("key changes are saved again", 10s));
    const auto recovered = status();
    CHECK(recovered.first == 0);
    CHECK_THAT(recovered.second, Catch::Contains("keys: saved"));
    bot.send_signal(SIGTERM);
    CHECK(bot.wait_exit(15s) == 0);
}
