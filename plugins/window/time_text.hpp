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

enum class EpochUnit : std::uint8_t { Seconds, Milliseconds };

/// A record's timestamp: an RFC 3339 string, or a number of seconds (or milliseconds) since
/// the epoch. nullopt for anything else (null, absent, other text).
std::optional<std::int64_t> timestamp_ms(const Value& v, EpochUnit unit) noexcept;

/// "2024-05-01T12:00:00Z", with ".250" when the milliseconds are not zero.
std::string format_rfc3339(std::int64_t ms);

} // namespace conveyor::plugins::window
