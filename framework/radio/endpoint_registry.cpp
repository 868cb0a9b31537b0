#include "radio/endpoint_registry.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

namespace meshbot::radio {

namespace {

struct Registry {
    std::mutex mutex;
    std::set<std::string> claimed;
    std::set<std::string> radio_addresses;  // family + address + port, as bytes
    std::set<int> link_sockets;
};

// A comparable form of an IPv4/IPv6 socket address (IPv4-mapped IPv6 folded to IPv4);
// empty for other families, which never reach a TCP radio.
std::string address_key(const void* sa, unsigned length) {
    if (sa == nullptr || length < sizeof(sa_family_t)) return {};
    sockaddr_storage ss{};
    std::memcpy(&ss, sa, std::min<std::size_t>(length, sizeof ss));
    if (ss.ss_family == AF_INET && length >= sizeof(sockaddr_in)) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
        return "4" + std::string(reinterpret_cast<const char*>(&in.sin_addr), 4) +
               std::string(reinterpret_cast<const char*>(&in.sin_port), 2);
    }
    if (ss.ss_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
        const auto* b = reinterpret_cast<const char*>(&in6.sin6_addr);
        static constexpr char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
        if (std::memcmp(b, mapped, 12) == 0) {
            return "4" + std::string(b + 12, 4) +
                   std::string(reinterpret_cast<const char*>(&in6.sin6_port), 2);
        }
        return "6" + std::string(b, 16) +
               std::string(reinterpret_cast<const char*>(&in6.sin6_port), 2);
    }
    return {};
}

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
    auto key = address_key(sockaddr, length);
    if (key.empty()) return;
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.radio_addresses.insert(std::move(key));
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

bool connect_permitted(int fd, const void* sockaddr, unsigned length) {
    const auto key = address_key(sockaddr, length);
    if (key.empty()) return true;
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    return !r.radio_addresses.count(key) || r.link_sockets.count(fd);
}

}  // namespace meshbot::radio
