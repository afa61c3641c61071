// Time text and time zones (lib/include/conveyor/format/time_text.hpp, time_zone.hpp) on
// arbitrary input: a mode byte, then a format up to the first NUL, a text up to the next, and
// the rest as zone data (TZif bytes or a POSIX TZ rule, as the mode says). Besides crashes,
// hangs, runaway allocations and undefined behaviour it checks what the functions promise:
// - a zone that loads is consistent: for an instant t of the years 0..9999 with offset o =
//   at(t).offset, the reading t + o exists (to_utc never calls it skipped), names t when it is
//   unique and at most t when it is ambiguous; every reading to_utc resolves to a unique or
//   ambiguous instant is the reading of that instant;
// - parse() and parse_in_zone() of the text with the format, and format() of instants (any,
//   even beyond the years 0..9999) with the format, fail cleanly or succeed;
// - a time written with a format whose directives carry the whole instant (date, time, offset
//   or zone) reads back as that instant (its fraction cut to what the format writes).

#include "conveyor/format/time_text.hpp"
#include "conveyor/format/time_zone.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace tf = conveyor::timefmt;

/// A broken promise: says which (the crash report's stack has no line for an inlined check).
void check(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    std::abort();
}
#define CHECK(x) check((x), __LINE__)

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years time text writes.
constexpr std::int64_t kMinSane = -62167219200;
constexpr std::int64_t kMaxSane = 253402300799;
/// A day and two hours inside them: an instant written at any offset stays in those years.
constexpr std::int64_t kMargin = 26 * 3600;

std::int64_t clamp_sane(std::int64_t t) {
    const std::int64_t lo = kMinSane + kMargin, hi = kMaxSane - kMargin;
    if (t >= lo && t <= hi) return t;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(static_cast<std::uint64_t>(t) % span);
}

/// Little-endian integer of up to 8 bytes at `at` of `s` (missing bytes are 0).
std::uint64_t bytes_at(std::string_view s, std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n && at + i < s.size(); ++i)
        v |= std::uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
    return v;
}

void check_instant(const tf::TimeZone& zone, std::int64_t t) {
    const tf::ZoneOffset z = zone.at(t);
    CHECK(z.offset > -100 * 3600 && z.offset < 100 * 3600);
    const tf::LocalResolution r = zone.to_utc(t + z.offset);
    CHECK(r.kind != tf::LocalResolution::Kind::Skipped);
    if (r.kind == tf::LocalResolution::Kind::Unique) CHECK(r.utc == t);
    if (r.kind == tf::LocalResolution::Kind::Ambiguous) CHECK(r.utc <= t);
}

void check_reading(const tf::TimeZone& zone, std::int64_t local) {
    const tf::LocalResolution r = zone.to_utc(local);
    if (r.kind != tf::LocalResolution::Kind::Skipped) CHECK(r.utc + zone.at(r.utc).offset == local);
}

/// Instants around whatever the zone data could name as a transition (every 4- and 8-byte
/// big-endian number in it), and a year of hours from a place the input chooses.
void check_zone(const tf::TimeZone& zone, std::string_view data, std::uint64_t seed) {
    for (std::int64_t t : {std::int64_t{0}, kMinSane + kMargin, kMaxSane - kMargin}) {
        check_instant(zone, t);
        check_reading(zone, t);
    }
    std::size_t budget = 400;
    for (std::size_t i = 0; i + 4 <= data.size() && budget > 0; ++i, --budget) {
        const auto* p = reinterpret_cast<const unsigned char*>(data.data() + i);
        std::int64_t t32 =
            static_cast<std::int32_t>((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                      (std::uint32_t{p[2]} << 8) | p[3]);
        std::optional<std::int64_t> t64;
        if (i + 8 <= data.size()) {
            std::uint64_t v = 0;
            for (int k = 0; k < 8; ++k)
                v = (v << 8) | p[k];
            const auto t = static_cast<std::int64_t>(v);
            if (t > kMinSane + kMargin && t < kMaxSane - kMargin) t64 = t;
        }
        for (const std::int64_t d : {-3601, -1, 0, 1, 3600}) {
            check_instant(zone, t32 + d);
            check_reading(zone, t32 + d);
            if (t64) {
                check_instant(zone, *t64 + d);
                check_reading(zone, *t64 + d);
            }
        }
    }
    // A year, hour by hour, at a minute and second of the input's choosing: the changes of a
    // POSIX rule are computed, not written in the data.
    const std::int64_t start = clamp_sane(static_cast<std::int64_t>(seed));
    for (std::int64_t h = 0; h < 24 * 366; ++h) {
        check_instant(zone, start + h * 3600);
        check_reading(zone, start + h * 3600);
    }
}

/// Formats that write everything an instant is; `fraction` says how much of the fraction.
struct FullFormat {
    const char* format;
    int fraction_digits; ///< 0, 6 (%f) or 9 (the ISO 8601 default)
    bool offset;         ///< writes the offset (%z, %Z at a fixed offset, the ISO default)
};
constexpr FullFormat kFullFormats[] = {
    {"%Y-%m-%dT%H:%M:%S%z", 0, true},
    {"%FT%T%z", 0, true},
    {"%Y%m%d%H%M%S%z", 0, true},
    {"%d %b %Y %H:%M:%S %z", 0, true},
    {"%A, %d %B %Y %I:%M:%S %p %z", 0, true},
    {"%a %e %h %Y %T %Z", 0, true},
    {"%Y/%j %H:%M:%S.%f%z", 6, true},
    {"%Y-%m-%d %H:%M:%S,%f %Z", 6, true},
    {"%FT%T.%f%z", 6, true},
    {"%Y-%m-%dT%H:%M:%S%f%z", 6, true},
    {"%s", 0, true},
    {"%s.%f", 6, true},
    {"", 9, true},
    {"%Y-%m-%dT%H:%M:%S", 0, false},
    {"%F %T.%f", 6, false},
    {"%D %R:%S %Y", 0, false},
};

std::int32_t cut_fraction(std::int32_t nanos, int digits) {
    if (digits == 9) return nanos;
    if (digits == 6) return nanos / 1000 * 1000;
    return 0;
}

void check_round_trip(const tf::TimeZone* zone, std::uint8_t mode, std::string_view text) {
    const FullFormat& f = kFullFormats[(mode >> 3) % std::size(kFullFormats)];
    tf::Instant t;
    t.seconds = clamp_sane(static_cast<std::int64_t>(bytes_at(text, 0, 8)));
    t.nanos = static_cast<std::int32_t>(bytes_at(text, 8, 4) % 1'000'000'000);
    const std::int32_t nanos = cut_fraction(t.nanos, f.fraction_digits);
    // A whole number of minutes inside a day: what %z and ISO 8601 offsets can say.
    const auto minutes = static_cast<std::int32_t>(bytes_at(text, 12, 2) % (2 * 24 * 60 - 1));
    const std::int32_t offset = (minutes - (24 * 60 - 1)) * 60;

    std::string why;
    if (f.offset || std::strcmp(f.format, "%s") == 0) {
        const auto written = tf::format(t, f.format, offset, &why);
        CHECK(written.has_value());
        const auto back = tf::parse(*written, f.format, &why);
        if (!back)
            std::fprintf(stderr, "'%s' with '%s': %s\n", written->c_str(), f.format, why.c_str());
        CHECK(back.has_value());
        CHECK(back->seconds == t.seconds);
        CHECK(back->nanos == nanos);
    } else {
        // No offset written: read back at the same offset.
        const auto fixed = tf::TimeZone::fixed(offset, "fixed");
        const auto written = tf::format(t, f.format, *fixed, &why);
        CHECK(written.has_value());
        const auto back = tf::parse_in_zone(*written, f.format, *fixed, &why);
        if (!back)
            std::fprintf(stderr, "'%s' with '%s': %s\n", written->c_str(), f.format, why.c_str());
        CHECK(back.has_value());
        CHECK(back->seconds == t.seconds);
        CHECK(back->nanos == nanos);
    }
    if (zone == nullptr) return;
    const tf::ZoneOffset z = zone->at(t.seconds);
    const auto written = tf::format(t, f.format, *zone, &why);
    if (!written) return; // the local year may leave 0..9999 at a zone's offset
    if (f.offset) {
        // %z writes whole minutes of an offset under a day; %Z a zone's abbreviation, which
        // parse() does not read.
        const bool readable = z.offset % 60 == 0 && z.offset > -24 * 3600 && z.offset < 24 * 3600 &&
                              std::string_view(f.format).find("%Z") == std::string_view::npos;
        const auto back = tf::parse(*written, f.format, &why);
        if (readable || std::strcmp(f.format, "%s") == 0 || std::strcmp(f.format, "%s.%f") == 0) {
            CHECK(back.has_value());
            CHECK(back->seconds == t.seconds);
            CHECK(back->nanos == nanos);
        }
        return;
    }
    const auto back = tf::parse_in_zone(*written, f.format, *zone, &why);
    CHECK(back.has_value());
    const tf::LocalResolution r = zone->to_utc(t.seconds + z.offset);
    if (r.kind == tf::LocalResolution::Kind::Unique) CHECK(back->seconds == t.seconds);
    if (r.kind == tf::LocalResolution::Kind::Ambiguous) CHECK(back->seconds <= t.seconds);
    CHECK(back->nanos == nanos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t nul1 = rest.find('\0');
    const std::string_view format = rest.substr(0, nul1);
    std::string_view text, zone_data;
    if (nul1 != std::string_view::npos) {
        const std::string_view after = rest.substr(nul1 + 1);
        const std::size_t nul2 = after.find('\0');
        text = after.substr(0, nul2);
        if (nul2 != std::string_view::npos) zone_data = after.substr(nul2 + 1);
    }

    std::shared_ptr<const tf::TimeZone> zone;
    std::string why;
    switch (mode & 3) {
    case 0:
        zone = tf::TimeZone::from_tzif("fuzz", zone_data, &why);
        break;
    case 1:
        zone = tf::TimeZone::from_posix("fuzz", zone_data, &why);
        break;
    case 2: {
        const auto o = static_cast<std::int32_t>(bytes_at(zone_data, 0, 4));
        zone = tf::TimeZone::fixed(o % (26 * 3600), "fixed");
        break;
    }
    default:
        break;
    }
    if (zone == nullptr) CHECK((mode & 3) == 3 || !why.empty());
    if (zone) check_zone(*zone, zone_data, bytes_at(text, 0, 8));

    // Arbitrary text with an arbitrary format: an instant or a reason, nothing else.
    why.clear();
    if (!tf::parse(text, format, &why)) CHECK(!why.empty());
    if (zone) {
        why.clear();
        if (!tf::parse_in_zone(text, format, *zone, &why)) CHECK(!why.empty());
    }
    // Any instant with an arbitrary format, including the extremes.
    for (const std::int64_t s :
         {static_cast<std::int64_t>(bytes_at(text, 0, 8)), std::numeric_limits<std::int64_t>::max(),
          std::numeric_limits<std::int64_t>::min(), kMaxSane, kMinSane}) {
        const tf::Instant t{s, static_cast<std::int32_t>(bytes_at(text, 8, 4) % 1'000'000'000)};
        why.clear();
        if (!tf::format(t, format, static_cast<std::int32_t>(bytes_at(text, 12, 2)) - 32768, &why))
            CHECK(!why.empty());
        if (zone) {
            why.clear();
            if (!tf::format(t, format, *zone, &why)) CHECK(!why.empty());
        }
    }
    check_round_trip(zone.get(), mode, text);
    return 0;
}
