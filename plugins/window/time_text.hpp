#pragma once

#include "conveyor/core/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Durations and timestamps as window.apply reads and writes them. Times are milliseconds
/// since the Unix epoch (UTC).
namespace conveyor::plugins::window {

/// "250ms", "10s", "5m", "2h", "1d" (a whole number, 0 or more, and a unit). nullopt otherwise.
std::optional<std::int64_t> parse_duration_ms(std::string_view text) noexcept;

/// RFC 3339 / ISO 8601 date-times: "2024-05-01T12:00:00Z", "2024-05-01 12:00:00.250+02:00",
/// "2024-05-01T12:00:00" (no offset: UTC). Fractions beyond milliseconds are truncated.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text) noexcept;

/// The times window.apply handles: what RFC 3339 can write, 0000-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999Z. Keeping every time (and window bound) in this range keeps all
/// arithmetic on times far from the limits of std::int64_t.
inline constexpr std::int64_t kMinTimeMs = -62167219200000; // 0000-01-01T00:00:00Z
inline constexpr std::int64_t kMaxTimeMs = 253402300799999; // 9999-12-31T23:59:59.999Z
/// The longest duration an option may give: the whole range above.
inline constexpr std::int64_t kMaxDurationMs = kMaxTimeMs - kMinTimeMs;

enum class EpochUnit : std::uint8_t { Seconds, Milliseconds };

/// A record's time as read from its field.
struct Timestamp {
    enum class Status : std::uint8_t {
        Ok,         ///< `ms` holds it, within [kMinTimeMs, kMaxTimeMs]
        NotATime,   ///< null, absent, a boolean, text that is no date-time
        OutOfRange, ///< a time, but outside [kMinTimeMs, kMaxTimeMs] (or too large to compute)
    };
    Status status = Status::NotATime;
    std::int64_t ms = 0;
};

/// A record's timestamp: an RFC 3339 string (also with an ISO 8601 expanded year such as
/// "+275760-09-13T00:00:00Z", always out of range), or a number of seconds (or
/// milliseconds) since the epoch.
Timestamp read_timestamp(const Value& v, EpochUnit unit) noexcept;

/// read_timestamp's time when it is Ok; nullopt otherwise.
std::optional<std::int64_t> timestamp_ms(const Value& v, EpochUnit unit) noexcept;

/// "2024-05-01T12:00:00Z", with ".250" when the milliseconds are not zero.
std::string format_rfc3339(std::int64_t ms);

} // namespace conveyor::plugins::window
