#pragma once

// Host name lookups for one HTTP client: shared by the requests that need the same name at the
// same time, and remembered for a while. Asio runs every getaddrinfo() of an io_context on one
// private thread, one after the other, so without sharing, a thousand new connections to one
// host made a thousand lookups in a row, and a misspelt host name cost one lookup (up to
// seconds against an unreachable name server) for every record. Internal to the net library.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace conveyor::net {

/// What one lookup (or its remembered outcome) gave: the addresses, or the resolver's error.
struct LookupResult {
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    boost::system::error_code error;
};

/// One request's part in a lookup, so that its deadline or a cancel can end its wait.
class LookupWait {
public:
    /// Ends the wait at once: resolve() returns operation_aborted. Idempotent.
    void abort();
    [[nodiscard]] bool aborted() const noexcept { return aborted_; }

private:
    friend class HostLookups;
    bool aborted_ = false;
    boost::asio::ip::tcp::resolver* resolver_ = nullptr;
    boost::asio::steady_timer* timer_ = nullptr;
};

/// Not thread-safe: used from the strand of its client only.
class HostLookups {
public:
    /// How long a found address, and a name the resolver says does not exist, are remembered.
    /// A temporary failure (no answer from the name server) is not remembered: a retry asks
    /// again.
    static constexpr std::chrono::seconds kFoundFor{30};
    static constexpr std::chrono::seconds kNotFoundFor{10};
    /// Names remembered at most; past it, the expired ones are forgotten, then all of them.
    static constexpr std::size_t kMaxRemembered = 4096;

    explicit HostLookups(boost::asio::any_io_executor executor);
    ~HostLookups();
    HostLookups(const HostLookups&) = delete;
    HostLookups& operator=(const HostLookups&) = delete;

    /// The addresses of `host`:`port`: remembered ones, those of a lookup in progress for the
    /// same name (waited for), or a new lookup's. Cancellation: `wait.abort()` ends it with
    /// operation_aborted (the lookup itself goes on for the others waiting for it).
    boost::asio::awaitable<LookupResult> resolve(const std::string& host, std::uint16_t port,
                                                 LookupWait& wait);

    /// getaddrinfo() calls made so far.
    [[nodiscard]] std::uint64_t lookups() const noexcept { return lookups_; }

private:
    struct Remembered {
        std::chrono::steady_clock::time_point until;
        LookupResult result;
    };
    /// A lookup in progress: the timers of the requests waiting for it, woken when it ends.
    struct InProgress {
        std::vector<boost::asio::steady_timer*> waiting;
    };

    boost::asio::awaitable<LookupResult> look_up(const std::string& key, const std::string& host,
                                                 std::uint16_t port, LookupWait& wait);
    void remember(const std::string& key, const LookupResult& result);

    boost::asio::any_io_executor executor_;
    std::unordered_map<std::string, Remembered> remembered_;
    std::unordered_map<std::string, std::shared_ptr<InProgress>> in_progress_;
    std::uint64_t lookups_ = 0;
};

} // namespace conveyor::net
