// The node store and key sync at 1,000 / 10,000 / 100,000 nodes: load time, the periodic key
// check when nothing changed, the reconnect diff, and resident memory per stored node.
// Prints figures; asserts nothing (bench/README.md records them).
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <sys/wait.h>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "nodes/key_sync.hpp"
#include "nodes/node_store.hpp"
#include "proc_status.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using meshbot::nodes::KeySync;
using meshbot::nodes::NodeStore;

namespace {

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A radio NodeDB of n nodes with names, keys, positions and metrics, like a busy mesh.
meshbot::radio::RadioInfo radio_of(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    meshbot::radio::RadioInfo radio;
    radio.my_node_num = 0x0badc0de;
    radio.own_user.set_short_name("SIM");
    radio.own_user.set_public_key(std::string(32, 'S'));
    for (std::size_t i = 0; i < n; ++i) {
        const auto num = static_cast<std::uint32_t>(0x10000000 + i);
        meshbot::pb::NodeInfo& info = radio.nodes[num];
        info.set_num(num);
        char name[32];
        std::snprintf(name, sizeof name, "Meshtastic %04zx", i & 0xFFFF);
        info.mutable_user()->set_long_name(name);
        info.mutable_user()->set_short_name(std::string(name + 11, 4));
        std::string key(32, '\0');
        for (auto& c : key)
            c = static_cast<char>(rng());
        info.mutable_user()->set_public_key(key);
        info.mutable_user()->set_hw_model(9);
        info.set_last_heard(1'790'000'000 + static_cast<std::uint32_t>(i));
        info.set_snr(5.25f);
        info.set_hops_away(static_cast<std::uint32_t>(i % 4));
        info.mutable_position()->set_latitude_i(473'000'000 + static_cast<std::int32_t>(i));
        info.mutable_position()->set_longitude_i(85'000'000);
        info.mutable_device_metrics()->set_battery_level(80);
        info.mutable_device_metrics()->set_uptime_seconds(3600);
    }
    return radio;
}

// Child mode: load the store in `dir` and print "<rss kB before> <rss kB after> <nodes>". The
// file's bytes and the parsed snapshot are freed after loading; malloc_trim hands those pages
// back so that what is left is what the store keeps.
int load_child(const char* dir) {
    const long before = meshbot::bench::status_kb(getpid(), "VmRSS");
    NodeStore store{fs::path(dir)};
    store.load(true);
    ::malloc_trim(0);
    const long after = meshbot::bench::status_kb(getpid(), "VmRSS");
    std::printf("%ld %ld %zu\n", before, after, store.size());
    return 0;
}

// Runs this program in child mode (a fresh process, so no freed heap of ours is reused).
double rss_bytes_per_node(const char* self, const fs::path& dir, std::size_t n) {
    const std::string command = std::string(self) + " --load-child " + dir.string();
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return -1;
    long before = 0, after = 0;
    std::size_t loaded = 0;
    const int got = std::fscanf(pipe, "%ld %ld %zu", &before, &after, &loaded);
    ::pclose(pipe);
    if (got != 3 || loaded == 0) return -1;
    return static_cast<double>(after - before) * 1024.0 / static_cast<double>(n);
}

void run(const char* self, std::size_t n) {
    const fs::path dir =
        fs::temp_directory_path() / ("meshbot-store-bench-" + std::to_string(getpid()));
    fs::remove_all(dir);
    const auto radio = radio_of(n, n);

    double save_ms = 0;
    {
        NodeStore store(dir);
        store.load();
        auto start = Clock::now();
        store.on_handshake(radio);  // n first keys: one journal write, one fsync
        const double learn_ms = ms_since(start);
        start = Clock::now();
        store.save();
        save_ms = ms_since(start);
        std::printf("%7zu nodes  first handshake (pin + journal) %8.1f ms", n, learn_ms);
    }
    std::printf("  snapshot %7.1f ms (%5.1f MB)\n", save_ms,
                static_cast<double>(fs::file_size(dir / "nodes.db")) / 1e6);

    std::vector<double> loads;
    for (int i = 0; i < 3; ++i) {
        NodeStore store(dir);
        const auto start = Clock::now();
        store.load(true);
        loads.push_back(ms_since(start));
    }
    std::sort(loads.begin(), loads.end());

    NodeStore store(dir);
    store.load(true);
    boost::asio::io_context io;
    meshbot::config::AppConfig config;
    KeySync sync(io.get_executor(), config, store,
                 [](meshbot::pb::MeshPacket, meshbot::radio::SendCallback) { return 1u; });
    // A radio that lost every tenth key: the diff has work to report.
    auto lossy = radio;
    for (auto& [num, info] : lossy.nodes)
        if (num % 10 == 0) info.mutable_user()->clear_public_key();
    auto start = Clock::now();
    sync.on_ready(lossy);
    const double reconnect_ms = ms_since(start);
    start = Clock::now();
    const auto diff = sync.diff();
    const double diff_ms = ms_since(start);

    sync.check();  // runs once (first check after connecting is a no-op too)
    constexpr int kChecks = 10'000'000;
    start = Clock::now();
    for (int i = 0; i < kChecks; ++i)
        sync.check();
    const double check_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kChecks;

    std::printf(
        "         load %7.1f ms (median of 3)  unchanged check %5.1f ns  reconnect (view + diff) "
        "%6.1f ms  diff alone %6.1f ms (%zu missing)  RSS %6.0f B/node\n",
        loads[1], check_ns, reconnect_ms, diff_ms, diff.missing, rss_bytes_per_node(self, dir, n));
    fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--load-child") return load_child(argv[2]);
    spdlog::set_level(spdlog::level::warn);  // the store logs every first key at debug/info
    std::printf(
        "node store and key sync (targets: load of 100,000 < 500 ms, unchanged check "
        "< 1 us at any N, < 1 KB RSS per node)\n");
    for (const std::size_t n : {1'000u, 10'000u, 100'000u})
        run(argv[0], n);
    return 0;
}
