// The remote plugin in the real meshbot process, against the simulator: /nodes pages, /info
// lookups, and /trace, /tele, /pos requests answered, refused, timed out, and queued in front of
// the firmware's throttles so that the radio never drops one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "plugin_host/utf8_chunker.hpp"
#include "support/bot_process.hpp"
#include "support/sim_process.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using meshbot::testing::bin_path;
using meshbot::testing::build_dir;
using meshbot::testing::ChildProcess;
using meshbot::testing::config_for;
using meshbot::testing::quoted;
using meshbot::testing::Record;
using meshbot::testing::record_is;
using meshbot::testing::RunningBot;
using meshbot::testing::SimProcess;
using meshbot::testing::TempDir;
using meshbot::testing::texts_to;

namespace {

constexpr std::uint32_t kNode1 = 0x10000001;  // generated nodes: "N001" ...
constexpr std::uint32_t kNode2 = 0x10000002;

// The bot with only the remote plugin, the given [plugins.remote] lines, and a rate limit
// high enough for a test's burst of commands.
std::string remote_config(const SimProcess& sim, const std::string& remote_keys = {}) {
    return config_for(sim,
                      "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"remote\"]\n" +
                          "[plugins.remote]\n" + remote_keys,
                      "rate_limit = 100\n");
}

// Node `from` sends `text` to the bot as a DM.
void dm(SimProcess& sim, std::uint32_t from, const std::string& text) {
    char id[16];
    std::snprintf(id, sizeof id, "!%08x", from);
    sim.command(std::string("text from=") + id + " to=!0badc0de " + text);
}

bool is_text_to(const Record& r, std::uint32_t to) {
    return record_is(r, "rx", "packet") && r.get<unsigned>("portnum", 0) == 1 &&
           r.get<std::uint32_t>("to", 0) == to;
}

// The first text the bot sent to `to` that contains `needle`, waiting up to `timeout`.
std::string wait_text(const SimProcess& sim, std::uint32_t to, const std::string& needle,
                      std::chrono::milliseconds timeout) {
    const auto r = sim.wait_for(
        [&](const Record& rec) {
            return is_text_to(rec, to) &&
                   rec.get<std::string>("text", "").find(needle) != std::string::npos;
        },
        timeout);
    if (!r) {
        std::string sent;
        for (const auto& t : texts_to(sim, to))
            sent += "\n  " + t.get<std::string>("text");
        FAIL("no text to " << to << " containing \"" << needle << "\"; texts:" << sent);
    }
    return r->get<std::string>("text");
}

// Waits until the bot has sent `to` at least `n` texts equal to `text`. (wait_for scans the
// records from the first one, "listen", at every poll: the count restarts there.)
bool wait_count(const SimProcess& sim, std::uint32_t to, const std::string& text, std::size_t n,
                std::chrono::milliseconds timeout) {
    std::size_t seen = 0;
    return sim
        .wait_for(
            [&](const Record& r) {
                if (record_is(r, "listen")) seen = 0;
                if (is_text_to(r, to) && r.get<std::string>("text", "") == text) ++seen;
                return seen >= n;
            },
            timeout)
        .has_value();
}

std::vector<std::string> texts(const SimProcess& sim, std::uint32_t to) {
    std::vector<std::string> out;
    for (const auto& r : texts_to(sim, to))
        out.push_back(r.get<std::string>("text"));
    return out;
}

// Every part the bot sent anyone is one radio text: at most 200 bytes of valid UTF-8.
void check_every_part(const SimProcess& sim) {
    for (const auto& r : sim.records("rx", "packet")) {
        if (r.get<unsigned>("portnum", 0) != 1) continue;
        const auto text = r.get<std::string>("text");
        INFO(text);
        CHECK(text.size() <= 200);
        CHECK(meshbot::plugins::is_valid_utf8(text));
    }
}

// The packets of `portnum` the simulated radio put on the air, in order.
std::vector<Record> delivered(const SimProcess& sim, int portnum) {
    std::vector<Record> out;
    for (auto& r : sim.records("delivered")) {
        if (r.get<int>("portnum", -1) == portnum) out.push_back(std::move(r));
    }
    return out;
}

std::string node_entry(std::uint32_t num, const std::string& long_name,
                       const std::string& short_name, double snr, int hops, int ago,
                       const std::string& extra = {}) {
    return "[[node]]\nnum = " + std::to_string(num) + "\nlong = \"" + long_name + "\"\nshort = \"" +
           short_name + "\"\nsnr = " + std::to_string(snr) + "\nhops = " + std::to_string(hops) +
           "\nlast_heard_ago = " + std::to_string(ago) + "\n" + extra + "\n";
}

}  // namespace

TEST_CASE(
    "remote: /nodes pages direct nodes best SNR first, each page one text of at most 200 bytes",
    "[remote]") {
    // Fourteen direct nodes with long emoji names, plus nodes /nodes must leave out.
    TempDir dir;
    std::string file;
    std::vector<std::string> long_names;
    for (int i = 0; i < 14; ++i) {
        // The 16-byte cut falls inside an emoji for some of them ("ab" + 4-byte emoji ...).
        const std::string name = std::string(i % 2 ? "ab" : "xyz") + "📡🛰️ Relay Café " +
                                 std::to_string(i) + " 🏔️🏔️";
        long_names.push_back(name);
        file += node_entry(0x2f000000u + static_cast<std::uint32_t>(i), name,
                           "R" + std::to_string(i), -10.0 + 1.25 * ((i * 5) % 14), 0, 60 * (i + 1));
    }
    file += node_entry(0x2f0000f0u, "Far away", "FAR", 12.0, 2, 60);          // not direct
    file += node_entry(0x2f0000f1u, "Long gone", "OLD", 11.0, 0, 4 * 86400);  // too old
    const auto node_file = dir.write("nodes.toml", file);
    // N001 asks: the bot can answer it (it has its key); one hop away, it is not listed.
    SimProcess sim({.nodes = 1, .extra_args = {"--node-file", node_file.string()}});
    RunningBot bot(remote_config(sim, "names = \"long\"\n"));

    for (const char* page : {"", " 2", " 3", " 4", " 5", " 9", " two"})
        dm(sim, kNode1, std::string("/nodes") + page);
    wait_text(sim, kNode1, "usage: /nodes [page]", 30s);

    const auto replies = texts(sim, kNode1);
    REQUIRE(replies.size() == 7);
    std::vector<std::string> pages;
    for (const auto& r : replies) {
        if (r.find(" direct <3d p") != std::string::npos) pages.push_back(r);
    }
    REQUIRE(pages.size() >= 2);
    REQUIRE(pages.size() <= 5);
    const std::string of = "/" + std::to_string(pages.size());

    std::vector<std::string> lines;
    for (std::size_t p = 0; p < pages.size(); ++p) {
        INFO(pages[p]);
        CHECK(pages[p].size() <= 200);
        CHECK(pages[p].rfind("14 direct <3d p" + std::to_string(p + 1) + of + "\n", 0) == 0);
        std::size_t start = pages[p].find('\n') + 1;
        while (start < pages[p].size() + 1) {
            const auto end = std::min(pages[p].find('\n', start), pages[p].size());
            lines.push_back(pages[p].substr(start, end - start));
            start = end + 1;
        }
    }
    // Every direct node once, best SNR first, name cut to 16 bytes at a code point boundary.
    REQUIRE(lines.size() == 14);
    double last_snr = 100;
    for (const auto& line : lines) {
        INFO(line);
        static const std::regex shape(R"(^(.+) ([0-9a-f]{4}) (-?\d+\.\d+)dB (\d+)m$)");
        std::smatch m;
        REQUIRE(std::regex_match(line, m, shape));
        const int index = std::stoi(m[2].str(), nullptr, 16);
        REQUIRE(index < 14);
        const std::string& full = long_names[static_cast<std::size_t>(index)];
        CHECK(m[1].str().size() <= 16);
        CHECK(full.rfind(m[1].str(), 0) == 0);               // a prefix of the real name
        CHECK(meshbot::plugins::is_valid_utf8(m[1].str()));  // never cut inside a code point
        CHECK(m[1].str().size() + 4 > std::min<std::size_t>(16, full.size()));  // as long as fits
        const double snr = std::stod(m[3].str());
        CHECK(snr == Approx(-10.0 + 1.25 * ((index * 5) % 14)));
        CHECK(snr <= last_snr);
        last_snr = snr;
    }
    for (const auto& r : replies) {
        CHECK(r.find("Far away") == std::string::npos);
        CHECK(r.find("Long gone") == std::string::npos);
    }
    CHECK(std::count(replies.begin(), replies.end(),
                     "no page 9: there are " + std::to_string(pages.size()) + " pages") == 1);
    check_every_part(sim);
}

TEST_CASE(
    "remote: /info finds a node by id, number, short or long name, lists candidates, says no match",
    "[remote]") {
    SimProcess sim;  // !10000001 "N001" "Node 0001" (1 hop) ... !10000003
    RunningBot bot(remote_config(sim));
    dm(sim, kNode1, "/info !10000002");
    wait_text(sim, kNode1, "N002 Node 0002 !10000002", 15s);
    dm(sim, kNode1, "/info n003");
    wait_text(sim, kNode1, "N003 Node 0003 !10000003", 15s);
    dm(sim, kNode1, "/info Node 0001");
    wait_text(sim, kNode1, "N001 Node 0001 !10000001", 15s);
    dm(sim, kNode1, "/info " + std::to_string(0x10000002));
    dm(sim, kNode1, "/info node");
    const auto ambiguous = wait_text(sim, kNode1, "3 nodes match \"node\"", 15s);
    CHECK_THAT(ambiguous, Catch::Contains("!10000001 N001, !10000002 N002, !10000003 N003"));
    dm(sim, kNode1, "/info zzz");
    wait_text(sim, kNode1, "no node matches \"zzz\"", 15s);
    dm(sim, kNode1, "/info");
    wait_text(sim, kNode1, "usage: /info <node>", 15s);
    dm(sim, kNode1, "/nodes");
    wait_text(sim, kNode1, "no nodes heard directly in the last 3d", 15s);

    const auto replies = texts(sim, kNode1);
    REQUIRE(replies.size() == 8);
    const std::string& n2 = replies[0];
    CHECK_THAT(n2, Catch::Contains("role CLIENT"));
    CHECK_THAT(n2, Catch::Contains("2 hops"));
    CHECK_THAT(n2, Catch::Contains("key pinned, on the radio"));
    CHECK_THAT(replies[2], Catch::Contains("1 hop"));
    CHECK(replies[3].substr(0, replies[3].find('\n')) == n2.substr(0, n2.find('\n')));  // by number
    check_every_part(sim);
}

TEST_CASE(
    "remote: /trace reports the route there and back, more traceroutes wait their 30 s or are "
    "refused, and the radio drops none",
    "[remote]") {
    SimProcess sim;
    RunningBot bot(remote_config(sim));
    dm(sim, kNode1, "/trace N002");
    const auto route = wait_text(sim, kNode1, "back:", 20s);
    // N002 is two hops away: two relays each way, an SNR for every hop.
    static const std::regex shape(
        R"(^SIM( > \S+ \(-?\d+\.\d+dB\)){2} > N002 \(-?\d+\.\d+dB\)\n)"
        R"(back: N002( > \S+ \(-?\d+\.\d+dB\)){2} > SIM \(-?\d+\.\d+dB\)$)");
    INFO(route);
    CHECK(std::regex_match(route, shape));

    // Within 30 s of the first: two wait, the next is refused, a repeat is recognised.
    dm(sim, kNode1, "/trace N003");
    dm(sim, kNode1, "/trace N003");
    dm(sim, kNode2, "/trace N001");
    dm(sim, 0x10000003, "/trace N001");
    const auto queued = wait_text(sim, kNode1, "queued: traceroute to N003 in ~", 15s);
    const int eta = std::stoi(queued.substr(queued.find('~') + 1));
    CHECK(eta >= 15);
    CHECK(eta <= 31);
    wait_text(sim, kNode1, "your traceroute request to N003 is already pending", 15s);
    wait_text(sim, kNode2, "queued: traceroute to N001 in ~", 15s);
    wait_text(sim, 0x10000003, "sorry, the traceroute queue is full; try again in ~", 15s);

    wait_text(sim, kNode1, "back: N003 >", 45s);
    const auto sent = delivered(sim, 70);
    REQUIRE(sent.size() >= 2);
    CHECK(sent[1].get<double>("t") - sent[0].get<double>("t") >= 30.0);
    CHECK(sim.count("throttled") == 0);
    check_every_part(sim);
}

TEST_CASE(
    "remote: /tele and /pos answer with the node's figures, queue behind the 10 s throttle, and "
    "say "
    "when a node shares no position or has no key",
    "[remote]") {
    TempDir dir;
    const auto node_file = dir.write(
        "nodes.toml",
        node_entry(0x2f1e0a01, "Alice's T-Beam", "ALC", 9.25, 0, 45,
                   "lat = 48.8566\nlon = 2.3522\nbattery = 80\nuptime = 93784\nchutil = 12.5\n"
                   "airutil = 1.25\n") +
            node_entry(0x2f1e0a02, "Bob on the hill", "BOB", 4.5, 0, 300) +
            node_entry(0x2f1e0a04, "Café 📡 gateway", "📡", 1.0, 0, 7200, "key = \"none\"\n"));
    SimProcess sim({.nodes = 3, .extra_args = {"--node-file", node_file.string()}});
    RunningBot bot(remote_config(sim));

    dm(sim, kNode1, "/tele alc");
    dm(sim, kNode1, "/pos Alice");
    dm(sim, kNode1, "/pos bob");
    dm(sim, kNode1, "/tele 📡");
    CHECK(wait_text(sim, kNode1, "ALC: battery", 20s) ==
          "ALC: battery 80%, 4.02V, channel util 12.5%, air tx 1.2%, up 1d2h");
    CHECK_THAT(wait_text(sim, kNode1, "ALC: 48.", 20s),
               Catch::StartsWith("ALC: 48.85660, 2.35220"));
    wait_text(sim, kNode1, "queued: position to BOB in ~", 20s);
    wait_text(sim, kNode1, "queued: telemetry to 📡 in ~", 20s);
    wait_text(sim, kNode1, "BOB does not share its position", 30s);
    wait_text(sim, kNode1, "no public key for 📡; it has to send its node info first", 30s);

    // The radio saw the two positions at least 10 s apart and dropped nothing.
    const auto positions = delivered(sim, 3);
    REQUIRE(positions.size() == 2);
    CHECK(positions[1].get<double>("t") - positions[0].get<double>("t") >= 10.0);
    CHECK(sim.count("throttled") == 0);
    CHECK(texts(sim, kNode1).size() == 6);
    check_every_part(sim);
}

TEST_CASE("remote: requests end with \"no answer\" when the answer is lost or the node is silent",
          "[remote]") {
    SECTION("every answer lost: telemetry, position and traceroute time out") {
        SimProcess sim({.nodes = 3, .extra_args = {"--reply-loss", "1"}});
        RunningBot bot(remote_config(sim, "timeout = 3\n"));
        dm(sim, kNode2, "/tele N001");
        dm(sim, kNode2, "/pos N001");
        dm(sim, kNode2, "/trace N001");
        REQUIRE(sim.wait_for_count("reply_lost", "", 3, 20s));
        // Three identical answers, paced 2 s apart.
        CHECK(wait_count(sim, kNode2, "no answer from N001 in 3 s", 3, 20s));
        CHECK(texts(sim, kNode2).size() == 3);
        check_every_part(sim);
    }
    SECTION("a silent node: no ACK for the traceroute, no answer to telemetry") {
        SimProcess sim;
        RunningBot bot(remote_config(sim, "timeout = 3\n"));
        sim.command("silence from=!10000002");
        REQUIRE(sim.wait_for("silence", "", 5s));
        dm(sim, kNode1, "/tele N002");
        dm(sim, kNode1, "/trace N002");
        // The radio gives the traceroute up after its retries (MAX_RETRANSMIT), before the
        // plugin's own timeout; the telemetry request has no ACK to wait for.
        wait_text(sim, kNode1, "no answer from N002 in 3 s", 20s);
        const auto replies = texts(sim, kNode1);
        REQUIRE(replies.size() == 2);
        static const std::regex early(R"(^no answer from N002 in [12] s$)");
        CHECK((std::regex_match(replies[0], early) || std::regex_match(replies[1], early)));
        check_every_part(sim);
    }
}

TEST_CASE("remote: a config value out of range keeps the plugin from loading, naming the key",
          "[remote]") {
    SimProcess sim;
    TempDir dir;
    const auto config = dir.write("meshbot.toml", remote_config(sim, "page_bytes = 300\n"));
    ChildProcess listing({bin_path("meshbot").string(), "plugins", "--config", config.string()});
    REQUIRE(listing.wait_exit(10s) == 1);
    INFO(listing.output());
    const auto lines = listing.lines();
    const auto it = std::find_if(lines.begin(), lines.end(),
                                 [](const std::string& l) { return l.rfind("remote ", 0) == 0; });
    REQUIRE(it != lines.end());
    // The manifest's schema declares the range: the host refuses the value before the plugin runs.
    CHECK_THAT(*it, Catch::Contains("failed_config"));
    REQUIRE(std::next(it) != lines.end());
    CHECK_THAT(
        *std::next(it),
        Catch::Contains(config.string() + ":") &&
            Catch::Contains("plugins.remote.page_bytes: expected an integer from 64 to 200, got "
                            "integer 300"));
}
