// How durations and repeated warnings read in the log: natural durations ("30 s", "250 ms"),
// send outcomes by name, and a burst of one warning logged as one line plus one summary.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "config/app_config.hpp"
#include "config/duration_text.hpp"
#include "radio/outbox.hpp"
#include "radio/warning_throttle.hpp"

using namespace std::chrono_literals;
using meshbot::config::duration_text;
using meshbot::config::Seconds;

TEST_CASE("durations print the way a person writes them", "[log_text]") {
    CHECK(duration_text(Seconds{30}) == "30 s");
    CHECK(duration_text(Seconds{1.5}) == "1.5 s");
    CHECK(duration_text(Seconds{0.25}) == "250 ms");
    CHECK(duration_text(Seconds{0.0005}) == "0.5 ms");
    CHECK(duration_text(Seconds{0.1634}) == "163 ms");
    CHECK(duration_text(Seconds{0.9996}) == "1 s");
    CHECK(duration_text(Seconds{0}) == "0 s");
    CHECK(duration_text(Seconds{59.96}) == "1 min");
    CHECK(duration_text(Seconds{90}) == "1 min 30 s");
    CHECK(duration_text(Seconds{600}) == "10 min");
    CHECK(duration_text(Seconds{7200}) == "2 h");
    CHECK(duration_text(Seconds{5400}) == "1 h 30 min");
    CHECK(duration_text(std::chrono::milliseconds(1500)) == "1.5 s");
    CHECK(duration_text(std::chrono::steady_clock::duration(std::chrono::seconds(3))) == "3 s");
}

TEST_CASE("send outcomes have names", "[log_text]") {
    using S = meshbot::radio::SendResult::Status;
    CHECK(std::string(meshbot::radio::to_string(S::rejected_full)) == "rejected_full");
    CHECK(std::string(meshbot::radio::to_string(S::nak)) == "nak");
    CHECK(std::string(meshbot::radio::to_string(S::expired)) == "expired");
}

TEST_CASE("a burst of one warning is one line and one summary with the count", "[log_text]") {
    boost::asio::io_context io;
    std::vector<std::uint64_t> summaries;
    meshbot::radio::WarningThrottle throttle(
        io.get_executor(), 50ms, [&](std::uint64_t more, std::chrono::steady_clock::duration) {
            summaries.push_back(more);
        });
    int logged = 0;
    for (int i = 0; i < 300; ++i)
        if (throttle.allow()) ++logged;
    CHECK(logged == 1);
    CHECK(summaries.empty());  // the summary waits for the end of the period
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (summaries.empty() && std::chrono::steady_clock::now() < deadline)
        io.run_one_for(10ms);
    REQUIRE(summaries.size() == 1);
    CHECK(summaries[0] == 299);
    // A quiet period with nothing to report ends the throttling: the next one logs in full.
    io.restart();
    io.run_for(2s);  // returns as soon as the throttle has nothing left to wait for
    CHECK(summaries.size() == 1);
    CHECK(throttle.allow());
}
