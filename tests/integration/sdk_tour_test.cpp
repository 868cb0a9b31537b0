// Every part of the plugin handle, end to end through the real host: store (across a restart),
// text events, timers, send_data completions, node queries, post_work, link events, config.
#include <catch2/catch.hpp>

#include <filesystem>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::check_bot_traffic;
using meshbot::testing::ChildProcess;
using meshbot::testing::Record;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;

namespace {

constexpr std::uint32_t kAsker = 0x10000001;

// Runs the bot with only the sdk_tour plugin; its data dir lives in `dir`.
std::unique_ptr<ChildProcess> start_bot(const SimProcess& sim, const TempDir& dir) {
    const auto plugins =
        std::filesystem::path(MESHBOT_BIN_DIR).parent_path() / "tests/test_plugins";
    const auto config =
        dir.write("meshbot.toml",
                  "[radio]\nport = " + std::to_string(sim.port()) +
                      "\ntelemetry_gap = 0\n[bot]\ndata_dir = \"" + (dir.path() / "data").string() +
                      "\"\n[commands]\nrate_limit = 100\n[http]\nlisten = \"\"\n[plugins]\n" +
                      meshbot::testing::isolation_line() + "dirs = [\"" + plugins.string() +
                      "\"]\nenabled = [\"sdk_tour\"]\n[plugins.sdk_tour]\ngreeting = \"pong!\"\n");
    auto bot = std::make_unique<ChildProcess>(
        std::vector<std::string>{bin_path("meshbot").string(), "--config", config.string()});
    REQUIRE(bot->wait_for_line("ready: node", 10s));
    return bot;
}

std::vector<std::string> texts_to_asker(const SimProcess& sim) {
    std::vector<std::string> out;
    for (const Record& r : meshbot::testing::texts_to(sim, kAsker))
        out.push_back(r.get<std::string>("text", ""));
    return out;
}

// Sends `text` as a DM from the asker and returns the bot's next text to the asker.
std::string ask(SimProcess& sim, const std::string& text) {
    const auto before = texts_to_asker(sim).size();
    sim.command("text from=!10000001 to=!0badc0de " + text);
    const auto answered =
        sim.wait_for([&](const Record&) { return texts_to_asker(sim).size() > before; }, 10s);
    REQUIRE(answered);
    return texts_to_asker(sim).at(before);
}

}  // namespace

TEST_CASE("a plugin's handle reaches every part of the host", "[plugins][sdk]") {
    // The node answers well inside /ask's 500 ms.
    SimProcess sim(SimProcess::Options{.extra_args = {"--no-throttle", "--reply-delay", "0.1"}});
    TempDir dir;
    {
        auto bot = start_bot(sim, dir);
        CHECK(ask(sim, "ping") == "pong!");  // a text subscription, and a config value
        CHECK(ask(sim, "/whois N002") == "!10000002 Node 0002");
        CHECK(ask(sim, "/whois nobody") == "unknown node");
        CHECK(ask(sim, "/later") == "later");
        CHECK(ask(sim, "/work") == "work 42");
        CHECK(ask(sim, "/ask N003") == "ask: answered");  // the simulated node answers
        sim.command("silence from=!10000003");
        CHECK(ask(sim, "/ask N003") == "ask: timeout");  // nobody answers: the completion says so
        CHECK(ask(sim, "/links") == "links up 1");
        sim.command("drop");
        REQUIRE(bot->wait_for_line("link lost", 5s));
        REQUIRE(sim.wait_for_count("accept", "", 2, 10s));
        REQUIRE(sim.wait_for_count("tx", "config_complete", 2, 10s));
        CHECK(ask(sim, "/links") == "links up 2");
        CHECK(ask(sim, "/remember buy more batteries") == "remembered");
    }
    auto restarted = start_bot(sim, dir);
    CHECK(ask(sim, "/recall") == "note: buy more batteries");
    check_bot_traffic(sim);
}
