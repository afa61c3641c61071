// Writing time text: strftime-style formats at a UTC offset or in a zone (format). Reading it
// is time_text.cpp.

#include "conveyor/format/time_text.hpp"
#include "time_calendar.hpp"

#include <cstdio>
#include <utility>

namespace conveyor::timefmt {

using namespace detail;

namespace {

void append_padded(std::string& out, std::int64_t v, int width) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%0*lld", width, static_cast<long long>(v));
    out.append(buf, static_cast<std::size_t>(n));
}

void append_offset(std::string& out, std::int32_t offset, bool colon) {
    out += offset < 0 ? '-' : '+';
    const std::int32_t a = offset < 0 ? -offset : offset;
    append_padded(out, a / 3600, 2);
    if (colon) out += ':';
    append_padded(out, (a % 3600) / 60, 2);
}

void append_fraction(std::string& out, std::int32_t nanos) {
    if (nanos == 0) return;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%09d", nanos);
    std::string_view digits_text(buf, 9);
    while (!digits_text.empty() && digits_text.back() == '0')
        digits_text.remove_suffix(1);
    out += '.';
    out += digits_text;
}

/// The ISO 8601 week-based year and week (01 .. 53) of day `days` (since 1970-01-01): weeks
/// start on Monday, and week 1 is the one with the year's first Thursday.
std::pair<std::int64_t, int> iso_week(std::int64_t days, std::int64_t year) {
    const auto monday_of_week_1 = [](std::int64_t y) {
        const std::int64_t jan4 = days_from_civil(y, 1, 4);
        const std::int64_t from_monday = (((jan4 + 3) % 7) + 7) % 7; // 1970-01-01: Thursday
        return jan4 - from_monday;
    };
    std::int64_t start = monday_of_week_1(year + 1);
    if (days >= start) return {year + 1, 1};
    start = monday_of_week_1(year);
    if (days < start) {
        --year;
        start = monday_of_week_1(year);
    }
    return {year, static_cast<int>((days - start) / 7 + 1)};
}

/// The weekday and week-number directives (kFormatOnlyDirectives) for day `days` of `year`.
void append_week(std::string& out, char d, std::int64_t days, std::int64_t year) {
    const std::int64_t monday_based = (((days + 3) % 7) + 7) % 7; // Monday 0 .. Sunday 6
    const std::int64_t yday = days - days_from_civil(year, 1, 1); // 0-based
    switch (d) {
    case 'u':
        append_padded(out, monday_based + 1, 1);
        break;
    case 'w':
        append_padded(out, (monday_based + 1) % 7, 1);
        break;
    case 'U': // weeks starting on Sunday; days before the year's first Sunday are week 0
        append_padded(out, (yday + 7 - (monday_based + 1) % 7) / 7, 2);
        break;
    case 'W':
        append_padded(out, (yday + 7 - monday_based) / 7, 2);
        break;
    case 'V':
        append_padded(out, iso_week(days, year).second, 2);
        break;
    case 'G':
        append_padded(out, iso_week(days, year).first, 4);
        break;
    default: // 'g'
        append_padded(out, iso_week(days, year).first % 100, 2);
        break;
    }
}

std::string capitalised(std::string_view s) {
    std::string out(s);
    if (!out.empty()) out[0] = static_cast<char>(out[0] - 'a' + 'A');
    return out;
}

} // namespace

const std::string_view kDirectives =
    "%Y %y %m %d %e %j %H %I %p %M %S %f %b %B %h %a %A %z %Z %s %F %T %D %R %%";
const std::string_view kFormatOnlyDirectives = "%u %w %U %W %V %G %g";

std::optional<std::string> unsupported_directive(std::string_view fmt, TimeUse use) {
    for (std::size_t i = 0; i + 1 < fmt.size(); ++i) {
        if (fmt[i] != '%') continue;
        const std::string d{'%', fmt[++i]};
        if (kDirectives.find(d) != std::string_view::npos) continue;
        if (use == TimeUse::Format && kFormatOnlyDirectives.find(d) != std::string_view::npos)
            continue;
        return d;
    }
    return std::nullopt;
}

std::string supported_directives(TimeUse use) {
    std::string s(kDirectives);
    if (use == TimeUse::Format) s += " " + std::string(kFormatOnlyDirectives);
    return s;
}

namespace {

/// A time as the directives write it: at its UTC offset, in days and the time of that day.
struct Broken {
    Instant t;
    std::int32_t offset = 0;
    std::string_view abbreviation; ///< the zone's ("CEST"); empty at a fixed offset
    std::int64_t days = 0;         ///< since 1970-01-01, local
    Civil c;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

bool append_directive(std::string& out, char d, const Broken& b);

/// Appends `fmt` written for `b`; false at the first directive format() does not know, which
/// `unknown` then holds. A '%' at the very end is a literal '%'.
bool append_format(std::string& out, std::string_view fmt, const Broken& b, char& unknown) {
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%' || i + 1 >= fmt.size()) {
            out += fmt[i];
            continue;
        }
        const char d = fmt[++i];
        if (!append_directive(out, d, b)) {
            unknown = d;
            return false;
        }
    }
    return true;
}

/// Appends directive `d` of `b`; false for one format() does not know. The composite ones
/// (%F, %T, %D, %R) are written through their expansions, which parsing reads them by too.
bool append_directive(std::string& out, char d, const Broken& b) {
    if (const std::optional<std::string_view> e = composite_directive(d)) {
        char unknown = 0;
        return append_format(out, *e, b, unknown);
    }
    const Civil& c = b.c;
    switch (d) {
    case 'Y':
        append_padded(out, c.year, 4);
        break;
    case 'y':
        append_padded(out, c.year % 100, 2);
        break;
    case 'm':
        append_padded(out, c.month, 2);
        break;
    case 'd':
        append_padded(out, c.day, 2);
        break;
    case 'e':
        if (c.day < 10) out += ' ';
        append_padded(out, c.day, 1);
        break;
    case 'j':
        append_padded(out, b.days - days_from_civil(c.year, 1, 1) + 1, 3);
        break;
    case 'H':
        append_padded(out, b.hour, 2);
        break;
    case 'I':
        append_padded(out, b.hour % 12 == 0 ? 12 : b.hour % 12, 2);
        break;
    case 'p':
        out += b.hour < 12 ? "AM" : "PM";
        break;
    case 'M':
        append_padded(out, b.minute, 2);
        break;
    case 'S':
        append_padded(out, b.second, 2);
        break;
    case 'f': {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%06d", b.t.nanos / 1000);
        out += buf;
        break;
    }
    case 'b':
    case 'h':
        out += capitalised(kMonths[c.month - 1].substr(0, 3));
        break;
    case 'B':
        out += capitalised(kMonths[c.month - 1]);
        break;
    case 'a':
    case 'A': {
        const std::string_view name = kWeekdays[static_cast<std::size_t>(((b.days % 7) + 7) % 7)];
        out += d == 'a' ? name.substr(0, 3) : name;
        break;
    }
    case 'z':
        append_offset(out, b.offset, false);
        break;
    case 'Z':
        if (!b.abbreviation.empty())
            out += b.abbreviation;
        else if (b.offset == 0)
            out += "UTC";
        else
            append_offset(out, b.offset, true);
        break;
    case 's':
        out += std::to_string(b.t.seconds);
        break;
    case '%':
        out += '%';
        break;
    case 'u':
    case 'w':
    case 'U':
    case 'W':
    case 'V':
    case 'G':
    case 'g':
        append_week(out, d, b.days, c.year);
        break;
    default:
        return false;
    }
    return true;
}

} // namespace

namespace {

std::optional<std::string> format_at(Instant t, std::string_view fmt, std::int32_t offset_seconds,
                                     std::string_view abbreviation, std::string* why) {
    // Far beyond the years 0..9999 (by a margin no offset spans): refused before the local
    // time is worked out, which would overflow near the ends of int64.
    constexpr std::int64_t kFar = std::int64_t{1} << 40;
    if (t.seconds < -kFar || t.seconds > kFar) {
        if (why) *why = "the year is outside 0..9999";
        return std::nullopt;
    }
    Broken b;
    b.t = t;
    b.offset = offset_seconds;
    b.abbreviation = abbreviation;
    const std::int64_t local = t.seconds + offset_seconds;
    b.days = local / kSecondsPerDay;
    std::int64_t rem = local % kSecondsPerDay;
    if (rem < 0) {
        rem += kSecondsPerDay;
        --b.days;
    }
    b.c = civil_from_days(b.days);
    if (b.c.year < 0 || b.c.year > 9999) {
        if (why) *why = "the year is outside 0..9999";
        return std::nullopt;
    }
    b.hour = static_cast<int>(rem / 3600);
    b.minute = static_cast<int>((rem % 3600) / 60);
    b.second = static_cast<int>(rem % 60);
    std::string out;
    if (fmt.empty()) { // ISO 8601: the fraction only when there is one, Z for UTC
        append_directive(out, 'F', b);
        out += 'T';
        append_directive(out, 'T', b);
        append_fraction(out, t.nanos);
        if (offset_seconds == 0)
            out += 'Z';
        else
            append_offset(out, offset_seconds, true);
        return out;
    }
    char unknown = 0;
    if (!append_format(out, fmt, b, unknown)) {
        if (why)
            *why = std::string("unsupported directive %") + unknown +
                   " (supported: " + supported_directives(TimeUse::Format) + ")";
        return std::nullopt;
    }
    return out;
}

} // namespace

std::optional<std::string> format(Instant t, std::string_view fmt, std::int32_t offset_seconds,
                                  std::string* why) {
    return format_at(t, fmt, offset_seconds, {}, why);
}

std::optional<std::string> format(Instant t, std::string_view fmt, const TimeZone& zone,
                                  std::string* why) {
    const ZoneOffset z = zone.at(t.seconds);
    return format_at(t, fmt, z.offset, z.abbreviation, why);
}

} // namespace conveyor::timefmt
