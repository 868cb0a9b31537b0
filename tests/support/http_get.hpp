#pragma once
// A plain HTTP/1.1 GET to 127.0.0.1 for tests of the bot's listener: one request per
// connection, read until the server closes. Blocking, with a deadline; test thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meshbot::testing {

struct HttpReply {
    int status = 0;                              // 0: no answer (error says why)
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string error;
};

// `headers`: extra request lines such as "Authorization: Bearer x"; the Host header is
// "127.0.0.1:<port>" unless one of them sets it.
HttpReply http_get(std::uint16_t port, const std::string& target,
                   const std::vector<std::string>& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The port in the bot's "http: listening on 127.0.0.1:PORT" line, once it is logged.
std::optional<std::uint16_t> http_port_from_log(const std::string& line);

// The value of the first sample of `name` (exactly, with or without labels) in a Prometheus
// text page; `labels` must appear inside its braces when given, e.g. "where=\"store\"".
std::optional<double> metric_value(const std::string& page, const std::string& name,
                                   const std::string& labels = {});

}  // namespace meshbot::testing
