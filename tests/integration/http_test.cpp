// The bot's HTTP listener with its real consumers: a Prometheus server that scrapes it, promtool
// that lints its page, and the token and Host checks a stranger runs into.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <regex>
#include <thread>

#include <catch2/catch.hpp>

#include "support/bot_process.hpp"
#include "support/http_get.hpp"
#include "support/sim_process.hpp"

using namespace meshbot::testing;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";

std::string echo_plugins() {
    return "dirs = [" + quoted(build_dir() / "plugins") + "]\nenabled = [\"echo\"]";
}

// The port of the bot's listener (it binds port 0), from its log.
std::uint16_t http_port(RunningBot& bot) {
    const auto line = bot.process->wait_for_line("http: listening on", 10s);
    REQUIRE(line);
    const auto port = http_port_from_log(*line);
    REQUIRE(port);
    return *port;
}

// A port nobody listens on right now, for a server that takes its port on the command line.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// A TCP connection to the bot's listener (REQUIREs it).
int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

// Polls Prometheus' query API until `query` has a sample satisfying `accept`.
std::optional<double> prometheus_wait(std::uint16_t port, const std::string& query,
                                      const std::function<bool(double)>& accept,
                                      std::chrono::seconds timeout) {
    static const std::regex value(R"re("value":\[[0-9.]+,"([^"]+)"\])re");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto reply = http_get(port, "/api/v1/query?query=" + query);
        std::smatch m;
        if (reply.status == 200 && std::regex_search(reply.body, m, value)) {
            const double v = std::stod(m[1]);
            if (accept(v)) return v;
        }
        std::this_thread::sleep_for(200ms);  // polling an API: the next scrape is what we await
    }
    return std::nullopt;
}

// Scrapes /metrics until `name` satisfies `accept`: the bot counts a reply part once the radio
// confirmed taking it, a moment after the simulator recorded the text.
bool metric_becomes(std::uint16_t port, const std::string& name,
                    const std::function<bool(double)>& accept, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto v = metric_value(http_get(port, "/metrics").body, name);
        if (v && accept(*v)) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

}  // namespace

TEST_CASE("/metrics is Prometheus text that promtool accepts, with the bot's figures", "[http]") {
    SimProcess sim({.nodes = 5});
    RunningBot bot(config_for(sim, echo_plugins(), {},
                              "[http]\nlisten = \"127.0.0.1:0\"\nnode_metrics = 3\n"));
    const auto port = http_port(bot);
    REQUIRE(echo_answers(sim, "metrics"));
    CHECK(metric_becomes(
        port, "meshbot_text_parts_sent_total", [](double v) { return v >= 1; }, 10s));

    const auto reply = http_get(port, "/metrics");
    REQUIRE(reply.status == 200);
    CHECK(reply.headers.at("content-type").starts_with("text/plain; version=0.0.4"));
    const auto& page = reply.body;
    CHECK(metric_value(page, "meshbot_link_up") == 1.0);
    CHECK(metric_value(page, "meshbot_link_handshakes_total") == 1.0);
    CHECK(metric_value(page, "meshbot_link_frames_received_total").value_or(0) > 5);
    CHECK(metric_value(page, "meshbot_link_bytes_sent_total").value_or(0) > 0);
    CHECK(metric_value(page, "meshbot_nodes", "where=\"store\"") == 6.0);
    CHECK(metric_value(page, "meshbot_nodes", "where=\"radio\"") == 6.0);
    CHECK(metric_value(page, "meshbot_commands_total", "command=\"echo\"") == 1.0);
    CHECK(metric_value(page, "meshbot_plugin_state", "plugin=\"echo\",state=\"loaded\"") == 1.0);
    CHECK(metric_value(page, "meshbot_plugin_callback_duration_seconds_count", "plugin=\"echo\"")
              .value_or(0) >= 1);
    // node_metrics = 3: three nodes' series, whatever the mesh's size.
    CHECK(metric_value(page, "meshbot_node_series_nodes") == 3.0);
    std::size_t heard_series = 0;
    for (std::size_t at = page.find("\nmeshbot_node_last_heard_timestamp_seconds{");
         at != std::string::npos;
         at = page.find("\nmeshbot_node_last_heard_timestamp_seconds{", at + 1))
        ++heard_series;
    CHECK(heard_series == 3);

    // promtool (Debian's prometheus package) reads the page as Prometheus would, and lints it.
    ChildProcess promtool({"/usr/bin/promtool", "check", "metrics"});
    promtool.write_stdin(page);
    promtool.close_stdin();
    const auto code = promtool.wait_exit(20s);
    INFO(promtool.output());
    CHECK(code == 0);
    check_bot_traffic(sim);
}

TEST_CASE("a Prometheus server scrapes the bot: link up, link down, counters moving", "[http]") {
    SimProcess sim({.nodes = 3});
    RunningBot bot(config_for(sim, echo_plugins(), {}, "[http]\nlisten = \"127.0.0.1:0\"\n"));
    const auto port = http_port(bot);

    const auto prom_port = free_port();
    const auto config = bot.dir.write("prometheus.yml",
                                      "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                      "scrape_configs:\n  - job_name: meshbot\n"
                                      "    static_configs:\n      - targets: ['127.0.0.1:" +
                                          std::to_string(port) + "']\n");
    ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + config.string(),
                             "--storage.tsdb.path=" + (bot.dir.path() / "tsdb").string(),
                             "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
    REQUIRE(prometheus.wait_for_line("Server is ready to receive web requests", 30s));

    const auto up = [](double v) { return v == 1.0; };
    REQUIRE(prometheus_wait(prom_port, "meshbot_link_up", up, 30s));
    const auto frames = prometheus_wait(
        prom_port, "meshbot_link_frames_received_total", [](double v) { return v > 0; }, 10s);
    REQUIRE(frames);

    // The radio reboots and stays away for a while: the next scrapes see the link down.
    sim.command("reboot 6");
    CHECK(prometheus_wait(
        prom_port, "meshbot_link_up", [](double v) { return v == 0.0; }, 20s));
    // Back, and traffic flows: the counters the operator graphs move.
    CHECK(prometheus_wait(prom_port, "meshbot_link_up", up, 30s));
    REQUIRE(echo_answers(sim, "scraped"));
    CHECK(prometheus_wait(
        prom_port, "meshbot_link_frames_received_total", [&](double v) { return v > *frames; },
        20s));
    CHECK(prometheus_wait(
        prom_port, "meshbot_link_reconnects_total", [](double v) { return v >= 1; }, 20s));
    CHECK(prometheus_wait(
        prom_port, "meshbot_commands_total", [](double v) { return v >= 1; }, 20s));
    check_bot_traffic(sim);
}

TEST_CASE("the listener wants its token, answers only loopback names, and survives junk",
          "[http]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugins(), {},
                              "[http]\nlisten = \"127.0.0.1:0\"\ntoken = \"" + kToken + "\"\n"));
    const auto port = http_port(bot);

    // The page itself holds nothing and asks for the token; the data needs it.
    const auto page = http_get(port, "/");
    CHECK(page.status == 200);
    CHECK(page.body.find("<title>meshbot status</title>") != std::string::npos);
    CHECK(page.headers.at("content-security-policy").find("default-src 'none'") !=
          std::string::npos);
    for (const std::string target : {"/metrics", "/api/status", "/api/nodes"}) {
        INFO(target);
        CHECK(http_get(port, target).status == 401);
        CHECK(http_get(port, target, {"Authorization: Bearer wrong-token-wrong-token"}).status ==
              401);
        CHECK(http_get(port, target, {"Authorization: Bearer " + kToken}).status == 200);
    }
    CHECK(http_get(port, "/nothing", {"Authorization: Bearer " + kToken}).status == 404);

    // Junk: not HTTP, an endless header, a client that never finishes. The bot answers next.
    {
        const int fd = connect_to(port);
        const std::string junk(64 * 1024, 'x');
        (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
        ::close(fd);
    }
    CHECK(http_get(port, "/api/status", {"Authorization: Bearer " + kToken}).status == 200);
    // One client address holds at most 16 connections: the 17th is closed at once, and once
    // the flood ends the listener answers again.
    {
        std::vector<int> idle;
        for (int i = 0; i < 17; ++i)
            idle.push_back(connect_to(port));
        pollfd p{idle.back(), POLLIN, 0};
        REQUIRE(::poll(&p, 1, 5000) == 1);
        char byte = 0;
        CHECK(::recv(idle.back(), &byte, 1, 0) <= 0);  // closed by the bot, unanswered
        for (const int fd : idle)
            ::close(fd);
    }
    // The bot frees the slots as it reads their ends: answered again within a deadline.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (http_get(port, "/api/status", {"Authorization: Bearer " + kToken}).status != 200 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    CHECK(http_get(port, "/api/status", {"Authorization: Bearer " + kToken}).status == 200);
    CHECK(http_get(port, "/api/status",
                   {"Authorization: Bearer " + kToken, "X-Pad: " + std::string(20000, 'p')})
              .status != 200);
    CHECK(echo_answers(sim, "still"));
}

TEST_CASE("without a token, a request naming another host is refused (DNS rebinding)", "[http]") {
    SimProcess sim;
    RunningBot bot(config_for(sim, echo_plugins(), {}, "[http]\nlisten = \"127.0.0.1:0\"\n"));
    const auto port = http_port(bot);
    CHECK(http_get(port, "/api/status").status == 200);
    CHECK(http_get(port, "/api/status", {"Host: localhost:" + std::to_string(port)}).status == 200);
    const auto rebound = http_get(port, "/api/status", {"Host: attacker.example:9464"});
    CHECK(rebound.status == 421);
    CHECK(rebound.body.find("\"link\"") == std::string::npos);
}
