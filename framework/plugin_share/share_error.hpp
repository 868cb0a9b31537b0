#pragma once
// Why an install, update or removal was refused or failed: one message for the operator.

#include <stdexcept>

namespace meshbot::share {

class ShareError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace meshbot::share
