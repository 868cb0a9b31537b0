#include "radio/spawn_failure.hpp"

#include <spdlog/spdlog.h>

namespace meshbot::radio {

std::string failure_text(std::exception_ptr error) {
    if (!error) return {};
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

std::function<void(std::exception_ptr)> log_failure(std::string what) {
    return [what = std::move(what)](std::exception_ptr error) {
        if (error) spdlog::error("{}: {}", what, failure_text(error));
    };
}

}  // namespace meshbot::radio
