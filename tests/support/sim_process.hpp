#pragma once
// Starts meshbot-sim for an integration test and reads back what it recorded.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/property_tree/ptree.hpp>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace meshbot::testing {

// One parsed record line (boost/property_tree/json_parser.hpp); every value is stored as a
// string, so read numbers with r.get<std::uint32_t>("id") and flags with r.get<bool>(..).
using Record = boost::property_tree::ptree;

// build/bin/<name>
std::filesystem::path bin_path(std::string_view name);

// True when `record` has "ev" == ev and, if kind is not empty, "kind" == kind.
bool record_is(const Record& record, std::string_view ev, std::string_view kind = {});

// Owns a running meshbot-sim (--port 0 or --serial, --record <tmp>/record.jsonl) and a cache
// of its parsed records. Test thread; the const readers are safe from any thread.
class SimProcess {
public:
    struct Options {
        int nodes = 3;
        bool serial = false;
        std::vector<std::string> extra_args = {};
    };

    // Waits (deadline 10 s) for the "listening on" line and REQUIREs it. (Two constructors
    // rather than `Options options = {}`: GCC rejects that default inside the class.)
    SimProcess();
    explicit SimProcess(Options options);
    ~SimProcess();
    SimProcess(const SimProcess&) = delete;
    SimProcess& operator=(const SimProcess&) = delete;

    std::uint16_t port() const { return port_; }
    std::string serial_path() const { return serial_path_; }
    std::uint32_t my_node() const { return my_node_; }
    const std::filesystem::path& record_path() const { return record_path_; }
    const TempDir& dir() const { return dir_; }

    // One stdin command; the newline is appended.
    void command(std::string_view line);

    // Every record so far (a partial last line is left for later).
    std::vector<Record> records() const;
    std::vector<Record> records(std::string_view ev, std::string_view kind = {}) const;
    // The first record (from the start) satisfying pred; polls the file every ~10 ms.
    std::optional<Record> wait_for(std::function<bool(const Record&)> pred,
                                   std::chrono::milliseconds timeout) const;
    std::optional<Record> wait_for(std::string_view ev, std::string_view kind,
                                   std::chrono::milliseconds timeout) const;
    // True once at least n records match ev/kind.
    bool wait_for_count(std::string_view ev, std::string_view kind, std::size_t n,
                        std::chrono::milliseconds timeout) const;
    std::size_t count(std::string_view ev, std::string_view kind = {}) const;

    ChildProcess& process() { return *child_; }

private:
    TempDir dir_;
    std::filesystem::path record_path_;
    std::unique_ptr<ChildProcess> child_;
    std::uint16_t port_ = 0;
    std::string serial_path_;
    std::uint32_t my_node_ = 0x0badc0de;

    // Records are parsed once and cached; parsed_bytes_ is where the next read starts.
    mutable std::mutex cache_mutex_;
    mutable std::vector<Record> cache_;
    mutable std::uintmax_t parsed_bytes_ = 0;
};

// The text messages the bot sent to `to` (a node, or 0xFFFFFFFF for broadcasts), in order.
std::vector<Record> texts_to(const SimProcess& sim, std::uint32_t to);

// The most connections the simulator had open at the same time.
std::size_t max_concurrent_connections(const SimProcess& sim);
// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view bytes);
// What every test of the bot holds the simulator's record to (CHECKs, so a test goes on):
// the bot never had two connections open at once, and every text it sent was at most
// 200 bytes of valid UTF-8.
void check_bot_traffic(const SimProcess& sim);

// The bot's echo plugin still answers: "/echo <word>" from !10000002 on channel 0 comes back as
// the broadcast "N002: <word>" within 5 s.
bool echo_answers(SimProcess& sim, const std::string& word);

}  // namespace meshbot::testing
