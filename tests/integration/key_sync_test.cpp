// The node store and the key sync against the simulator: keys kept across restarts and
// SIGKILLs, a periodic check that sends nothing, just-in-time add_contact after the radio lost
// a key, key changes suspending privileged commands, and a damaged store.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "nodes/node_store.hpp"
#include "support/bot_process.hpp"
#include "support/sim_process.hpp"

using namespace std::chrono_literals;
using meshbot::nodes::KeyState;
using meshbot::nodes::NodeStore;
using meshbot::testing::bin_path;
using meshbot::testing::build_dir;
using meshbot::testing::check_bot_traffic;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::record_is;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
using meshbot::testing::texts_to;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kNode1 = 0x10000001;
constexpr std::uint32_t kNode2 = 0x10000002;

std::string random_key_hex(std::mt19937_64& rng) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (int i = 0; i < 64; ++i)
        hex.push_back(digits[rng() % 16]);
    return hex;
}

std::string base64_of_hex(const std::string& hex) {
    meshbot::nodes::PublicKey key{};
    for (std::size_t i = 0; i < key.size(); ++i)
        key[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    return meshbot::nodes::key_base64(key);
}

// A config whose data directory outlives one bot process.
std::string config_with_data(const SimProcess& sim, const fs::path& data,
                             const std::string& plugins = {}, const std::string& extra = {}) {
    return config_for(sim, plugins, {}, extra) + "\n[bot]\ndata_dir = " + quoted(data) + "\n";
}

std::string plugin_dirs(const std::string& enabled) {
    return "dirs = [" + quoted(build_dir() / "tests/test_plugins") + "]\nenabled = [" + enabled +
           "]\n";
}

std::vector<Record> admin_frames(const SimProcess& sim) {
    std::vector<Record> out;
    for (auto& r : sim.records("rx", "packet"))
        if (r.get<unsigned>("portnum", 0) == 6) out.push_back(std::move(r));
    return out;
}

std::size_t count_lines(const ChildProcess& p, std::string_view needle) {
    std::size_t n = 0;
    for (const auto& line : p.lines())
        n += line.find(needle) != std::string::npos;
    return n;
}

// The position of the first record matching `pred` in the record file, or npos.
std::size_t index_of(const SimProcess& sim, const std::function<bool(const Record&)>& pred) {
    const auto all = sim.records();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (pred(all[i])) return i;
    return std::string::npos;
}

}  // namespace

TEST_CASE("keys learned in one run are there after a restart", "[keys]") {
    TempDir data;
    std::mt19937_64 rng(7);
    const std::string key = random_key_hex(rng);
    {
        SimProcess sim;
        RunningBot bot(config_with_data(sim, data.path()));
        sim.command("nodeinfo from=!10000009 short=N009 key=" + key);
        REQUIRE(bot.process->wait_for_line("key pinned for !10000009", 10s));
        // SIGKILL, not a clean stop: the key change was journaled before it counted.
    }
    SimProcess empty_radio(SimProcess::Options{.nodes = 0});
    RunningBot bot(config_with_data(empty_radio, data.path()));
    CHECK(bot.process->wait_for_line("node store: 5 nodes, 5 pinned keys", 1s));

    NodeStore store(data.path());
    store.load(true);
    REQUIRE(store.find(0x10000009) != nullptr);
    CHECK(meshbot::nodes::key_base64(*store.find(0x10000009)->pinned_key) == base64_of_hex(key));
    CHECK(store.find(kNode1)->key_state() == KeyState::pinned);
    check_bot_traffic(empty_radio);
}

TEST_CASE("SIGKILL during heavy key churn never loses a key change reported as saved",
          "[keys][crash]") {
    TempDir data;
    SimProcess sim(SimProcess::Options{.nodes = 80});
    std::mt19937_64 rng(2026);
    std::map<std::string, std::set<std::string>> saved;  // node id -> base64 keys reported saved
    const std::regex pinned(
        R"(key pinned for (![0-9a-f]{8})[^:]*: ([A-Za-z0-9+/=]{44}) \(saved\))");
    const std::regex changed(
        R"(key CHANGED for (![0-9a-f]{8})[^:]*: pinned ([A-Za-z0-9+/=]{44}), now presents ([A-Za-z0-9+/=]{44}) \(saved\))");
    const auto config_path =
        data.write("meshbot.toml", config_with_data(sim, data.path() / "data"));

    constexpr int kRounds = 50;
    for (int round = 0; round < kRounds; ++round) {
        ChildProcess bot({bin_path("meshbot").string(), "--config", config_path.string()});
        REQUIRE(bot.wait_for_line("ready: node", 10s));
        CHECK(count_lines(bot, "damaged") == 0);
        CHECK(count_lines(bot, "incomplete last record") <= 1);  // a torn write is expected

        std::string batch;
        for (int i = 0; i < 40; ++i) {
            const unsigned node = 1 + static_cast<unsigned>(rng() % 80);
            char id[16];
            std::snprintf(id, sizeof id, "!%08x", 0x10000000u + node);
            batch += std::string("nodeinfo from=") + id + " key=" + random_key_hex(rng) + "\n";
        }
        const std::size_t start = bot.line_count();
        sim.command(batch.substr(0, batch.size() - 1));
        // Kill at a random point of the churn: after a random number of saved changes.
        const int after = static_cast<int>(rng() % 20);
        std::size_t at = start;
        for (int i = 0; i < after; ++i) {
            if (!bot.wait_for_line_after(at, "(saved)", 5s)) break;
            at = bot.line_count();
        }
        bot.send_signal(SIGKILL);
        REQUIRE(bot.wait_exit(5s));

        std::smatch m;
        for (const auto& line : bot.lines()) {
            if (std::regex_search(line, m, changed)) {
                saved[m[1]].insert(m[2]);
                saved[m[1]].insert(m[3]);
            } else if (std::regex_search(line, m, pinned)) {
                saved[m[1]].insert(m[2]);
            }
        }
        NodeStore store(data.path() / "data");
        const auto report = store.load(true);
        REQUIRE(report.errors.empty());
        for (const auto& [id, keys] : saved) {
            const auto* node = store.find(id);
            REQUIRE(node != nullptr);
            std::set<std::string> present;
            if (node->pinned_key) present.insert(meshbot::nodes::key_base64(*node->pinned_key));
            if (node->presented_key)
                present.insert(meshbot::nodes::key_base64(*node->presented_key));
            for (const auto& past : node->key_history)
                present.insert(meshbot::nodes::key_base64(past.key));
            for (const auto& k : keys) {
                INFO("round " << round << ", node " << id);
                CHECK(present.count(k) == 1);
            }
        }
    }
    CHECK(saved.size() >= 20);
    check_bot_traffic(sim);
}

TEST_CASE("the periodic key check sends nothing while nothing changes", "[keys]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, {}, {}, "[keys]\ncheck_interval = 1\n"));
    std::size_t at = 0;
    for (int i = 0; i < 5; ++i) {
        REQUIRE(bot.process->wait_for_line_after(at, "key check skipped: nothing changed", 5s));
        at = bot.process->line_count();
    }
    CHECK(admin_frames(sim).empty());
    CHECK(count_lines(*bot.process, "key check:") == 0);
    check_bot_traffic(sim);
}

TEST_CASE("after a reboot that lost a key, one add_contact goes out just before the next DM",
          "[keys]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, plugin_dirs("\"sdk_tour\"")));
    sim.command("reboot 0.5 lose=!10000002");
    REQUIRE(sim.wait_for_count("tx", "config_complete", 2, 10s));
    REQUIRE(bot.process->wait_for_line("key sync: the radio holds keys for 2 of its 2", 10s));
    CHECK(admin_frames(sim).empty());  // nothing in bulk after connecting

    sim.command("text from=!10000002 to=!0badc0de ping");
    REQUIRE(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "delivered") && r.get<std::string>("to", "") == "!10000002" &&
                   r.get<unsigned>("portnum", 0) == 1;
        },
        10s));
    const auto pushes = admin_frames(sim);
    REQUIRE(pushes.size() == 1);
    const auto contact = sim.records("add_contact");
    REQUIRE(contact.size() == 1);
    CHECK(contact[0].get<std::string>("node") == "!10000002");
    CHECK_FALSE(contact[0].get<bool>("empty_key"));
    const auto push_at = index_of(sim, [](const Record& r) { return record_is(r, "add_contact"); });
    const auto dm_at = index_of(sim, [](const Record& r) {
        return record_is(r, "rx", "packet") && r.get<unsigned>("portnum", 0) == 1;
    });
    CHECK(push_at < dm_at);
    const auto delivered = sim.records("delivered");
    CHECK(std::any_of(delivered.begin(), delivered.end(), [](const Record& r) {
        return r.get<std::string>("to", "") == "!10000002" && r.get<bool>("pki", false);
    }));

    sim.command("text from=!10000002 to=!0badc0de ping");  // the same session: no second push
    REQUIRE(sim.wait_for_count("delivered", "", delivered.size() + 1, 10s));
    CHECK(sim.records("add_contact").size() == 1);
    check_bot_traffic(sim);
}

TEST_CASE("a DM to a node whose key nobody knows fails with a clear message to the plugin",
          "[keys]") {
    TempDir files;
    const auto nodes = files.write("nodes.toml",
                                   "[[node]]\nnum = \"!20000001\"\nshort = \"NOKY\"\n"
                                   "key = \"none\"\n");
    SimProcess sim(SimProcess::Options{.extra_args = {"--node-file", nodes.string()}});
    RunningBot bot(config_for(sim, plugin_dirs("\"sdk_tour\"")));
    sim.command("text from=!10000001 to=!0badc0de /ask NOKY");
    REQUIRE(sim.wait_for([&](const Record&) { return !texts_to(sim, kNode1).empty(); }, 10s));
    CHECK_THAT(texts_to(sim, kNode1).at(0).get<std::string>("text"),
               Catch::StartsWith("ask: failed: no public key is known for !20000001"));
    CHECK(admin_frames(sim).empty());
    check_bot_traffic(sim);
}

TEST_CASE("a damaged node store is moved aside with an error naming it, and the bot starts",
          "[keys]") {
    TempDir data;
    data.write("data/nodes.db", "this is not a node store");
    SimProcess sim;
    RunningBot bot(config_with_data(sim, data.path() / "data"));
    const auto error = bot.process->wait_for_line("is damaged", 1s);
    REQUIRE(error);
    CHECK_THAT(*error, Catch::Contains((data.path() / "data" / "nodes.db").string()) &&
                           Catch::Contains("moved aside"));
    bool aside = false;
    for (const auto& entry : fs::directory_iterator(data.path() / "data"))
        aside |= entry.path().filename().string().rfind("nodes.db.corrupt-", 0) == 0;
    CHECK(aside);
    check_bot_traffic(sim);
}

TEST_CASE("a changed key suspends privileged commands until the operator accepts it", "[keys]") {
    SimProcess sim;
    std::mt19937_64 rng(11);
    const std::string new_key = random_key_hex(rng);
    RunningBot bot(
        config_for(sim, plugin_dirs("\"admin_tool\", \"sdk_tour\""), "rate_limit = 100\n"));
    // Sends a text to the bot and returns its next answer to !10000001.
    const auto ask = [&sim](const std::string& command) {
        const auto before = texts_to(sim, kNode1).size();
        sim.command(command);
        REQUIRE(sim.wait_for([&](const Record&) { return texts_to(sim, kNode1).size() > before; },
                             10s));
        return texts_to(sim, kNode1).at(before).get<std::string>("text");
    };
    const std::string dm = "text from=!10000001 to=!0badc0de ";
    CHECK(ask(dm + "pki=1 /secret") == "secret ok");

    sim.command("nodeinfo from=!10000001 key=" + new_key);
    const auto warning = bot.process->wait_for_line("key CHANGED for !10000001", 10s);
    REQUIRE(warning);
    CHECK_THAT(*warning, Catch::Contains("WARN") || Catch::Contains("warn"));
    CHECK(bot.process->wait_for_line("sdk_tour: key changed for !10000001", 5s));
    // (key= stands in for a radio that could decrypt with the new key.)
    CHECK_THAT(ask(dm + "pki=1 key=" + new_key + " /secret"), Catch::StartsWith("refused"));
    CHECK_THAT(ask(dm + "pki=1 /secret"), Catch::StartsWith("refused"));  // the old key: suspended
    const auto pushes_before = sim.records("add_contact").size();

    ChildProcess accept({bin_path("meshbot").string(), "keys", "accept", "!10000001", "--config",
                         (bot.dir.path() / "meshbot.toml").string()});
    REQUIRE(accept.wait_exit(10s) == 0);
    REQUIRE(bot.process->wait_for_line("accepted by the operator", 5s));
    CHECK(ask(dm + "pki=1 key=" + new_key + " /secret") == "secret ok");
    CHECK_THAT(ask(dm + "/secret"), Catch::StartsWith("refused"));  // not PKI-encrypted
    CHECK_THAT(ask("text from=!10000001 channel=0 /secret"), Catch::StartsWith("refused"));
    // Accepting pushed the new key to the radio once (it had kept the old one, first key wins),
    // and the answers since went out encrypted with it.
    const auto contact = sim.records("add_contact");
    REQUIRE(contact.size() == pushes_before + 1);
    CHECK(contact.back().get<std::string>("key_hex") == new_key);
    const auto delivered = sim.records("delivered");
    REQUIRE_FALSE(delivered.empty());
    CHECK(delivered.back().get<std::string>("key_hex", "") == new_key);
    check_bot_traffic(sim);
}
