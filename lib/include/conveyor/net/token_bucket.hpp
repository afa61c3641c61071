#pragma once

#include <chrono>

namespace conveyor::net {

/// A token bucket for `rate_limit_per_second`: `rate` tokens per second, holding at most `burst`
/// (starts full). Pure arithmetic on the time points it is given, so tests drive it with a fake
/// clock. Not thread-safe.
class TokenBucket {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    /// `burst` is clamped to at least 1 token.
    TokenBucket(double rate_per_second, double burst, TimePoint now);

    /// Takes one token and returns how long the caller must wait before using it: zero when a
    /// token was available, else the time until its token accrues. Calls made while the bucket
    /// is empty queue up (each later caller waits one more interval), so the tokens used in any
    /// window of T seconds never exceed burst + rate * T.
    std::chrono::nanoseconds reserve(TimePoint now);

    [[nodiscard]] double rate() const noexcept { return rate_; }
    [[nodiscard]] double burst() const noexcept { return burst_; }

private:
    double rate_;
    double burst_;
    double tokens_;
    TimePoint last_;
};

} // namespace conveyor::net
