// Reading time text: strptime-style formats (parse), ISO 8601 (parse_iso) and UTC offsets.
// Writing it is time_format.cpp.

#include "conveyor/format/time_text.hpp"

#include "time_calendar.hpp"

#include <cstdio>

namespace conveyor::timefmt {

using namespace detail;

namespace {

// Locale-free character classes: time text is ASCII by definition.
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t';
}
constexpr bool is_alpha(char c) noexcept {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
constexpr char to_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// Reads 1..max_digits decimal digits at `pos` (at least min_digits).
std::optional<std::int64_t> digits(std::string_view s, std::size_t& pos, int min_digits,
                                   int max_digits) {
    std::int64_t v = 0;
    int n = 0;
    while (pos < s.size() && n < max_digits && is_digit(s[pos])) {
        v = v * 10 + (s[pos] - '0');
        ++pos;
        ++n;
    }
    if (n < min_digits) return std::nullopt;
    return v;
}

/// The broken-down fields parse() fills in.
struct Fields {
    std::int64_t year = 1970;
    unsigned month = 1;
    unsigned day = 1;
    int yday = -1; // %j, 1-based
    int hour = 0;
    int minute = 0;
    int second = 0;
    std::int32_t nanos = 0;
    int hour12 = -1; // %I
    int pm = -1;     // %p: 0 AM, 1 PM
    std::int32_t offset = 0;
    bool has_offset = false;           // %z, %Z, or an ISO 8601 offset: the text says where it is
    std::optional<std::int64_t> epoch; // %s
};

bool fail(std::string* why, std::string message) {
    if (why) *why = std::move(message);
    return false;
}

std::optional<std::int32_t> read_offset(std::string_view s, std::size_t& pos) {
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
        return 0;
    }
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return std::nullopt;
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    auto h = digits(s, pos, 1, 2);
    if (!h || *h > 23) return std::nullopt;
    std::int64_t m = 0;
    if (pos < s.size() && s[pos] == ':') {
        ++pos;
        auto mm = digits(s, pos, 2, 2);
        if (!mm) return std::nullopt;
        m = *mm;
    } else if (pos + 1 < s.size() && is_digit(s[pos]) && is_digit(s[pos + 1])) {
        m = *digits(s, pos, 2, 2);
    }
    if (m > 59) return std::nullopt;
    return static_cast<std::int32_t>(sign * (*h * 3600 + m * 60));
}

std::optional<std::int32_t> read_fraction(std::string_view s, std::size_t& pos) {
    std::int64_t nanos = 0;
    int n = 0;
    while (pos < s.size() && is_digit(s[pos])) {
        if (n < 9) {
            nanos = nanos * 10 + (s[pos] - '0');
            ++n;
        }
        ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n)
        nanos *= 10;
    return static_cast<std::int32_t>(nanos);
}

std::optional<unsigned> read_month_name(std::string_view s, std::size_t& pos) {
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        const std::string_view full = kMonths[i];
        auto matches = [&](std::size_t len) {
            if (pos + len > s.size()) return false;
            for (std::size_t k = 0; k < len; ++k)
                if (to_lower(s[pos + k]) != full[k]) return false;
            return true;
        };
        if (matches(full.size())) {
            pos += full.size();
            return static_cast<unsigned>(i + 1);
        }
        if (matches(3)) {
            pos += 3;
            return static_cast<unsigned>(i + 1);
        }
    }
    return std::nullopt;
}

bool apply_directive(char d, std::string_view s, std::size_t& pos, Fields& f, char follows,
                     std::string* why);

/// `follows`: the format character after `format` when it is the expansion of a composite
/// directive (0 at the end), so that %S in "%T.%f" knows what comes after it.
bool match_format(std::string_view s, std::size_t& pos, std::string_view format, Fields& f,
                  std::string* why, char follows = 0) {
    for (std::size_t i = 0; i < format.size(); ++i) {
        const char c = format[i];
        if (c == '%' && i + 1 < format.size()) {
            const char d = format[++i];
            if (d == '%') {
                if (pos >= s.size() || s[pos] != '%') return fail(why, "expected '%'");
                ++pos;
                continue;
            }
            const char next = i + 1 < format.size() ? format[i + 1] : follows;
            if (!apply_directive(d, s, pos, f, next, why)) return false;
            continue;
        }
        if (c == ' ') {
            while (pos < s.size() && is_space(s[pos]))
                ++pos;
            continue;
        }
        if (pos >= s.size() || s[pos] != c)
            return fail(why, "expected '" + std::string(1, c) + "' at position " +
                                 std::to_string(pos + 1));
        ++pos;
    }
    return true;
}

/// `follows`: the format character after the directive (0 at the end of the format).
bool apply_directive(char d, std::string_view s, std::size_t& pos, Fields& f, char follows,
                     std::string* why) {
    auto number = [&](const char* what, int min_digits, int max_digits, std::int64_t lo,
                      std::int64_t hi) -> std::optional<std::int64_t> {
        auto v = digits(s, pos, min_digits, max_digits);
        if (!v || *v < lo || *v > hi) {
            fail(why, std::string("expected ") + what + " at position " + std::to_string(pos + 1));
            return std::nullopt;
        }
        return v;
    };
    switch (d) {
    case 'Y': {
        bool negative = pos < s.size() && s[pos] == '-';
        if (negative) ++pos;
        auto v = number("a year", 1, 4, 0, 9999);
        if (!v) return false;
        f.year = negative ? -*v : *v;
        return true;
    }
    case 'y': {
        auto v = number("a two-digit year", 2, 2, 0, 99);
        if (!v) return false;
        f.year = *v < 69 ? 2000 + *v : 1900 + *v;
        return true;
    }
    case 'm': {
        auto v = number("a month", 1, 2, 1, 12);
        if (!v) return false;
        f.month = static_cast<unsigned>(*v);
        return true;
    }
    case 'd':
    case 'e': {
        while (d == 'e' && pos < s.size() && s[pos] == ' ')
            ++pos;
        auto v = number("a day of the month", 1, 2, 1, 31);
        if (!v) return false;
        f.day = static_cast<unsigned>(*v);
        return true;
    }
    case 'j': {
        auto v = number("a day of the year", 1, 3, 1, 366);
        if (!v) return false;
        f.yday = static_cast<int>(*v);
        return true;
    }
    case 'H': {
        auto v = number("an hour", 1, 2, 0, 23);
        if (!v) return false;
        f.hour = static_cast<int>(*v);
        return true;
    }
    case 'I': {
        auto v = number("an hour (1-12)", 1, 2, 1, 12);
        if (!v) return false;
        f.hour12 = static_cast<int>(*v);
        return true;
    }
    case 'M': {
        auto v = number("minutes", 1, 2, 0, 59);
        if (!v) return false;
        f.minute = static_cast<int>(*v);
        return true;
    }
    case 'S': {
        auto v = number("seconds", 1, 2, 0, 60);
        if (!v) return false;
        f.second = static_cast<int>(*v);
        // A fraction after the seconds ("05.25") is read with them, unless the format has
        // the '.' or ',' itself ("%S.%f", "%T,%f"): then it is the format's to match.
        if (follows != '.' && follows != ',' && pos < s.size() &&
            (s[pos] == '.' || s[pos] == ',') && pos + 1 < s.size() && is_digit(s[pos + 1])) {
            ++pos;
            f.nanos = *read_fraction(s, pos);
        }
        return true;
    }
    case 'f': {
        auto v = read_fraction(s, pos);
        if (!v) return fail(why, "expected fraction digits at position " + std::to_string(pos + 1));
        f.nanos = *v;
        return true;
    }
    case 'p': {
        if (pos + 2 <= s.size()) {
            const char a = to_lower(s[pos]);
            const char b = to_lower(s[pos + 1]);
            if ((a == 'a' || a == 'p') && b == 'm') {
                f.pm = a == 'p' ? 1 : 0;
                pos += 2;
                return true;
            }
        }
        return fail(why, "expected AM or PM at position " + std::to_string(pos + 1));
    }
    case 'b':
    case 'B':
    case 'h': {
        auto m = read_month_name(s, pos);
        if (!m) return fail(why, "expected a month name at position " + std::to_string(pos + 1));
        f.month = *m;
        return true;
    }
    case 'a':
    case 'A': {
        // Weekday names are accepted and ignored (the date decides the day).
        std::size_t start = pos;
        while (pos < s.size() && is_alpha(s[pos]))
            ++pos;
        if (pos - start < 3)
            return fail(why, "expected a weekday name at position " + std::to_string(start + 1));
        return true;
    }
    case 'z':
    case 'Z': {
        std::size_t start = pos;
        if (d == 'Z' && s.substr(pos, 3) == "UTC") {
            pos += 3;
            f.offset = 0;
            f.has_offset = true;
            return true;
        }
        if (d == 'Z' && s.substr(pos, 3) == "GMT") {
            pos += 3;
            f.offset = 0;
            f.has_offset = true;
            return true;
        }
        auto o = read_offset(s, pos);
        if (!o)
            return fail(why, "expected a UTC offset such as +02:00 or Z at position " +
                                 std::to_string(start + 1));
        f.offset = *o;
        f.has_offset = true;
        return true;
    }
    case 's': {
        bool negative = pos < s.size() && s[pos] == '-';
        if (negative) ++pos;
        auto v = digits(s, pos, 1, 15);
        if (!v) return fail(why, "expected epoch seconds at position " + std::to_string(pos + 1));
        f.epoch = negative ? -*v : *v;
        return true;
    }
    default:
        if (const std::optional<std::string_view> e = composite_directive(d))
            return match_format(s, pos, *e, f, why, follows);
        return fail(why, std::string("unsupported directive %") + d);
    }
}

/// The instant `f` names; a text without an offset is a local time in `zone` (UTC without one).
std::optional<Instant> to_instant(const Fields& f, const TimeZone* zone, std::string* why) {
    if (f.epoch) return Instant{*f.epoch, f.nanos};
    unsigned month = f.month;
    unsigned day = f.day;
    if (f.yday > 0) {
        if (f.yday > (is_leap(f.year) ? 366 : 365)) {
            fail(why, "day of the year out of range");
            return std::nullopt;
        }
        const std::int64_t days = days_from_civil(f.year, 1, 1) + f.yday - 1;
        const Civil c = civil_from_days(days);
        month = c.month;
        day = c.day;
    }
    if (day > days_in_month(f.year, month)) {
        fail(why, "day " + std::to_string(day) + " does not exist in that month");
        return std::nullopt;
    }
    int hour = f.hour;
    if (f.hour12 >= 0)
        hour = f.hour12 % 12 + (f.pm == 1 ? 12 : 0);
    else if (f.pm == 1 && hour < 12)
        hour += 12;
    const std::int64_t local = days_from_civil(f.year, month, day) * kSecondsPerDay + hour * 3600 +
                               f.minute * 60 + f.second;
    if (zone && !f.has_offset) return Instant{zone->to_utc(local).utc, f.nanos};
    return Instant{local - f.offset, f.nanos};
}

} // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
    const std::int64_t y = year - (month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

std::optional<Instant> parse_iso_fields(std::string_view text, const TimeZone* zone,
                                        std::string* why);

std::optional<Instant> parse_fields(std::string_view text, std::string_view format,
                                    const TimeZone* zone, std::string* why) {
    if (format.empty()) return parse_iso_fields(text, zone, why);
    Fields f;
    std::size_t pos = 0;
    if (!match_format(text, pos, format, f, why)) return std::nullopt;
    if (pos != text.size()) {
        fail(why, "unexpected text '" + std::string(text.substr(pos)) + "' at position " +
                      std::to_string(pos + 1));
        return std::nullopt;
    }
    return to_instant(f, zone, why);
}

std::optional<Instant> parse_iso_fields(std::string_view text, const TimeZone* zone,
                                        std::string* why) {
    Fields f;
    std::size_t pos = 0;
    if (!match_format(text, pos, "%Y-%m-%d", f, why)) return std::nullopt;
    if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't' || text[pos] == ' ')) {
        ++pos;
        if (!match_format(text, pos, "%H:%M", f, why)) return std::nullopt;
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            auto v = digits(text, pos, 2, 2);
            if (!v || *v > 60) {
                fail(why, "expected seconds at position " + std::to_string(pos + 1));
                return std::nullopt;
            }
            f.second = static_cast<int>(*v);
            if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
                ++pos;
                auto fr = read_fraction(text, pos);
                if (!fr) {
                    fail(why, "expected fraction digits at position " + std::to_string(pos + 1));
                    return std::nullopt;
                }
                f.nanos = *fr;
            }
        }
        if (pos < text.size()) {
            auto o = read_offset(text, pos);
            if (!o) {
                fail(why, "expected a UTC offset such as +02:00 or Z at position " +
                              std::to_string(pos + 1));
                return std::nullopt;
            }
            f.offset = *o;
            f.has_offset = true;
        }
    }
    if (pos != text.size()) {
        fail(why, "not an ISO 8601 date-time: unexpected '" + std::string(text.substr(pos)) +
                      "' at position " + std::to_string(pos + 1));
        return std::nullopt;
    }
    return to_instant(f, zone, why);
}

} // namespace

std::optional<Instant> parse(std::string_view text, std::string_view format, std::string* why) {
    return parse_fields(text, format, nullptr, why);
}

std::optional<Instant> parse_iso(std::string_view text, std::string* why) {
    return parse_iso_fields(text, nullptr, why);
}

std::optional<Instant> parse_in_zone(std::string_view text, std::string_view format,
                                     const TimeZone& zone, std::string* why) {
    return parse_fields(text, format, &zone, why);
}

std::optional<std::int32_t> parse_offset(std::string_view text) noexcept {
    if (text == "UTC" || text == "utc" || text == "GMT" || text == "Z" || text == "z") return 0;
    std::size_t pos = 0;
    auto o = read_offset(text, pos);
    if (!o || pos != text.size()) return std::nullopt;
    return o;
}

} // namespace conveyor::timefmt
