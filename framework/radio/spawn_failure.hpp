#pragma once
// How a coroutine that ended with an exception is told in the log: the co_spawn completion
// handler of the bot's listeners and actors.

#include <exception>
#include <functional>
#include <string>

namespace meshbot::radio {

// The exception's what(), "unknown exception" for one that is no std::exception, "" for none.
// Any thread.
std::string failure_text(std::exception_ptr error);

// A co_spawn completion handler that logs "WHAT: why" as an error when the coroutine threw.
std::function<void(std::exception_ptr)> log_failure(std::string what);

}  // namespace meshbot::radio
