#include "support/sim_process.hpp"

#include "radio/node_id.hpp"

#include <charconv>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/property_tree/json_parser.hpp>
#include <catch2/catch.hpp>

namespace meshbot::testing {

namespace {

constexpr std::uint32_t kDefaultMyNode = 0x0badc0de;

}  // namespace

std::filesystem::path bin_path(std::string_view name) {
    return std::filesystem::path(MESHBOT_BIN_DIR) / name;
}

bool record_is(const Record& record, std::string_view ev, std::string_view kind) {
    if (record.get<std::string>("ev", "") != ev) return false;
    return kind.empty() || record.get<std::string>("kind", "") == kind;
}

SimProcess::SimProcess() : SimProcess(Options{}) {}

SimProcess::SimProcess(Options options) : record_path_(dir_.path() / "record.jsonl") {
    std::vector<std::string> argv = {bin_path("meshbot-sim").string()};
    if (options.serial) {
        argv.emplace_back("--serial");
    } else {
        argv.insert(argv.end(), {"--port", "0"});
    }
    argv.insert(argv.end(),
                {"--record", record_path_.string(), "--nodes", std::to_string(options.nodes)});
    for (std::size_t i = 0; i < options.extra_args.size(); ++i) {
        const std::string& arg = options.extra_args[i];
        if (arg == "--my-node" && i + 1 < options.extra_args.size()) {
            my_node_ = meshbot::radio::parse_node_number(options.extra_args[i + 1])
                           .value_or(kDefaultMyNode);
        } else if (arg.starts_with("--my-node=")) {
            my_node_ = meshbot::radio::parse_node_number(std::string_view(arg).substr(10))
                           .value_or(kDefaultMyNode);
        }
        argv.push_back(arg);
    }
    child_ = std::make_unique<ChildProcess>(argv);

    const auto line = child_->wait_for_line("listening on ", std::chrono::seconds(10));
    INFO("meshbot-sim output:\n" << child_->output());
    REQUIRE(line.has_value());
    const std::string address = line->substr(line->find("listening on ") + 13);
    if (options.serial) {
        serial_path_ = address;
    } else {
        const auto colon = address.rfind(':');
        REQUIRE(colon != std::string::npos);
        const auto port =
            meshbot::radio::parse_node_number(std::string_view(address).substr(colon + 1));
        REQUIRE(port.has_value());
        REQUIRE(*port > 0);
        REQUIRE(*port <= 65535);
        port_ = static_cast<std::uint16_t>(*port);
    }
}

SimProcess::~SimProcess() {
    if (child_ && child_->running()) {
        child_->send_signal(SIGTERM);
        child_->wait_exit(std::chrono::seconds(2));  // then ~ChildProcess kills it anyway
    }
}

void SimProcess::command(std::string_view line) {
    std::string text(line);
    text.push_back('\n');
    child_->write_stdin(text);
}

std::vector<Record> SimProcess::records() const {
    std::lock_guard lock(cache_mutex_);
    std::ifstream in(record_path_, std::ios::binary);
    if (in) {
        in.seekg(static_cast<std::streamoff>(parsed_bytes_));
        std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::size_t start = 0;
        // Only complete lines: the simulator may be in the middle of writing the last one.
        for (auto nl = chunk.find('\n'); nl != std::string::npos; nl = chunk.find('\n', start)) {
            const std::string line = chunk.substr(start, nl - start);
            start = nl + 1;
            if (line.empty()) continue;
            std::istringstream json(line);
            Record record;
            try {
                boost::property_tree::read_json(json, record);
            } catch (const boost::property_tree::json_parser_error& e) {
                throw std::runtime_error("unparsable record line: " + line + " (" + e.what() + ")");
            }
            cache_.push_back(std::move(record));
        }
        parsed_bytes_ += start;
    }
    return cache_;
}

std::vector<Record> SimProcess::records(std::string_view ev, std::string_view kind) const {
    std::vector<Record> out;
    for (auto& record : records()) {
        if (record_is(record, ev, kind)) out.push_back(std::move(record));
    }
    return out;
}

std::optional<Record> SimProcess::wait_for(std::function<bool(const Record&)> pred,
                                           std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        for (const auto& record : records()) {
            if (pred(record)) return record;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::optional<Record> SimProcess::wait_for(std::string_view ev, std::string_view kind,
                                           std::chrono::milliseconds timeout) const {
    return wait_for([&](const Record& r) { return record_is(r, ev, kind); }, timeout);
}

bool SimProcess::wait_for_count(std::string_view ev, std::string_view kind, std::size_t n,
                                std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (count(ev, kind) >= n) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::size_t SimProcess::count(std::string_view ev, std::string_view kind) const {
    return records(ev, kind).size();
}

std::vector<Record> texts_to(const SimProcess& sim, std::uint32_t to) {
    std::vector<Record> out;
    for (auto& r : sim.records("rx", "packet")) {
        if (r.get<unsigned>("portnum", 0) == 1 && r.get<std::uint32_t>("to", 0) == to)
            out.push_back(std::move(r));
    }
    return out;
}

std::size_t max_concurrent_connections(const SimProcess& sim) {
    std::size_t open = 0, most = 0;
    for (const auto& r : sim.records()) {
        if (record_is(r, "accept")) most = std::max(most, ++open);
        if (record_is(r, "close") && open > 0) --open;
    }
    return most;
}

bool valid_utf8(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        std::size_t len = 0;
        char32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > bytes.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(bytes[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

void check_bot_traffic(const SimProcess& sim) {
    CHECK(max_concurrent_connections(sim) <= 1);
    for (const auto& r : sim.records("rx", "packet")) {
        if (r.get<unsigned>("portnum", 0) != 1) continue;
        const std::string hex = r.get<std::string>("payload_hex", "");
        std::string bytes;
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
            bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        INFO("text to " << r.get<std::string>("to", "?") << ": " << r.get<std::string>("text", ""));
        CHECK(bytes.size() <= 200);
        CHECK(valid_utf8(bytes));
    }
}

bool echo_answers(SimProcess& sim, const std::string& word) {
    sim.command("text from=!10000002 channel=0 /echo " + word);
    return sim
        .wait_for(
            [&](const Record& r) {
                return record_is(r, "rx", "packet") &&
                       r.get<std::string>("text", "") == "N002: " + word;
            },
            std::chrono::seconds(5))
        .has_value();
}

}  // namespace meshbot::testing
