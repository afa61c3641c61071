#pragma once

#include "conveyor/format/time_zone.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// Reading and writing points in time as text: ISO 8601 / RFC 3339 and strftime-style formats.
/// Independent of the process's locale and TZ: times are UTC instants; offsets written in the
/// text (`+02:00`, `Z`) are honoured when reading, and the zone (time_zone.hpp) of a text
/// without one, or of a text written, is chosen explicitly.
namespace conveyor::timefmt {

/// An instant: seconds since the Unix epoch (UTC) plus a fraction in nanoseconds [0, 1e9).
struct Instant {
    std::int64_t seconds = 0;
    std::int32_t nanos = 0;
};

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept;

/// Parses `text` with a strftime-style `format`: %Y %m %d %H %M %S %y %b %B %h %e %j %p %I %z
/// %Z %a %A %f (fraction digits) %s (epoch seconds) %F %T %D %R %% ; a space matches any run of
/// spaces; other characters match themselves. Without %z the text is taken as UTC. The whole text
/// must match. nullopt (and `why` set when given) otherwise.
std::optional<Instant> parse(std::string_view text, std::string_view format,
                             std::string* why = nullptr);

/// ISO 8601 / RFC 3339: `2024-05-01`, `2024-05-01T12:00`, `2024-05-01 12:00:00.25+02:00`,
/// `2024-05-01T12:00:00Z`. No offset means UTC.
std::optional<Instant> parse_iso(std::string_view text, std::string* why = nullptr);

/// As parse() (parse_iso() when `format` is empty), but a text without an offset (no %z or %Z,
/// no "Z" or "+02:00") is a local time in `zone`: see LocalResolution for the times a change
/// of the clocks skips or repeats. %s (epoch seconds) is no local time.
std::optional<Instant> parse_in_zone(std::string_view text, std::string_view format,
                                     const TimeZone& zone, std::string* why = nullptr);

/// A fixed UTC offset in seconds from "UTC", "Z", "GMT", "+02:00", "-0530", "+5". nullopt for
/// anything else (find_zone() also knows named zones such as "Europe/Paris").
std::optional<std::int32_t> parse_offset(std::string_view text) noexcept;

/// Formats `t` shifted by `offset_seconds` with a strftime-style format (the directives of
/// parse()). An empty format gives ISO 8601: `2024-05-01T12:00:00Z` (or `+02:00` when
/// offset), with a fraction (`.25`) only when there is one. nullopt (and `why` set when given)
/// when the year falls outside 0..9999 or the format has a directive neither function knows.
std::optional<std::string> format(Instant t, std::string_view fmt, std::int32_t offset_seconds,
                                  std::string* why = nullptr);
/// As above, at the offset `zone` has at `t`: %z and the ISO 8601 default write that offset,
/// %Z the zone's abbreviation ("CEST"; a fixed offset has none and writes "UTC" or "+02:00").
std::optional<std::string> format(Instant t, std::string_view fmt, const TimeZone& zone,
                                  std::string* why = nullptr);

/// The directives parse() and format() know, for messages: "%Y %m %d ...".
extern const std::string_view kDirectives;
/// The ones only format() knows: weekdays as numbers (%u Monday = 1 .. 7, %w Sunday = 0 .. 6),
/// week numbers (%U from Sunday, %W from Monday, 00 .. 53; %V ISO 8601, 01 .. 53) and the ISO
/// week-based year (%G, %g), which say nothing parse() could turn back into a day.
extern const std::string_view kFormatOnlyDirectives;

/// What a format is for: reading (parse) or writing (format) time text.
enum class TimeUse : std::uint8_t { Parse, Format };

/// The first directive of `fmt` that parse() (or format()) does not know ("%k"); nullopt when
/// it knows every one. A '%' at the very end is a literal '%'.
std::optional<std::string> unsupported_directive(std::string_view fmt,
                                                 TimeUse use = TimeUse::Parse);
/// The directives parse() (or format()) knows, for messages.
std::string supported_directives(TimeUse use);

} // namespace conveyor::timefmt
