// The virtual node under load: a scripted radio streams 100 text packets a second to the real
// meshbot daemon, which relays them to 10 connected API clients. Prints the latency from the
// radio's write to each client's read (p50/p99), the same path without the bot (one loopback
// hop) for comparison, and the bot's CPU and memory meanwhile.
// Run from the repository root: build/bin/proxy_latency [CLIENTS] [RATE] [SECONDS]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/process.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config.pb.h"
#include "mesh.pb.h"
#include "portnums.pb.h"
#include "proc_status.hpp"
#include "radio/frame_codec.hpp"

namespace bp = boost::process;
using namespace meshbot;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kRadioNode = 0x0badc0de;
constexpr std::uint32_t kSender = 0x10000001;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

void write_frame(int fd, const pb::FromRadio& message) {
    const auto frame = radio::encode_frame(message.SerializeAsString());
    if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) < 0) throw std::runtime_error("send");
}

void write_frame(int fd, const pb::ToRadio& message) {
    const auto frame = radio::encode_frame(message.SerializeAsString());
    if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) < 0) throw std::runtime_error("send");
}

int listen_loopback(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0)
        throw std::runtime_error("listen");
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("connect to " + std::to_string(port));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// Reads frames from `fd` until `stop` says so or the peer closes; hands each decoded message on.
template <typename Message, typename Sink>
void read_frames(int fd, Sink&& sink) {
    std::vector<std::uint8_t> buffer(8192);
    bool done = false;
    radio::FrameDecoder decoder([&](std::span<const std::uint8_t> payload) {
        Message m;
        if (m.ParseFromArray(payload.data(), static_cast<int>(payload.size())) && !sink(m))
            done = true;
    });
    while (!done) {
        const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) return;
        decoder.feed(std::span(buffer.data(), static_cast<std::size_t>(n)));
    }
}

// A radio that serves one client (the newest) the firmware's handshake, answers heartbeats, and
// streams texts on request, noting when it wrote each.
class ScriptedRadio {
public:
    explicit ScriptedRadio(std::size_t packets) : sent_(packets) {
        listen_fd_ = listen_loopback(port_);
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptedRadio() {
        stop_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        ::close(listen_fd_);
        if (const int fd = client_fd_.exchange(-1); fd >= 0) ::shutdown(fd, SHUT_RDWR);
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    bool wait_ready(std::chrono::seconds timeout) const {
        const auto deadline = Clock::now() + timeout;
        while (!ready_ && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return ready_;
    }
    // Writes `count` texts at `rate` per second, paced by the clock (not by sleeps adding up).
    void stream(std::size_t count, double rate) {
        const int fd = client_fd_;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < count; ++i) {
            std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double>(i / rate)));
            pb::FromRadio m;
            auto& p = *m.mutable_packet();
            p.set_from(kSender);
            p.set_to(0xFFFFFFFF);
            p.set_id(0x01000000 + static_cast<std::uint32_t>(i));
            p.set_rx_time(static_cast<std::uint32_t>(std::time(nullptr)));
            p.mutable_decoded()->set_portnum(pb::TEXT_MESSAGE_APP);
            p.mutable_decoded()->set_payload("bench " + std::to_string(i));
            std::lock_guard lock(write_mutex_);
            sent_[i] = now_ns();
            write_frame(fd, m);
        }
    }
    std::int64_t sent_at(std::size_t i) const { return sent_[i]; }

private:
    void serve() {
        while (!stop_) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            client_fd_ = fd;
            read_frames<pb::ToRadio>(fd, [&](const pb::ToRadio& m) {
                if (m.has_want_config_id()) handshake(fd, m.want_config_id());
                if (m.has_heartbeat()) {
                    pb::FromRadio q;
                    q.mutable_queuestatus()->set_free(16);
                    q.mutable_queuestatus()->set_maxlen(16);
                    std::lock_guard lock(write_mutex_);
                    write_frame(fd, q);
                }
                return !stop_;
            });
            ::close(fd);
        }
    }
    void handshake(int fd, std::uint32_t nonce) {
        std::lock_guard lock(write_mutex_);
        pb::FromRadio m;
        m.mutable_my_info()->set_my_node_num(kRadioNode);
        write_frame(fd, m);
        m.Clear();
        m.mutable_node_info()->set_num(kRadioNode);
        m.mutable_node_info()->mutable_user()->set_short_name("BNCH");
        write_frame(fd, m);
        m.Clear();
        m.mutable_metadata()->set_firmware_version("2.7.26.bench");
        write_frame(fd, m);
        for (int i = 0; i < 8; ++i) {
            m.Clear();
            m.mutable_channel()->set_index(i);
            m.mutable_channel()->set_role(i == 0 ? pb::Channel::PRIMARY : pb::Channel::DISABLED);
            write_frame(fd, m);
        }
        m.Clear();
        m.mutable_config()->mutable_lora()->set_hop_limit(3);
        write_frame(fd, m);
        m.Clear();
        m.mutable_node_info()->set_num(kSender);
        m.mutable_node_info()->mutable_user()->set_short_name("SNDR");
        write_frame(fd, m);
        m.Clear();
        m.set_config_complete_id(nonce);
        write_frame(fd, m);
        ready_ = true;
    }

    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<int> client_fd_{-1};
    std::atomic<bool> stop_{false};
    std::atomic<bool> ready_{false};
    std::mutex write_mutex_;
    std::vector<std::int64_t> sent_;
    std::thread thread_;
};

// An API client: handshake, then the arrival time of each streamed text by its number.
class Client {
public:
    Client(std::uint16_t port, std::size_t packets) : arrived_(packets) {
        fd_ = connect_loopback(port);
        pb::ToRadio want;
        want.set_want_config_id(4242);
        write_frame(fd_, want);
        thread_ = std::thread([this] {
            read_frames<pb::FromRadio>(fd_, [&](const pb::FromRadio& m) {
                if (m.config_complete_id() == 4242) configured_ = true;
                const auto& payload = m.packet().decoded().payload();
                if (m.has_packet() && payload.rfind("bench ", 0) == 0) {
                    const auto i = std::stoul(payload.substr(6));
                    if (i < arrived_.size()) arrived_[i].store(now_ns());
                    ++received_;
                }
                return true;
            });
        });
    }
    ~Client() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    bool configured() const { return configured_; }
    std::size_t received() const { return received_; }
    std::int64_t arrived(std::size_t i) const { return arrived_[i].load(); }

private:
    int fd_ = -1;
    std::atomic<bool> configured_{false};
    std::atomic<std::size_t> received_{0};
    std::vector<std::atomic<std::int64_t>> arrived_;  // 0: not (yet) arrived
    std::thread thread_;
};

struct Percentiles {
    double p50 = 0, p99 = 0, max = 0;
    std::size_t samples = 0, missing = 0;
};

Percentiles latencies(const ScriptedRadio& radio, const std::vector<Client*>& clients,
                      std::size_t packets) {
    std::vector<double> us;
    Percentiles out;
    for (const Client* c : clients) {
        for (std::size_t i = 0; i < packets; ++i) {
            if (c->arrived(i) == 0) {
                ++out.missing;
                continue;
            }
            us.push_back(static_cast<double>(c->arrived(i) - radio.sent_at(i)) / 1000.0);
        }
    }
    std::sort(us.begin(), us.end());
    out.samples = us.size();
    if (us.empty()) return out;
    out.p50 = us[us.size() / 2];
    out.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    out.max = us.back();
    return out;
}

bool wait_all(const std::vector<Client*>& clients, std::size_t packets, std::chrono::seconds t) {
    const auto deadline = Clock::now() + t;
    while (Clock::now() < deadline) {
        if (std::all_of(clients.begin(), clients.end(),
                        [&](const Client* c) { return c->received() >= packets; }))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// CPU seconds of `pid`, and with `children` of the processes it started (the plugin runners).
double cpu_seconds(int pid, bool children = false) {
    double total = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;  // not a process
        std::ifstream stat(entry.path() / "stat");
        std::string text((std::istreambuf_iterator<char>(stat)), {});
        const auto close = text.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream fields(text.substr(close + 2));
        std::string state;
        int ppid = 0;
        fields >> state >> ppid;
        const bool self = entry.path().filename() == std::to_string(pid);
        if (!self && !(children && ppid == pid)) continue;
        std::string skip;
        unsigned long utime = 0, stime = 0;
        for (int i = 0; i < 9; ++i)
            fields >> skip;
        fields >> utime >> stime;
        total += static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    }
    return total;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t clients = argc > 1 ? std::stoul(argv[1]) : 10;
    const double rate = argc > 2 ? std::stod(argv[2]) : 100.0;
    const double seconds = argc > 3 ? std::stod(argv[3]) : 20.0;
    const auto packets = static_cast<std::size_t>(rate * seconds);
    const auto bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path();

    // Without the bot: the scripted radio straight to one client, one loopback hop.
    double direct_p50 = 0, direct_p99 = 0;
    {
        ScriptedRadio radio(packets);
        Client direct(radio.port(), packets);
        if (!radio.wait_ready(std::chrono::seconds(5))) throw std::runtime_error("no handshake");
        radio.stream(packets, rate);
        std::vector<Client*> one{&direct};
        if (!wait_all(one, packets, std::chrono::seconds(10)))
            std::printf("baseline: some packets did not arrive\n");
        const auto p = latencies(radio, one, packets);
        direct_p50 = p.p50;
        direct_p99 = p.p99;
    }

    ScriptedRadio radio(packets);
    const auto dir = std::filesystem::temp_directory_path() /
                     ("meshbot-proxy-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    // Log level info: the bot's log names the port its virtual node bound.
    const std::string config = (dir / "meshbot.toml").string();
    std::ofstream(config) << "[radio]\nhost = \"127.0.0.1\"\nport = " << radio.port()
                          << "\n[bot]\ndata_dir = \"" << (dir / "data").string()
                          << "\"\n[log]\nlevel = \"info\"\n[http]\nlisten = \"\"\n"
                          << "[proxy]\nlisten = \"127.0.0.1:0\"\n[plugins]\ndirs = [\""
                          << (bin_dir.parent_path() / "plugins").string()
                          << "\"]\ndefault_dirs = false\nenabled = [\"echo\"]\n";
    bp::ipstream out;
    bp::child bot((bin_dir / "meshbot").string(), "--config", config, bp::std_out > out,
                  bp::std_err > bp::null);
    std::uint16_t port = 0;
    std::string line;
    static const std::regex pattern(R"(virtual node listening on 127\.0\.0\.1:(\d+))");
    while (port == 0 && std::getline(out, line)) {
        std::smatch m;
        if (std::regex_search(line, m, pattern)) port = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    std::thread drain([&out] {
        std::string l;
        while (std::getline(out, l)) {
        }
    });
    if (!radio.wait_ready(std::chrono::seconds(10))) throw std::runtime_error("bot: no handshake");

    std::vector<std::unique_ptr<Client>> owned;
    std::vector<Client*> all;
    for (std::size_t i = 0; i < clients; ++i) {
        owned.push_back(std::make_unique<Client>(port, packets));
        all.push_back(owned.back().get());
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline &&
           !std::all_of(all.begin(), all.end(), [](const Client* c) { return c->configured(); }))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));

    const int pid = bot.id();
    const double cpu_before = cpu_seconds(pid);
    const double all_before = cpu_seconds(pid, true);
    const auto t0 = Clock::now();
    radio.stream(packets, rate);
    const bool complete = wait_all(all, packets, std::chrono::seconds(10));
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds(pid) - cpu_before;
    const double cpu_all = cpu_seconds(pid, true) - all_before;
    const auto p = latencies(radio, all, packets);
    const long rss = bench::status_kb(pid, "VmRSS");
    const long hwm = bench::status_kb(pid, "VmHWM");

    std::printf(
        "virtual node: %zu clients, %.0f packets/s from the radio for %.0f s (%zu packets, "
        "%zu deliveries%s)\n",
        clients, rate, seconds, packets, p.samples, complete ? "" : "; SOME MISSING");
    std::printf("  radio -> client through the bot: p50 %.0f us, p99 %.0f us, max %.0f us\n", p.p50,
                p.p99, p.max);
    std::printf("  radio -> client directly (one loopback hop, no bot): p50 %.0f us, p99 %.0f us\n",
                direct_p50, direct_p99);
    std::printf(
        "  added by the bot (difference of the percentiles above): p50 %+.0f us, p99 %+.0f "
        "us (goal: p99 under 1 ms)\n",
        p.p50 - direct_p50, p.p99 - direct_p99);
    std::printf(
        "  bot CPU %.1f %% of a core (with its plugin runner %.1f %%); RSS %.1f MB, peak "
        "%.1f MB\n",
        100.0 * cpu / wall, 100.0 * cpu_all / wall, static_cast<double>(rss) / 1024.0,
        static_cast<double>(hwm) / 1024.0);

    owned.clear();
    bot.terminate();
    bot.wait();
    drain.join();
    std::filesystem::remove_all(dir);
    return complete ? 0 : 1;
}
