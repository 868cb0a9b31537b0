#pragma once
// The process-wide list of radio endpoints that have a link: the firmware serves one API client
// at a time, so a second link to the same radio would knock the first one off.

#include <stdexcept>
#include <string>

#include "radio/ip_address.hpp"

namespace meshbot::radio {

class EndpointInUse : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// RAII claim on one endpoint ("tcp:host:port" or "serial:/dev/path"); movable, not copyable.
// Any thread may create or destroy one: the registry is guarded by a mutex (claims are rare).
class EndpointClaim {
public:
    // Throws EndpointInUse when the endpoint is already claimed in this process.
    explicit EndpointClaim(std::string endpoint);
    ~EndpointClaim();
    EndpointClaim(EndpointClaim&& other) noexcept;
    EndpointClaim& operator=(EndpointClaim&& other) noexcept;
    EndpointClaim(const EndpointClaim&) = delete;
    EndpointClaim& operator=(const EndpointClaim&) = delete;

    const std::string& endpoint() const { return endpoint_; }

private:
    void release() noexcept;
    std::string endpoint_;
};

// The registry key for a TCP endpoint; the host is lower-cased so "LOCALHOST" and "localhost"
// match.
std::string tcp_endpoint_key(const std::string& host, unsigned port);
// The registry key for a serial device; symlinks are resolved so /dev/serial/by-id/... matches
// the /dev/ttyUSB0 it points to.
std::string serial_endpoint_key(const std::string& device);

// True when `endpoint` (a key as above) is claimed by a link in this process.
bool endpoint_claimed(const std::string& endpoint);

// The runtime connect guard's view: the socket addresses radio links connect to, and the
// sockets that belong to a link. Any thread (a plugin's worker may call connect()).
void note_radio_address(const void* sockaddr, unsigned length);
void note_radio_endpoint(const IpEndpoint& endpoint);
void allow_link_socket(int fd);
void forget_link_socket(int fd);
// False for a connect() to a radio endpoint from a socket that is not a link's own.
bool connect_permitted(int fd, const void* sockaddr, unsigned length);
// A radio link's address and port, or this machine (any spelling) at a radio link's port.
bool is_radio_endpoint(const IpEndpoint& target);
// A radio link's address, at any port.
bool is_radio_ip(const IpEndpoint& target);

}  // namespace meshbot::radio
