#pragma once
// What the sandbox tests share (tests/integration/sandbox_*_test.cpp): far ends that notice an
// attack (a TCP listener, datagram sockets, a System V segment, this process's SIGUSR2s), a bot's
// files named before it starts, the bot's config and start, and readers for its sandbox report.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

namespace meshbot::testing {

// A TCP listener on <address>:0. Its thread accepts and counts connections and holds each open
// until the listener goes: a client that waits for an answer (rexec does) gets neither an
// answer nor an end of file.
class TcpListener {
public:
    explicit TcpListener(const char* address = "127.0.0.1");
    ~TcpListener();
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    std::uint16_t port() const { return port_; }
    std::string port_text() const { return std::to_string(port_); }
    std::size_t accepted() const { return accepted_; }
    bool wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const;

private:
    void run();

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> accepted_{0};
    std::vector<int> held_;  // the accepting thread's only, until the destructor joined it
    std::thread thread_;
};

// A datagram socket: UDP bound on 127.0.0.1:0, or unix bound at a path. received() counts the
// datagrams that arrived, never waiting.
class DatagramSink {
public:
    DatagramSink();
    explicit DatagramSink(const std::filesystem::path& path);
    ~DatagramSink();
    DatagramSink(const DatagramSink&) = delete;
    DatagramSink& operator=(const DatagramSink&) = delete;

    std::uint16_t port() const { return port_; }
    std::size_t received();

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::size_t received_ = 0;
};

// A System V shared memory segment (mode 0600) holding a secret, for attack_sysv_ipc to look
// for by its key; removed with the object.
class IpcSecret {
public:
    IpcSecret();
    ~IpcSecret();
    IpcSecret(const IpcSecret&) = delete;
    IpcSecret& operator=(const IpcSecret&) = delete;
    int key() const { return key_; }

private:
    int key_;
    int id_ = -1;
};

// SIGUSR2s this test process has received (attack_signal_owner aims at it); the first call
// installs the handler. -1 when it cannot.
int sigusr2_count();

// One bot's files, named before it starts so that they can be handed to an attack plugin as
// targets. The node store is the snapshot of tests/fixtures/store-format-1 (written against the
// simulator), so there is a store to read from the first moment.
struct BotFiles {
    TempDir dir;
    std::filesystem::path data = dir.path() / "data";
    std::filesystem::path config = dir.path() / "meshbot.toml";
    std::filesystem::path store = data / "nodes.db";
    std::filesystem::path control = data / "control.sock";
    std::filesystem::path outside = dir.path() / "outside.txt";
    std::filesystem::path beside_store =
        data / "attack_write_outside.txt";  // attack_write_outside's name

    BotFiles() {
        std::filesystem::create_directories(data);
        std::filesystem::copy_file(
            std::filesystem::path(MESHBOT_SOURCE_DIR) / "tests/fixtures/store-format-1/nodes.db",
            store);
    }
};

// The bot's config: the simulator (TCP, or its serial pty), the data folder of `files`, echo and
// the plugin `id` enabled; `keys` are more [plugins] keys, `tables` the plugins' own tables.
std::string bot_config(const SimProcess& sim, const BotFiles& files, const std::string& id,
                       const std::string& keys, const std::string& tables);
// Fails the test with the process's whole output when `needle` does not come in time.
void require_line(ChildProcess& process, const std::string& needle,
                  std::chrono::milliseconds timeout);
// Writes the config and starts the bot on it, ready on the simulator.
std::unique_ptr<ChildProcess> start_bot(const BotFiles& files, const std::string& config);
// `meshbot plugins`' row for plugin `id` (from the running bot, else checked by the CLI).
std::string plugin_row(const BotFiles& files, const std::string& id);
// The layers of the bot's "plugin <id>: sandbox: ..." line (not of its "not applied" warnings).
std::vector<std::string> logged_layers(ChildProcess& bot, const std::string& id);
// Every layer this kernel offers was applied, "broker" last exactly when the network was
// granted, all in the documented order.
void check_layers(const std::vector<std::string>& applied, bool broker);
// Sends a DM command from !10000002 and returns the bot's next text to it.
std::string ask(SimProcess& sim, const std::string& text);
bool contains(const std::vector<std::string>& list, const std::string& item);
// The words with single spaces between them.
std::string join(const std::vector<std::string>& words);

}  // namespace meshbot::testing
