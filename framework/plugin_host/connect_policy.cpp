#include "plugin_host/connect_policy.hpp"

#include <sys/socket.h>

#include <cstring>

#include "radio/endpoint_registry.hpp"
#include "radio/ip_address.hpp"

namespace meshbot::plugins {

ConnectVerdict decide_connect(const void* sockaddr, unsigned length, const ConnectPolicy& policy) {
    ConnectVerdict verdict;
    const auto target = radio::ip_endpoint(sockaddr, length);
    if (!target) {
        sa_family_t family = AF_UNSPEC;
        if (sockaddr != nullptr && length >= sizeof family)
            std::memcpy(&family, sockaddr, sizeof family);
        verdict.target = "address family " + std::to_string(family);
        verdict.why = family == AF_UNIX ? "unix sockets are the host's and other programs'"
                                        : "only IPv4 and IPv6 connections are brokered";
        return verdict;
    }
    verdict.target = target->to_string();
    const bool here = radio::is_this_machine(*target);
    const auto configured = radio::parse_ip(policy.radio_host, policy.radio_port);
    const bool radio_port = policy.radio_port != 0 && target->port == policy.radio_port;
    // A radio named by a host name may not have been resolved yet: its port is the radio's
    // wherever it points.
    if (radio_port && (here || !configured || configured->same_ip(*target))) {
        verdict.why = "the radio's API endpoint";
        return verdict;
    }
    if (radio::is_radio_endpoint(*target)) {
        verdict.why = "a radio link's endpoint";
        return verdict;
    }
    const bool radio_elsewhere =
        (configured && configured->same_ip(*target)) || radio::is_radio_ip(*target);
    if (radio_elsewhere && !here) {
        // The radio on the LAN: its web server speaks the same API over HTTP.
        verdict.why = "the radio's own address";
        return verdict;
    }
    if (here && policy.local_ports.count(target->port) == 0) {
        verdict.why = "a port on this machine not listed in allow_local_ports";
        return verdict;
    }
    verdict.allowed = true;
    return verdict;
}

}  // namespace meshbot::plugins
