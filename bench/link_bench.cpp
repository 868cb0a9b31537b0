// Time from connect to ready against meshbot-sim with 250, 1,000 and 10,000 nodes (in-process
// link, loopback), and the peak RSS of the meshbot executable after a 250-node handshake.
// Run from the build tree: build/bin/link_bench (it finds meshbot-sim and meshbot beside it).
#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "proc_status.hpp"
#include "radio/radio_link.hpp"

namespace bp = boost::process;
using namespace meshbot;
using Clock = std::chrono::steady_clock;

namespace {

std::filesystem::path bin_dir;

// A running meshbot-sim and the port it listens on.
struct Sim {
    bp::ipstream out;
    bp::opstream in;
    bp::child child;
    std::uint16_t port = 0;

    explicit Sim(int nodes)
        : child((bin_dir / "meshbot-sim").string(), "--port", "0", "--nodes", std::to_string(nodes),
                bp::std_out > out, bp::std_in<in, bp::std_err> bp::null) {
        std::string line;
        std::getline(out, line);
        std::smatch m;
        static const std::regex pattern(R"(listening on 127\.0\.0\.1:(\d+))");
        if (!std::regex_search(line, m, pattern)) throw std::runtime_error("sim: " + line);
        port = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    ~Sim() {
        child.terminate();
        child.wait();
    }
};

double connect_to_ready_ms(std::uint16_t port) {
    boost::asio::io_context io;
    config::RadioConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    Clock::time_point ready_at{};
    radio::RadioLink::Handlers handlers;
    handlers.on_ready = [&](const radio::RadioInfo&) { ready_at = Clock::now(); };
    radio::RadioLink link(io.get_executor(), c, handlers);
    const auto start = Clock::now();
    link.start();
    while (ready_at == Clock::time_point{} && Clock::now() - start < std::chrono::seconds(30)) {
        io.run_one_for(std::chrono::milliseconds(100));
    }
    bool stopped = false;
    link.stop([&] { stopped = true; });
    while (!stopped)
        io.run_one_for(std::chrono::milliseconds(100));
    return std::chrono::duration<double, std::milli>(ready_at - start).count();
}

void bot_peak_rss(int nodes) {
    Sim sim(nodes);
    const auto config = std::filesystem::temp_directory_path() / "meshbot-bench.toml";
    std::ofstream(config) << "[radio]\nhost = \"127.0.0.1\"\nport = " << sim.port
                          << "\n[log]\nlevel = \"info\"\n";
    bp::ipstream out;
    bp::child bot((bin_dir / "meshbot").string(), "--config", config.string(), bp::std_out > out);
    std::string line;
    while (std::getline(out, line) && line.find("ready: node") == std::string::npos) {
    }
    // Let it log the node list and settle.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::printf("meshbot after a %d-node handshake: peak RSS (VmHWM) %.1f MB, RSS %.1f MB\n", nodes,
                bench::status_kb(bot.id(), "VmHWM") / 1024.0,
                bench::status_kb(bot.id(), "VmRSS") / 1024.0);
    bot.terminate();
    bot.wait();
    std::filesystem::remove(config);
}

}  // namespace

int main(int, char** argv) {
    bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path();
    (void)argv;
    spdlog::set_level(spdlog::level::warn);
    for (int nodes : {250, 1000, 10000}) {
        Sim sim(nodes);
        std::vector<double> runs;
        for (int i = 0; i < 7; ++i)
            runs.push_back(connect_to_ready_ms(sim.port));
        std::sort(runs.begin(), runs.end());
        std::printf(
            "connect -> ready with %5d nodes: median %7.2f ms, min %7.2f ms, max %7.2f ms (7 "
            "runs)\n",
            nodes, runs[runs.size() / 2], runs.front(), runs.back());
    }
    bot_peak_rss(250);
    return 0;
}
