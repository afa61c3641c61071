#pragma once

// A blocking HTTP/1.1 client for tests (127.0.0.1 only): sends one request with
// "Connection: close" and reads the response until the server closes, bounded by a deadline.
// Also used by tests/integration/observe_metrics_test.cpp.

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace conveyor::test {

struct HttpReply {
    int status = 0;
    std::string head; ///< status line and headers
    std::string body;
};

/// Sends `raw` (a whole request) to 127.0.0.1:port; returns everything the server sent before
/// closing, or nullopt when it cannot connect or the deadline passes.
inline std::optional<std::string>
http_exchange(unsigned short port, const std::string& raw,
              std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    std::size_t sent = 0;
    while (sent < raw.size()) {
        const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            ::close(fd);
            return std::nullopt;
        }
        sent += static_cast<std::size_t>(n);
    }
    const auto end = std::chrono::steady_clock::now() + deadline;
    std::string out;
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::close(fd);
            return std::nullopt;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

inline std::optional<HttpReply> http_request(unsigned short port, const std::string& method,
                                             const std::string& target) {
    auto raw = http_exchange(port, method + " " + target +
                                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (!raw) return std::nullopt;
    HttpReply r;
    const auto split = raw->find("\r\n\r\n");
    if (split == std::string::npos || raw->compare(0, 9, "HTTP/1.1 ") != 0) return std::nullopt;
    r.head = raw->substr(0, split);
    r.body = raw->substr(split + 4);
    r.status = std::stoi(raw->substr(9, 3));
    return r;
}

} // namespace conveyor::test
