#include "radio/endpoint_registry.hpp"

#include "radio/ip_address.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace meshbot::radio {

namespace {

struct Registry {
    std::mutex mutex;
    std::set<std::string> claimed;
    std::set<IpEndpoint> radio_addresses;  // where radio links connect
    std::set<int> link_sockets;
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

EndpointClaim::~EndpointClaim() {
    release();
}

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

void note_radio_address(const void* sockaddr, unsigned length) {
    if (const auto endpoint = ip_endpoint(sockaddr, length)) note_radio_endpoint(*endpoint);
}

void note_radio_endpoint(const IpEndpoint& endpoint) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.radio_addresses.insert(endpoint);
}

void allow_link_socket(int fd) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.link_sockets.insert(fd);
}

void forget_link_socket(int fd) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.link_sockets.erase(fd);
}

bool is_radio_endpoint(const IpEndpoint& target) {
    std::vector<IpEndpoint> radios;
    {
        auto& r = registry();
        std::lock_guard lock(r.mutex);
        radios.assign(r.radio_addresses.begin(), r.radio_addresses.end());
    }
    bool port_of_a_radio = false;
    for (const auto& radio : radios) {
        if (radio.port != target.port) continue;
        if (radio.same_ip(target)) return true;
        port_of_a_radio = true;
    }
    // Loopback, unspecified or one of this machine's own addresses: each reaches a radio
    // (or a simulator) listening here, however it is spelled.
    return port_of_a_radio && is_this_machine(target);
}

bool is_radio_ip(const IpEndpoint& target) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    for (const auto& radio : r.radio_addresses) {
        if (radio.same_ip(target)) return true;
    }
    return false;
}

bool connect_permitted(int fd, const void* sockaddr, unsigned length) {
    const auto target = ip_endpoint(sockaddr, length);
    if (!target) return true;
    {
        auto& r = registry();
        std::lock_guard lock(r.mutex);
        if (r.link_sockets.count(fd)) return true;
    }
    return !is_radio_endpoint(*target);
}

}  // namespace meshbot::radio
