#include "support/http_get.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace meshbot::testing {

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Decodes a chunked body (Beast answers HTTP/1.1 with Content-Length, but a test must not
// depend on that).
std::string unchunk(const std::string& body) {
    std::string out;
    std::size_t at = 0;
    while (at < body.size()) {
        const auto eol = body.find("\r\n", at);
        if (eol == std::string::npos) break;
        const std::size_t size = std::stoul(body.substr(at, eol - at), nullptr, 16);
        if (size == 0) break;
        out += body.substr(eol + 2, size);
        at = eol + 2 + size + 2;
    }
    return out;
}

}  // namespace

HttpReply http_get(std::uint16_t port, const std::string& target,
                   const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
    HttpReply reply;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        reply.error = std::strerror(errno);
        return reply;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        reply.error = std::string("connect: ") + std::strerror(errno);
        ::close(fd);
        return reply;
    }
    std::string request = "GET " + target + " HTTP/1.1\r\n";
    const bool has_host = std::any_of(headers.begin(), headers.end(), [](const std::string& h) {
        return lower(h.substr(0, 5)) == "host:";
    });
    if (!has_host) request += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
    for (const auto& h : headers)
        request += h + "\r\n";
    request += "Connection: close\r\n\r\n";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string raw;
    char buffer[65536];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            reply.error = "no complete answer in time";
            ::close(fd);
            return reply;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
        reply.error = "not an HTTP answer: " + raw.substr(0, 80);
        return reply;
    }
    std::istringstream head(raw.substr(0, end));
    std::string line;
    std::getline(head, line);
    reply.status = std::atoi(line.substr(line.find(' ') + 1).c_str());
    while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        reply.headers[lower(line.substr(0, colon))] = value;
    }
    reply.body = raw.substr(end + 4);
    if (reply.headers["transfer-encoding"] == "chunked") reply.body = unchunk(reply.body);
    return reply;
}

std::optional<std::uint16_t> http_port_from_log(const std::string& line) {
    const std::string marker = "http: listening on 127.0.0.1:";
    const auto at = line.find(marker);
    if (at == std::string::npos) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(line.substr(at + marker.size())));
}

std::optional<double> metric_value(const std::string& page, const std::string& name,
                                   const std::string& labels) {
    std::istringstream in(page);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) continue;
        const char next = line.size() > name.size() ? line[name.size()] : '\0';
        if (next != ' ' && next != '{') continue;
        const auto close = line.find('}');
        if (!labels.empty() &&
            (next != '{' || line.substr(0, close).find(labels) == std::string::npos))
            continue;
        const auto value_at = line.find(' ', next == '{' ? close : name.size());
        if (value_at == std::string::npos) continue;
        return std::stod(line.substr(value_at + 1));
    }
    return std::nullopt;
}

}  // namespace meshbot::testing
