#pragma once

// Time zones for time text: fixed UTC offsets and the IANA zones of the system's tz database
// (TZif files under $TZDIR or /usr/share/zoneinfo, read by our own reader), with the offset
// and abbreviation in force at an instant and the instant a local time names.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace conveyor::timefmt {

/// The local time type in force at an instant.
struct ZoneOffset {
    std::int32_t offset = 0; ///< seconds east of UTC
    bool dst = false;
    /// "CEST", "EST", "+0530"; empty for a fixed offset (which has none). Points into the zone.
    std::string_view abbreviation;
};

/// A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"): what a TZif file's footer says of the times
/// after its table, and what the TZ environment variable may say. Private to lib/src/format.
struct PosixRule;

/// What a local time (a wall-clock reading) names in a zone.
struct LocalResolution {
    /// The instant: the only one; for an ambiguous time (the hour repeated when clocks go
    /// back) the earlier of the two; for a time that does not exist (skipped when clocks go
    /// forward) the reading taken at the offset before the change, which is the same time moved
    /// forward by the length of the gap (02:30 in a 02:00 -> 03:00 gap is 03:30).
    std::int64_t utc = 0;
    enum class Kind : std::uint8_t { Unique, Ambiguous, Skipped } kind = Kind::Unique;
};

/// An immutable time zone, shared by pointer between threads.
class TimeZone {
public:
    /// A zone at a fixed offset (seconds east of UTC), with no abbreviation.
    static std::shared_ptr<const TimeZone> fixed(std::int32_t offset, std::string name);
    /// Reads TZif data (RFC 8536, versions 1 to 4: the 64-bit data and the footer's TZ rule of
    /// version 2 and later). nullptr (and `why` set when given) for data that is not TZif, is
    /// cut short or inconsistent, or counts leap seconds (the "right/" zones).
    static std::shared_ptr<const TimeZone> from_tzif(std::string name, std::string_view data,
                                                     std::string* why = nullptr);
    /// A zone from a POSIX TZ rule alone ("EST5EDT,M3.2.0,M11.1.0", "<+0530>-5:30").
    static std::shared_ptr<const TimeZone> from_posix(std::string name, std::string_view rule,
                                                      std::string* why = nullptr);

    TimeZone(const TimeZone&) = delete;
    TimeZone& operator=(const TimeZone&) = delete;
    ~TimeZone();

    /// "Europe/Berlin", "+02:00", "UTC".
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// True for a fixed offset (UTC, "+02:00").
    [[nodiscard]] bool is_fixed() const noexcept;
    /// The offset and abbreviation in force at `utc_seconds` (UTC -> local).
    [[nodiscard]] ZoneOffset at(std::int64_t utc_seconds) const noexcept;
    /// The instant a local reading names (`local_seconds`: the wall-clock date and time counted
    /// as if it were UTC); see LocalResolution for gaps and overlaps.
    [[nodiscard]] LocalResolution to_utc(std::int64_t local_seconds) const noexcept;

private:
    struct Type {
        std::int32_t offset = 0;
        bool dst = false;
        std::string abbreviation;
    };
    TimeZone() = default;
    [[nodiscard]] ZoneOffset of(const Type& t) const noexcept {
        return {t.offset, t.dst, t.abbreviation};
    }

    std::string name_;
    std::vector<std::int64_t> transitions_;      ///< UTC, ascending
    std::vector<std::uint8_t> transition_types_; ///< index into types_, one per transition
    std::vector<Type> types_;                    ///< at least one; [0] before the first
    std::unique_ptr<const PosixRule> rule_;      ///< after the last transition, when given
    /// Every offset at() can give (types_ and the rule's), each once: to_utc() tries them all.
    std::vector<std::int32_t> offsets_;
    void list_offsets();
    friend struct TzifReader;
};

/// The zone `name` names: "UTC" (also "Z", "GMT"), a fixed offset ("+02:00", "-0530"),
/// "local" (the process's zone: the TZ environment variable, else /etc/localtime, else UTC),
/// or an IANA name ("Europe/Berlin") read from $TZDIR, else /usr/share/zoneinfo. Loaded once
/// and cached: every later call with the same name (and directory) returns the same zone; safe
/// to call from any thread. A name that is absolute, has a ".." or "." part or other
/// characters than letters, digits and "/_-+." is refused without looking at the disk.
/// nullptr when there is no such zone, with `why` set when given to a message naming it
/// ("unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)").
std::shared_ptr<const TimeZone> find_zone(std::string_view name, std::string* why = nullptr);

/// The directory IANA zones are read from: $TZDIR when set and not empty, else
/// /usr/share/zoneinfo.
std::string zone_directory();

/// Every zone name under zone_directory() (files that are TZif data, without the "posix/" and
/// "right/" copies), sorted; for "did you mean". Reads the directory on every call.
std::vector<std::string> zone_names();

} // namespace conveyor::timefmt
