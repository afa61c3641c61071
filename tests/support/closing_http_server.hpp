#pragma once

// A plain-socket HTTP/1.1 server on 127.0.0.1 (ephemeral port) that closes every connection
// after its first response, though the response promises keep-alive (no "Connection: close"):
// the server a keep-alive client must not lose requests to. A thread per connection; every
// response is a 200 with a small JSON body. The destructor stops it. Asio/Beast stay out: the
// point is to control the socket calls and their order exactly, without timing.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace conveyor::test {

class ClosingHttpServer {
public:
    /// How a connection ends after its response.
    enum class Close {
        /// The response is corked (TCP_CORK) and close() sends it with the FIN: the client finds
        /// the connection closed by the time it has read the response.
        WithResponse,
        /// write() the response, then close(): a fast client may send its next request on the
        /// connection before the close reaches it.
        AfterResponse,
        /// The worst timing of AfterResponse, made certain: the response, then close() once the
        /// client's next request (or its end of the connection) has arrived, unread (the client
        /// sees a reset). A client that reuses the connection always loses that request.
        WhenTheNextRequestArrives,
    };

    /// The first response goes with `first`, every later one with `rest`. When they differ, the
    /// first response waits until `requests_at_first` requests have arrived (a client's first
    /// `concurrency` requests), and the later ones until the client has opened a connection
    /// after it: so the client has read the first (and, with WithResponse, seen that close)
    /// before any other.
    ClosingHttpServer(Close first, Close rest, std::size_t requests_at_first = 1);
    ~ClosingHttpServer();
    ClosingHttpServer(const ClosingHttpServer&) = delete;
    ClosingHttpServer& operator=(const ClosingHttpServer&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    /// "http://127.0.0.1:PORT" + path.
    [[nodiscard]] std::string url(const std::string& path) const;
    /// Complete requests read (each answered).
    [[nodiscard]] std::size_t requests() const;
    /// Connections accepted.
    [[nodiscard]] std::size_t connections() const;

private:
    void accept_loop();
    void serve(int fd);
    /// Blocks until the response may go out; returns how the connection ends, or false on stop.
    bool take_turn(Close& close);

    Close first_;
    Close rest_;
    std::size_t requests_at_first_;
    int listener_ = -1;
    int stop_[2] = {-1, -1}; ///< a pipe: readable once the destructor asks the threads to end
    std::uint16_t port_ = 0;
    mutable std::mutex mu_;
    std::condition_variable turn_;
    std::size_t requests_ = 0;
    std::size_t connections_ = 0;
    bool first_claimed_ = false;
    bool answered_first_ = false;
    std::size_t connections_at_first_ = 0; ///< connections_ when the first response went out
    bool stopping_ = false;
    std::vector<std::thread> sessions_; ///< under mu_
    std::thread acceptor_;
};

} // namespace conveyor::test
