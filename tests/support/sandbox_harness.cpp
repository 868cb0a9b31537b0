#include "support/sandbox_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "support/bot_process.hpp"
#include "support/sandbox_probe.hpp"

namespace meshbot::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint32_t kNode2 = 0x10000002;
const std::vector<std::string> kLayerOrder = {"nnp",     "userns",   "netns",   "ipcns",
                                              "seccomp", "landlock", "rlimits", "broker"};

std::atomic<int> g_sigusr2{0};

}  // namespace

TcpListener::TcpListener(const char* address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    REQUIRE(::inet_pton(AF_INET, address, &a.sin_addr) == 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t length = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
}

TcpListener::~TcpListener() {
    stop_ = true;
    thread_.join();
    for (const int fd : held_)
        ::close(fd);
    ::close(fd_);
}

bool TcpListener::wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (accepted_ < n && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    return accepted_ >= n;
}

void TcpListener::run() {
    while (!stop_) {
        pollfd ready{fd_, POLLIN, 0};
        if (::poll(&ready, 1, 20) != 1) continue;
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        held_.push_back(client);
        ++accepted_;
    }
}

DatagramSink::DatagramSink() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t length = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0);
    port_ = ntohs(a.sin_port);
}

DatagramSink::DatagramSink(const fs::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.string().size() < sizeof a.sun_path);
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
}

DatagramSink::~DatagramSink() {
    ::close(fd_);
}

std::size_t DatagramSink::received() {
    char buffer[512];
    while (::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0)
        ++received_;
    return received_;
}

IpcSecret::IpcSecret() : key_(0x6d620000 | (::getpid() & 0xffff)) {
    id_ = ::shmget(key_, 4096, IPC_CREAT | IPC_EXCL | 0600);
    REQUIRE(id_ >= 0);
    void* memory = ::shmat(id_, nullptr, 0);
    REQUIRE(memory != reinterpret_cast<void*>(-1));
    std::memcpy(memory, "meshbot-secret", 14);
    ::shmdt(memory);
}

IpcSecret::~IpcSecret() {
    ::shmctl(id_, IPC_RMID, nullptr);
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

int sigusr2_count() {
    static const bool installed = [] {
        struct sigaction action {};
        action.sa_handler = [](int) { g_sigusr2.fetch_add(1); };
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        return ::sigaction(SIGUSR2, &action, nullptr) == 0;
    }();
    return installed ? g_sigusr2.load() : -1;
}

std::string bot_config(const SimProcess& sim, const BotFiles& files, const std::string& id,
                       const std::string& keys, const std::string& tables) {
    const std::string radio =
        sim.serial_path().empty()
            ? "host = \"127.0.0.1\"\nport = " + std::to_string(sim.port()) + "\n"
            : "transport = \"serial\"\ndevice = " + quoted(fs::path(sim.serial_path())) + "\n";
    return "[radio]\n" + radio +
           "\n[commands]\nchannels = [0]\nadmins = [\"!10000001\"]\n"
           "rate_limit = 1000\n\n[log]\nlevel = \"debug\"\n\n[http]\nlisten = "
           "\"\"\n\n[bot]\ndata_dir = " +
           quoted(files.data) + "\n\n[plugins]\ndirs = [" + quoted(build_dir() / "plugins") + ", " +
           quoted(build_dir() / "tests/hostile_plugins") + ", " +
           quoted(build_dir() / "tests/test_plugins") + "]\nenabled = [\"echo\", \"" + id +
           "\"]\nmax_faults = 1\n" + keys + "\n" + tables;
}

void require_line(ChildProcess& process, const std::string& needle,
                  std::chrono::milliseconds timeout) {
    if (process.wait_for_line(needle, timeout)) return;
    FAIL("no line containing \"" << needle << "\" within " << timeout.count() << " ms:\n"
                                 << process.output());
}

std::unique_ptr<ChildProcess> start_bot(const BotFiles& files, const std::string& config) {
    std::ofstream(files.config) << config;
    auto bot = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin_path("meshbot").string(), "--config", files.config.string()});
    require_line(*bot, "ready: node", 15s);
    return bot;
}

std::string plugin_row(const BotFiles& files, const std::string& id) {
    ChildProcess cli({bin_path("meshbot").string(), "plugins", "--config", files.config.string()});
    cli.wait_exit(15s);
    std::istringstream in(cli.output());
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(id + " ", 0) == 0) return line;
    }
    return "(no row for " + id + " in:\n" + cli.output() + ")";
}

std::vector<std::string> logged_layers(ChildProcess& bot, const std::string& id) {
    const std::string needle = "plugin " + id + ": sandbox: ";
    require_line(bot, needle, 5s);
    for (const auto& line : bot.lines()) {
        const auto at = line.find(needle);
        if (at == std::string::npos || line.find(" not applied: ") != std::string::npos) continue;
        std::istringstream words(line.substr(at + needle.size()));
        std::vector<std::string> layers;
        for (std::string w; words >> w;)
            layers.push_back(w);
        return layers;
    }
    FAIL("only \"not applied\" lines for " << id << ":\n" << bot.output());
    return {};
}

void check_layers(const std::vector<std::string>& applied, bool broker) {
    INFO("applied: " << join(applied) << "; this kernel offers: " << join(offered_layers()));
    for (const auto& layer : offered_layers()) {
        INFO("layer " << layer);
        CHECK(contains(applied, layer));
    }
    CHECK(contains(applied, "broker") == broker);
    if (broker) CHECK((!applied.empty() && applied.back() == "broker"));
    auto rank = [](const std::string& layer) {
        return std::find(kLayerOrder.begin(), kLayerOrder.end(), layer) - kLayerOrder.begin();
    };
    CHECK(std::is_sorted(applied.begin(), applied.end(),
                         [&](const auto& a, const auto& b) { return rank(a) < rank(b); }));
}

std::string ask(SimProcess& sim, const std::string& text) {
    const auto before = texts_to(sim, kNode2).size();
    sim.command("text from=!10000002 to=!0badc0de " + text);
    const bool arrived =
        sim.wait_for([&](const Record&) { return texts_to(sim, kNode2).size() > before; }, 10s)
            .has_value();
    return arrived ? texts_to(sim, kNode2).at(before).get<std::string>("text", "") : "(nothing)";
}

}  // namespace meshbot::testing
