// The official Meshtastic JavaScript client (@meshtastic/core over @meshtastic/transport-node,
// pinned by tests/meshtastic_client/package-lock.json) on the bot's virtual node: two of them and
// the bot's own plugins share the simulated radio, which sees one connection, the bot's.

#include <boost/property_tree/json_parser.hpp>
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/virtual_node_clients.hpp"

using namespace meshbot::testing;
using namespace std::chrono_literals;

namespace {

// One tests/meshtastic_client/client.mjs driver: JSON commands in, JSON events out (its README).
class AppClient {
public:
    AppClient(std::uint16_t port, const std::string& name)
        : process_(
              {"/usr/bin/node",
               (std::filesystem::path(MESHBOT_SOURCE_DIR) / "tests/meshtastic_client/client.mjs")
                   .string(),
               "--port", std::to_string(port), "--name", name, "--heartbeat", "20000"}) {}

    void command(const std::string& json) { process_.write_stdin(json + "\n"); }

    // The first event (from the start) named `event` that satisfies `pred`.
    std::optional<Record> wait_event(const std::string& event,
                                     const std::function<bool(const Record&)>& pred,
                                     std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            for (const auto& line : process_.lines()) {
                if (line.empty() || line.front() != '{') continue;
                Record r;
                try {
                    std::istringstream in(line);
                    boost::property_tree::read_json(in, r);
                } catch (const std::exception&) {
                    continue;
                }
                if (r.get<std::string>("event", "") == event && pred(r)) return r;
            }
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            std::this_thread::sleep_for(20ms);
        }
    }
    std::optional<Record> wait_event(const std::string& event, std::chrono::milliseconds timeout) {
        return wait_event(
            event, [](const Record&) { return true; }, timeout);
    }
    // The outcome of the send tagged `ref`: "sent" or "send_failed".
    std::optional<Record> outcome(const std::string& ref, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            for (const char* event : {"sent", "send_failed"}) {
                if (auto r = wait_event(
                        event,
                        [&](const Record& e) { return e.get<std::string>("ref", "") == ref; }, 0ms))
                    return r;
            }
            std::this_thread::sleep_for(20ms);
        }
        return std::nullopt;
    }
    std::string output() const { return process_.output(); }
    ChildProcess& process() { return process_; }

private:
    ChildProcess process_;
};

bool text_event(const Record& r, const std::string& text) {
    return r.get<std::string>("text", "") == text;
}

}  // namespace

TEST_CASE("the official JS client configures, sees the nodes and texts through the virtual node",
          "[proxy][app]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table()));
    const std::uint16_t port = proxy_port(bot);
    REQUIRE(port != 0);
    AppClient a(port, "A");
    AppClient b(port, "B");

    for (AppClient* app : {&a, &b}) {
        const auto configured = app->wait_event("configured", 30s);
        INFO(app->output());
        REQUIRE(configured);
        CHECK(configured->get<bool>("config_id_match", false));
        CHECK(configured->get<std::uint32_t>("my_node", 0) == sim.my_node());
        CHECK(configured->get<int>("nodes", 0) == 4);  // the radio and its three nodes
        CHECK(configured->get<int>("channels", 0) == 8);
    }

    // A text from the mesh reaches both apps.
    sim.command("text from=!10000002 hello apps");
    for (AppClient* app : {&a, &b})
        CHECK(app->wait_event(
            "text", [](const Record& r) { return text_event(r, "hello apps"); }, 10s));

    // A broadcast from A and a DM from B: on the air, each resolved by its ACK under the id the
    // app chose.
    a.command(R"({"cmd":"send_text","ref":"a1","text":"broadcast from app a","to":"broadcast"})");
    b.command(R"({"cmd":"send_text","ref":"b1","text":"dm from app b","to":268435457})");
    const auto a1 = a.outcome("a1", 30s);
    const auto b1 = b.outcome("b1", 30s);
    INFO(a.output());
    INFO(b.output());
    REQUIRE(a1);
    REQUIRE(b1);
    CHECK(a1->get<std::string>("event") == "sent");
    CHECK(b1->get<std::string>("event") == "sent");
    const auto sending = b.wait_event(
        "sending", [](const Record& r) { return r.get<std::string>("ref", "") == "b1"; }, 1s);
    REQUIRE(sending);
    CHECK(sending->get<std::uint32_t>("id") == b1->get<std::uint32_t>("id"));
    CHECK(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "rx", "packet") &&
                   r.get<std::string>("text", "") == "broadcast from app a";
        },
        5s));
    const auto dms = texts_to(sim, 0x10000001);
    REQUIRE(dms.size() == 1);
    CHECK(dms.front().get<std::string>("text", "") == "dm from app b");

    // The bot's own plugins answer all along, and A is not told of B's ACK.
    CHECK(echo_answers(sim, "beside the apps"));
    CHECK_FALSE(a.wait_event(
        "routing",
        [&](const Record& r) {
            return r.get<std::uint32_t>("request_id", 0) == b1->get<std::uint32_t>("id");
        },
        0ms));

    // Changing the radio's owner is refused: the app's promise rejects with NOT_AUTHORIZED.
    a.command(R"({"cmd":"set_owner","ref":"a2","long_name":"Taken Over","short_name":"TO"})");
    const auto a2 = a.outcome("a2", 30s);
    REQUIRE(a2);
    CHECK(a2->get<std::string>("event") == "send_failed");
    CHECK(a2->get<int>("error", 0) == 33);
    CHECK(sim.count("admin") == 0);

    for (AppClient* app : {&a, &b}) {
        app->command(R"({"cmd":"quit"})");
        CHECK(app->process().wait_exit(10s) == 0);
    }
    CHECK(bot.process->wait_for_line("; 0 connected)", 10s));
    CHECK(sim.count("accept") == 1);
    check_bot_traffic(sim);
}

TEST_CASE("with allow_admin the official client renames the radio through the virtual node",
          "[proxy][app]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugin_only(), {}, proxy_table("allow_admin = true\n")));
    const std::uint16_t port = proxy_port(bot);
    AppClient app(port, "A");
    REQUIRE(app.wait_event("configured", 30s));
    app.command(
        R"({"cmd":"set_owner","ref":"o1","long_name":"Renamed By App","short_name":"RBA"})");
    const auto o1 = app.outcome("o1", 30s);
    INFO(app.output());
    REQUIRE(o1);
    CHECK(o1->get<std::string>("event") == "sent");
    CHECK(sim.wait_for(
        [](const Record& r) {
            return record_is(r, "admin") && r.get<std::string>("long", "") == "Renamed By App";
        },
        5s));
    CHECK(bot.process->wait_for_line("config refreshed", 10s));
    CHECK(sim.count("accept") == 1);
}
