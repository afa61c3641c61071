#include "support/closing_http_server.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace conveyor::test {

namespace {

/// Waits until `fd` is readable (data, end or error) or the stop pipe is; false on stop.
bool wait_readable(int fd, int stop) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop, POLLIN, 0}};
    for (;;) {
        const int n = ::poll(p, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        return n > 0 && p[1].revents == 0;
    }
}

/// The value of Content-Length in the header block `head` (0 when absent).
std::size_t content_length(const std::string& head) {
    static constexpr std::string_view kName = "\r\ncontent-length:";
    std::string lower(head.size(), '\0');
    for (std::size_t i = 0; i < head.size(); ++i)
        lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(head[i])));
    const std::size_t at = lower.find(kName);
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + kName.size()));
}

/// Reads one whole request from `fd`; false when the connection ended first or on stop.
bool read_request(int fd, int stop) {
    std::string in;
    char buf[4096];
    std::size_t need = std::string::npos;
    while (in.size() < need) {
        if (!wait_readable(fd, stop)) return false;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        in.append(buf, static_cast<std::size_t>(n));
        if (need == std::string::npos) {
            const std::size_t end = in.find("\r\n\r\n");
            if (end != std::string::npos) need = end + 4 + content_length(in.substr(0, end + 2));
        }
    }
    return true;
}

void send_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
}

} // namespace

ClosingHttpServer::ClosingHttpServer(Close first, Close rest, std::size_t requests_at_first)
    : first_(first), rest_(rest), requests_at_first_(requests_at_first) {
    if (::pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 128) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error(std::string("cannot listen on 127.0.0.1: ") +
                                 std::strerror(errno));
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

ClosingHttpServer::~ClosingHttpServer() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    turn_.notify_all();
    (void)!::write(stop_[1], "x", 1);
    acceptor_.join();
    // The acceptor has ended: sessions_ no longer grows.
    for (std::thread& t : sessions_)
        t.join();
    ::close(listener_);
    ::close(stop_[0]);
    ::close(stop_[1]);
}

std::string ClosingHttpServer::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::size_t ClosingHttpServer::requests() const {
    std::lock_guard lock(mu_);
    return requests_;
}

std::size_t ClosingHttpServer::connections() const {
    std::lock_guard lock(mu_);
    return connections_;
}

void ClosingHttpServer::accept_loop() {
    for (;;) {
        if (!wait_readable(listener_, stop_[0])) return;
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::lock_guard lock(mu_);
        ++connections_;
        turn_.notify_all();
        sessions_.emplace_back([this, fd] { serve(fd); });
    }
}

bool ClosingHttpServer::take_turn(Close& close) {
    std::unique_lock lock(mu_);
    ++requests_;
    turn_.notify_all();
    if (first_ == rest_) {
        close = rest_;
        return true;
    }
    if (!first_claimed_) {
        first_claimed_ = true;
        turn_.wait(lock, [&] { return stopping_ || requests_ >= requests_at_first_; });
        connections_at_first_ = connections_;
        answered_first_ = true;
        turn_.notify_all();
        close = first_;
        return !stopping_;
    }
    close = rest_;
    turn_.wait(lock, [&] {
        return stopping_ || (answered_first_ && connections_ > connections_at_first_);
    });
    return !stopping_;
}

void ClosingHttpServer::serve(int fd) {
    Close close = rest_;
    if (read_request(fd, stop_[0]) && take_turn(close)) {
        const std::string body = "{\"ok\":true}";
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body;
        if (close == Close::WithResponse) {
            const int on = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        }
        send_all(fd, response);
        if (close == Close::WhenTheNextRequestArrives) (void)wait_readable(fd, stop_[0]);
    }
    ::close(fd);
}

} // namespace conveyor::test
