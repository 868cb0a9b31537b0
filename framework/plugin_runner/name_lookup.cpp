#include "plugin_runner/name_lookup.hpp"

#include <dlfcn.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "plugin_channel.pb.h"

namespace meshbot::runner {

namespace {

int g_fd = -1;
std::mutex g_mutex;  // one lookup at a time on the descriptor: any plugin thread may ask
constexpr int kAnswerTimeoutMs = 30000;
constexpr std::size_t kMaxAnswer = 64 * 1024;

int ask_host(const channel::ResolveRequest& request, channel::ResolveAnswer& answer) {
    const std::string bytes = request.SerializeAsString();
    const std::lock_guard lock(g_mutex);
    if (::send(g_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(bytes.size()))
        return EAI_SYSTEM;
    pollfd ready{g_fd, POLLIN, 0};
    if (::poll(&ready, 1, kAnswerTimeoutMs) != 1) return EAI_AGAIN;
    std::string reply(kMaxAnswer, '\0');
    const ssize_t n = ::recv(g_fd, reply.data(), reply.size(), 0);
    if (n <= 0 || !answer.ParseFromArray(reply.data(), static_cast<int>(n))) return EAI_SYSTEM;
    return 0;
}

// One node of the list, laid out as glibc's freeaddrinfo() frees it: the node and its address
// in one allocation, the canonical name in another.
addrinfo* make_node(const std::string& address, const addrinfo* hints) {
    auto* node = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + address.size()));
    if (node == nullptr) return nullptr;
    auto* storage = reinterpret_cast<char*>(node) + sizeof(addrinfo);
    std::memcpy(storage, address.data(), address.size());
    node->ai_addr = reinterpret_cast<sockaddr*>(storage);
    node->ai_addrlen = static_cast<socklen_t>(address.size());
    sa_family_t family = AF_UNSPEC;
    std::memcpy(&family, address.data(), sizeof family);
    node->ai_family = family;
    node->ai_socktype = hints && hints->ai_socktype ? hints->ai_socktype : SOCK_STREAM;
    node->ai_protocol = hints ? hints->ai_protocol : 0;
    return node;
}

}  // namespace

void look_up_names_through(int fd) {
    g_fd = fd;
}

}  // namespace meshbot::runner

using meshbot::runner::g_fd;

extern "C" __attribute__((visibility("default"))) int getaddrinfo(const char* node,
                                                                  const char* service,
                                                                  const addrinfo* hints,
                                                                  addrinfo** result) {
    using Fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
    if (g_fd < 0) {
        static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
        return real ? real(node, service, hints, result) : EAI_SYSTEM;
    }
    if (result == nullptr || (node == nullptr && service == nullptr)) return EAI_NONAME;
    if (hints && hints->ai_socktype != 0 && hints->ai_socktype != SOCK_STREAM) {
        return EAI_SOCKTYPE;  // only TCP connections are brokered
    }
    meshbot::channel::ResolveRequest request;
    request.set_has_node(node != nullptr);
    if (node) request.set_node(node);
    request.set_has_service(service != nullptr);
    if (service) request.set_service(service);
    request.set_family(hints ? hints->ai_family : AF_UNSPEC);
    request.set_flags(hints ? hints->ai_flags : 0);
    meshbot::channel::ResolveAnswer answer;
    if (const int error = meshbot::runner::ask_host(request, answer)) return error;
    if (answer.error() != 0) return answer.error();
    addrinfo* head = nullptr;
    addrinfo** tail = &head;
    for (const auto& address : answer.addresses()) {
        if (address.size() < sizeof(sa_family_t)) continue;
        addrinfo* next = meshbot::runner::make_node(address, hints);
        if (next == nullptr) {
            freeaddrinfo(head);
            return EAI_MEMORY;
        }
        *tail = next;
        tail = &next->ai_next;
    }
    if (head == nullptr) return EAI_NONAME;
    if (!answer.canonical_name().empty())
        head->ai_canonname = ::strdup(answer.canonical_name().c_str());
    *result = head;
    return 0;
}
