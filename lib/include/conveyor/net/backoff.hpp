#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace conveyor::net {

/// A uniform random integer in [0, max_inclusive]. Injectable so tests see exact delays.
using UniformRandom = std::function<std::uint64_t(std::uint64_t max_inclusive)>;

/// A UniformRandom over a std::mt19937_64 seeded from std::random_device. Not thread-safe:
/// one per stage run.
UniformRandom default_random();

/// Exponential backoff with full jitter: the delay before retry number `attempt` (0 for the
/// first retry) is uniform in [0, min(max_delay, base_delay * 2^attempt)].
struct BackoffPolicy {
    std::chrono::milliseconds base_delay{100};
    std::chrono::milliseconds max_delay{10000};

    /// The ceiling min(max_delay, base_delay * 2^attempt), without overflow.
    [[nodiscard]] std::chrono::milliseconds ceiling(std::uint32_t attempt) const noexcept;
    [[nodiscard]] std::chrono::milliseconds delay(std::uint32_t attempt,
                                                  const UniformRandom& random) const;
};

/// Parses a Retry-After header value: delta-seconds ("120") or an HTTP-date (IMF-fixdate
/// "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete RFC 850 and asctime forms). A date in the
/// past gives zero. Returns nullopt when the value is neither.
std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

/// Parses an HTTP-date (the three forms of RFC 9110 section 5.6.7) as UTC.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value);

} // namespace conveyor::net
