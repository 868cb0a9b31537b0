#include "radio/endpoint_registry.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

namespace meshbot::radio {

namespace {

struct Registry {
    std::mutex mutex;
    std::set<std::string> claimed;
};

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace

EndpointClaim::EndpointClaim(std::string endpoint) : endpoint_(std::move(endpoint)) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    if (!r.claimed.insert(endpoint_).second) {
        std::string taken = std::move(endpoint_);
        endpoint_.clear();
        throw EndpointInUse("a radio link to " + taken +
                            " already exists in this process; the radio serves one client at a "
                            "time, so a second link would disconnect the first");
    }
}

EndpointClaim::~EndpointClaim() { release(); }

EndpointClaim::EndpointClaim(EndpointClaim&& other) noexcept
    : endpoint_(std::exchange(other.endpoint_, {})) {}

EndpointClaim& EndpointClaim::operator=(EndpointClaim&& other) noexcept {
    if (this != &other) {
        release();
        endpoint_ = std::exchange(other.endpoint_, {});
    }
    return *this;
}

void EndpointClaim::release() noexcept {
    if (endpoint_.empty()) return;
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.claimed.erase(endpoint_);
    endpoint_.clear();
}

std::string tcp_endpoint_key(const std::string& host, unsigned port) {
    std::string h = host;
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return "tcp:" + h + ":" + std::to_string(port);
}

std::string serial_endpoint_key(const std::string& device) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(device, ec);
    return "serial:" + (ec ? device : canonical.string());
}

bool endpoint_claimed(const std::string& endpoint) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    return r.claimed.count(endpoint) != 0;
}

}  // namespace meshbot::radio
