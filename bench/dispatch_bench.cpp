// Command dispatch latency: from a command frame leaving the (fake) radio to the first reply
// frame arriving back, through the real Bot (link, session, router, plugin host, echo plugin,
// outbox), text pacing disabled. 10,000 commands, one at a time, with echo in the bot's process
// and then in its own runner process, in the same run. Then the memory of the meshbot
// executable with the three bundled plugins, in the bot and out of process, against meshbot-sim.
// Run from the build tree: build/bin/dispatch_bench
#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "app/bot.hpp"
#include "proc_status.hpp"
#include "radio/frame_codec.hpp"

namespace asio = boost::asio;
namespace bp = boost::process;
using namespace meshbot;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kMyNode = 0x0badc0de;
std::filesystem::path build_dir;

// A minimal radio on a blocking socket: the handshake, then queueStatus for every packet.
class FakeRadio {
public:
    explicit FakeRadio(tcp::acceptor& acceptor) : socket_(acceptor.get_executor()) {
        acceptor.accept(socket_);
        socket_.set_option(tcp::no_delay(true));  // else Nagle + delayed ACKs add 40 ms
    }

    pb::ToRadio read() {
        std::array<std::uint8_t, 4> header{};
        asio::read(socket_, asio::buffer(header));
        const std::size_t size = (std::size_t{header[2]} << 8) | header[3];
        std::string payload(size, '\0');
        asio::read(socket_, asio::buffer(payload));
        pb::ToRadio message;
        message.ParseFromString(payload);
        return message;
    }
    void write(const pb::FromRadio& message) {
        const auto frame = radio::encode_frame(message.SerializeAsString());
        asio::write(socket_, asio::buffer(frame));
    }
    void handshake() {
        pb::ToRadio request;
        do
            request = read();
        while (!request.has_want_config_id());
        pb::FromRadio m;
        m.mutable_my_info()->set_my_node_num(kMyNode);
        write(m);
        m.Clear();
        m.mutable_node_info()->set_num(kMyNode);
        m.mutable_node_info()->mutable_user()->set_short_name("BOT");
        write(m);
        m.Clear();
        m.mutable_metadata()->set_firmware_version("2.7.26.bench");
        write(m);
        m.Clear();
        m.mutable_config()->mutable_lora()->set_hop_limit(3);
        write(m);
        for (std::uint32_t n = 1; n <= 3; ++n) {
            m.Clear();
            m.mutable_node_info()->set_num(0x10000000 + n);
            m.mutable_node_info()->mutable_user()->set_short_name("N00" + std::to_string(n));
            write(m);
        }
        m.Clear();
        m.set_config_complete_id(request.want_config_id());
        write(m);
    }
    // Sends a command and returns the time until the bot's first packet comes back.
    Clock::duration command(std::uint32_t id, const std::string& text) {
        pb::FromRadio m;
        auto* p = m.mutable_packet();
        p->set_from(0x10000001);
        p->set_to(kMyNode);
        p->set_id(id);
        p->mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
        p->mutable_decoded()->set_payload(text);
        const auto start = Clock::now();
        write(m);
        for (;;) {
            const pb::ToRadio reply = read();
            if (!reply.has_packet()) continue;  // heartbeats
            const auto took = Clock::now() - start;
            pb::FromRadio status;
            status.mutable_queuestatus()->set_free(15);
            status.mutable_queuestatus()->set_maxlen(16);
            status.mutable_queuestatus()->set_mesh_packet_id(reply.packet().id());
            write(status);
            return took;
        }
    }

private:
    tcp::socket socket_;
};

// The floor under the figure above: the same frames bounced by a thread that only echoes
// them back (two threads, loopback TCP, no bot).
void loopback_baseline() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::thread echo([&] {
        asio::io_context client_io;
        tcp::socket s(client_io);
        s.connect(acceptor.local_endpoint());
        s.set_option(tcp::no_delay(true));
        std::array<std::uint8_t, 4> header{};
        std::vector<std::uint8_t> payload;
        boost::system::error_code ec;
        while (asio::read(s, asio::buffer(header), ec) == 4) {
            payload.resize((std::size_t{header[2]} << 8) | header[3]);
            asio::read(s, asio::buffer(payload), ec);
            asio::write(s, asio::buffer(header), ec);
            asio::write(s, asio::buffer(payload), ec);
        }
    });
    tcp::socket s(io);
    acceptor.accept(s);
    s.set_option(tcp::no_delay(true));
    const auto frame = radio::encode_frame(std::string(40, 'x'));
    std::vector<double> micros;
    std::vector<std::uint8_t> back(frame.size());
    for (int i = 0; i < 10200; ++i) {
        const auto start = Clock::now();
        asio::write(s, asio::buffer(frame));
        asio::read(s, asio::buffer(back));
        if (i >= 200)
            micros.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    s.close();
    echo.join();
    std::sort(micros.begin(), micros.end());
    std::printf(
        "baseline, a frame bounced by a bare thread over loopback: p50 %.1f us, p99 %.1f us, max "
        "%.1f us\n",
        micros[micros.size() / 2], micros[micros.size() * 99 / 100], micros.back());
}

// The floor under what a runner process adds: a message bounced by another process over a
// socketpair, as the host and a runner talk (two process wake-ups per round trip).
void process_baseline() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return;
    const pid_t child = ::fork();  // before any thread of the benchmark exists
    if (child == 0) {
        ::close(pair[0]);
        char buffer[64];
        for (;;) {
            const ssize_t n = ::read(pair[1], buffer, sizeof buffer);
            if (n <= 0 || ::write(pair[1], buffer, static_cast<std::size_t>(n)) != n) ::_exit(0);
        }
    }
    ::close(pair[1]);
    std::vector<double> micros;
    char message[48] = {0};
    for (int i = 0; i < 10200; ++i) {
        const auto start = Clock::now();
        if (::write(pair[0], message, sizeof message) != sizeof message) break;
        std::size_t got = 0;
        while (got < sizeof message) {
            const ssize_t n = ::read(pair[0], message + got, sizeof message - got);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        if (i >= 200)
            micros.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    ::close(pair[0]);
    ::waitpid(child, nullptr, 0);
    std::sort(micros.begin(), micros.end());
    std::printf(
        "baseline, a message bounced by another process over a socketpair: p50 %.1f us, p99 "
        "%.1f us\n",
        micros[micros.size() / 2], micros[micros.size() * 99 / 100]);
}

struct Latency {
    double p50, p99, max;
};

const char* describe(config::Isolation isolation, bool sandbox) {
    if (isolation == config::Isolation::none) return "in the bot's process";
    return sandbox ? "in a sandboxed runner process" : "in a runner process, sandbox off";
}

Latency dispatch_latency(config::Isolation isolation, bool sandbox) {
    asio::io_context radio_io;
    tcp::acceptor acceptor(radio_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));

    config::AppConfig config;
    config.radio.port = acceptor.local_endpoint().port();
    config.radio.text_gap = config::Seconds(0);  // pacing off: this measures the dispatch path
    config.commands.rate_limit = 1000000;
    config.bot.data_dir.clear();
    config.plugins.dirs = {build_dir / "plugins"};
    config.plugins.enabled = std::vector<std::string>{"echo"};
    config.plugins.isolation = isolation;
    config.plugins.sandbox = sandbox;

    asio::io_context io;
    app::Bot bot(io.get_executor(), config);
    asio::steady_timer settle(io);
    std::function<void()> start_when_settled = [&] {
        if (bot.plugins().settled()) return bot.start();
        settle.expires_after(std::chrono::milliseconds(1));
        settle.async_wait([&](boost::system::error_code) { start_when_settled(); });
    };
    asio::post(io, [&] {
        bot.load_plugins();
        start_when_settled();
    });
    std::thread loop([&] { io.run(); });

    FakeRadio radio(acceptor);
    radio.handshake();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));

    constexpr int kCommands = 10000;
    std::vector<double> micros;
    micros.reserve(kCommands);
    for (int i = 0; i < 200; ++i)
        radio.command(1000 + i, "/echo warm-up " + std::to_string(i));
    for (int i = 0; i < kCommands; ++i) {
        const auto took = radio.command(100000 + i, "/echo number " + std::to_string(i));
        micros.push_back(std::chrono::duration<double, std::micro>(took).count());
    }
    std::sort(micros.begin(), micros.end());
    auto pct = [&](double p) { return micros[static_cast<std::size_t>(p * (micros.size() - 1))]; };
    const Latency result{pct(0.50), pct(0.99), micros.back()};
    std::printf(
        "dispatch latency, echo %s, over %d commands (frame in -> first reply frame out, pacing "
        "off): p50 %.1f us, p99 %.1f us, max %.1f us\n",
        describe(isolation, sandbox), kCommands, result.p50, result.p99, result.max);

    asio::post(io, [&] { bot.stop([&] { io.stop(); }); });
    loop.join();
    return result;
}

// From load_plugins() to the echo plugin loaded in its runner: spawn, sandbox, dlopen, create.
void startup_time(bool sandbox) {
    constexpr int kStarts = 30;
    std::vector<double> millis;
    for (int i = 0; i < kStarts; ++i) {
        config::AppConfig config;
        config.bot.data_dir = std::filesystem::temp_directory_path() / "meshbot-bench-startup";
        config.plugins.dirs = {build_dir / "plugins"};
        config.plugins.enabled = std::vector<std::string>{"echo"};
        config.plugins.sandbox = sandbox;
        asio::io_context io;
        app::Bot bot(io.get_executor(), config);
        const auto start = std::chrono::steady_clock::now();
        bot.load_plugins();
        while (!bot.plugins().settled())
            io.run_one_for(std::chrono::milliseconds(100));
        millis.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
        bot.plugins().unload_all();
    }
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / "meshbot-bench-startup");
    std::sort(millis.begin(), millis.end());
    std::printf(
        "runner start-up (spawn to echo created), %s, %d starts: p50 %.2f ms, max %.2f ms\n",
        sandbox ? "all sandbox layers" : "sandbox off", kStarts, millis[millis.size() / 2],
        millis.back());
}

// Proportional set size: shared library pages count once across the processes that map them.
long pss_kb(int pid) {
    std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string line;
    while (std::getline(rollup, line)) {
        if (line.rfind("Pss:", 0) == 0) return std::stol(line.substr(4));
    }
    return -1;
}

void memory_with_bundled_plugins(const char* isolation) {
    bp::ipstream sim_out;
    bp::opstream sim_in;
    bp::child sim((build_dir / "bin/meshbot-sim").string(), "--port", "0", "--nodes", "250",
                  bp::std_out > sim_out, bp::std_in<sim_in, bp::std_err> bp::null);
    std::string line;
    std::getline(sim_out, line);
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(:(\d+)$)")))
        throw std::runtime_error("sim: " + line);
    const auto config = std::filesystem::temp_directory_path() / "meshbot-dispatch-bench.toml";
    const auto data = std::filesystem::temp_directory_path() / "meshbot-bench-data";
    std::filesystem::remove_all(data);
    std::ofstream(config) << "[radio]\nport = " << m[1] << "\n[bot]\ndata_dir = \"" << data.string()
                          << "\"\n[plugins]\nisolation = \"" << isolation << "\"\ndirs = [\""
                          << (build_dir / "plugins").string() << "\"]\n[log]\nlevel = \"info\"\n";
    bp::ipstream out;
    bp::child bot((build_dir / "bin/meshbot").string(), "--config", config.string(),
                  bp::std_out > out);
    std::vector<int> runners;
    const std::regex runner_pid(R"(runner pid (\d+))");
    int plugins = 0;
    while (std::getline(out, line) && line.find("ready: node") == std::string::npos) {
        if (line.find(": loaded from") == std::string::npos) continue;
        ++plugins;
        if (std::regex_search(line, m, runner_pid)) runners.push_back(std::stoi(m[1]));
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const int self = bot.id();
    long rss = bench::status_kb(self, "VmRSS"), pss = pss_kb(self);
    std::printf(
        "meshbot, %d bundled plugins %s, after a 250-node handshake: RSS %.1f MB (peak "
        "%.1f MB), PSS %.1f MB\n",
        plugins, std::string(isolation) == "none" ? "in its process" : "in runners", rss / 1024.0,
        bench::status_kb(self, "VmHWM") / 1024.0, pss / 1024.0);
    for (const int pid : runners) {
        const long r = bench::status_kb(pid, "VmRSS"), p = pss_kb(pid);
        std::printf("  runner %d after init: RSS %.1f MB, PSS %.1f MB\n", pid, r / 1024.0,
                    p / 1024.0);
        rss += r;
        pss += p;
    }
    if (!runners.empty()) {
        std::printf(
            "  bot and runners in all: RSS %.1f MB (shared pages counted per process), "
            "PSS %.1f MB\n",
            rss / 1024.0, pss / 1024.0);
    }
    bot.terminate();
    bot.wait();
    sim.terminate();
    sim.wait();
    std::filesystem::remove(config);
    std::filesystem::remove_all(data);
}

}  // namespace

int main() {
    build_dir = std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
    spdlog::set_level(spdlog::level::warn);
    process_baseline();
    loopback_baseline();
    const Latency in_bot = dispatch_latency(config::Isolation::none, false);
    const Latency bare = dispatch_latency(config::Isolation::process, false);
    const Latency runner = dispatch_latency(config::Isolation::process, true);
    std::printf("a runner process adds: p50 %+.1f us, p99 %+.1f us (goal: at most 50 and 150)\n",
                runner.p50 - in_bot.p50, runner.p99 - in_bot.p99);
    std::printf("the sandbox adds, beyond the process boundary: p50 %+.1f us, p99 %+.1f us\n",
                runner.p50 - bare.p50, runner.p99 - bare.p99);
    spdlog::set_level(spdlog::level::err);  // "sandbox: off" at every start is expected here
    startup_time(false);
    startup_time(true);
    spdlog::set_level(spdlog::level::warn);
    memory_with_bundled_plugins("none");
    memory_with_bundled_plugins("process");
    return 0;
}
