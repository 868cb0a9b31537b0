// Command dispatch latency: from a command frame leaving the (fake) radio to the first reply
// frame arriving back, through the real Bot (link, session, router, plugin host, echo plugin,
// outbox), text pacing disabled. 10,000 commands, one at a time. Then the peak RSS of the
// meshbot executable with three plugins loaded, against meshbot-sim.
// Run from the build tree: build/bin/dispatch_bench
#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

void dispatch_latency() {
    asio::io_context radio_io;
    tcp::acceptor acceptor(radio_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));

    config::AppConfig config;
    config.radio.port = acceptor.local_endpoint().port();
    config.radio.text_gap = config::Seconds(0);  // pacing off: this measures the dispatch path
    config.radio.replay_tail = config::Seconds(0);
    config.commands.rate_limit = 1000000;
    config.bot.data_dir.clear();
    config.plugins.dirs = {build_dir / "plugins"};
    config.plugins.enabled = std::vector<std::string>{"echo"};

    asio::io_context io;
    app::Bot bot(io.get_executor(), config);
    asio::post(io, [&] {
        bot.load_plugins();
        bot.start();
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
    std::printf(
        "dispatch latency over %d commands (frame in -> first reply frame out, pacing off): "
        "p50 %.1f us, p99 %.1f us, max %.1f us\n",
        kCommands, pct(0.50), pct(0.99), micros.back());

    asio::post(io, [&] { bot.stop([&] { io.stop(); }); });
    loop.join();
}

void peak_rss_with_three_plugins() {
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
    std::ofstream(config)
        << "[radio]\nport = " << m[1] << "\n[bot]\ndata_dir = \""
        << (std::filesystem::temp_directory_path() / "meshbot-bench-data").string()
        << "\"\n[plugins]\ndirs = [\"" << (build_dir / "plugins").string() << "\", \""
        << (build_dir / "tests/test_plugins").string() << "\"]\n[log]\nlevel = \"info\"\n";
    bp::ipstream out;
    bp::child bot((build_dir / "bin/meshbot").string(), "--config", config.string(),
                  bp::std_out > out);
    int plugins = 0;
    while (std::getline(out, line) && line.find("ready: node") == std::string::npos) {
        if (line.find(": loaded from") != std::string::npos) ++plugins;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::printf(
        "meshbot with %d plugins loaded, after a 250-node handshake: peak RSS (VmHWM) %.1f MB\n",
        plugins, bench::status_kb(bot.id(), "VmHWM") / 1024.0);
    bot.terminate();
    bot.wait();
    sim.terminate();
    sim.wait();
    std::filesystem::remove(config);
}

}  // namespace

int main() {
    build_dir = std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
    spdlog::set_level(spdlog::level::warn);
    loopback_baseline();
    dispatch_latency();
    peak_rss_with_three_plugins();
    return 0;
}
