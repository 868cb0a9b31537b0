#pragma once
// Captures what the process logs through spdlog's default logger, for tests that check the
// words (and levels) an operator would read. Header-only: the unit tests use it too.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::testing {

// Owns a logger installed as spdlog's default (every level, "<level> <text>" lines) and puts
// the previous default back when destroyed. Test thread.
class LogCapture {
public:
    LogCapture()
        : previous_(spdlog::default_logger()),
          sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
        auto logger = std::make_shared<spdlog::logger>("capture", sink_);
        logger->set_pattern("%l %v");
        logger->set_level(spdlog::level::trace);
        spdlog::set_default_logger(std::move(logger));
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    // Every line so far, e.g. "error key journal ... ".
    std::vector<std::string> lines() const {
        sink_->flush();
        std::vector<std::string> out;
        std::istringstream in(out_.str());
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }
    // The lines at `level` ("info", "error", ...) that contain `needle`.
    std::vector<std::string> find(std::string_view level, std::string_view needle) const {
        auto all = lines();
        std::vector<std::string> out;
        const std::string prefix = std::string(level) + " ";
        std::copy_if(all.begin(), all.end(), std::back_inserter(out), [&](const std::string& l) {
            return l.rfind(prefix, 0) == 0 && l.find(needle) != std::string::npos;
        });
        return out;
    }
    std::string text() const {
        sink_->flush();
        return out_.str();
    }
    void clear() { out_.str({}); }

private:
    std::shared_ptr<spdlog::logger> previous_;
    std::ostringstream out_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace meshbot::testing
