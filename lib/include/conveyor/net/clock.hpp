#pragma once

// Time as the HTTP stage sees it: what the time is and how to wait. Injectable so that tests of
// retries, Retry-After and rate limits check the delays asked for instead of sleeping.
// Exposes Asio's awaitable (like stage/stream_stage.hpp); no Beast.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>

namespace conveyor::net {

class Clock {
public:
    virtual ~Clock() = default;
    [[nodiscard]] virtual std::chrono::steady_clock::time_point now() const = 0;
    /// Wall-clock time, for Retry-After dates.
    [[nodiscard]] virtual std::chrono::system_clock::time_point system_now() const = 0;
    /// Suspends for `d`. Returns true when the time has passed, false when cancel_all()
    /// interrupted the wait. Only from the executor (strand) the clock was made for.
    virtual boost::asio::awaitable<bool> wait_for(std::chrono::nanoseconds d) = 0;
    /// Ends every pending sleep (they return false) and makes later sleeps return false at
    /// once. Only from the clock's executor.
    virtual void cancel_all() = 0;
};

/// The real clock: std::chrono clocks and Asio steady timers on `executor`.
std::unique_ptr<Clock> make_steady_clock(boost::asio::any_io_executor executor);

} // namespace conveyor::net
