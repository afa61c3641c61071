#include "conveyor/format/time_text.hpp"

#include <array>
#include <cstdio>

namespace conveyor::timefmt {

namespace {

constexpr std::array<std::string_view, 12> kMonths = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};
constexpr std::array<std::string_view, 7> kWeekdays = {
    "Thursday", "Friday",  "Saturday", "Sunday",
    "Monday",   "Tuesday", "Wednesday"}; // 1970-01-01 was a Thursday

constexpr std::int64_t kSecondsPerDay = 86400;

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

bool is_leap(std::int64_t y) noexcept {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

struct Civil {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

/// The inverse of days_from_civil: eras of 400 years (146097 days) starting on March 1st, so
/// that the leap day is the last day of a year of the era.
Civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
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

bool apply_directive(char d, std::string_view s, std::size_t& pos, Fields& f, std::string* why);

bool match_format(std::string_view s, std::size_t& pos, std::string_view format, Fields& f,
                  std::string* why) {
    for (std::size_t i = 0; i < format.size(); ++i) {
        const char c = format[i];
        if (c == '%' && i + 1 < format.size()) {
            const char d = format[++i];
            if (d == '%') {
                if (pos >= s.size() || s[pos] != '%') return fail(why, "expected '%'");
                ++pos;
                continue;
            }
            if (!apply_directive(d, s, pos, f, why)) return false;
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

bool apply_directive(char d, std::string_view s, std::size_t& pos, Fields& f, std::string* why) {
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
        if (pos < s.size() && (s[pos] == '.' || s[pos] == ',') && pos + 1 < s.size() &&
            is_digit(s[pos + 1])) {
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
            return true;
        }
        if (d == 'Z' && s.substr(pos, 3) == "GMT") {
            pos += 3;
            f.offset = 0;
            return true;
        }
        auto o = read_offset(s, pos);
        if (!o)
            return fail(why, "expected a UTC offset such as +02:00 or Z at position " +
                                 std::to_string(start + 1));
        f.offset = *o;
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
    case 'F':
        return match_format(s, pos, "%Y-%m-%d", f, why);
    case 'T':
        return match_format(s, pos, "%H:%M:%S", f, why);
    case 'D':
        return match_format(s, pos, "%m/%d/%y", f, why);
    case 'R':
        return match_format(s, pos, "%H:%M", f, why);
    default:
        return fail(why, std::string("unsupported directive %") + d);
    }
}

std::optional<Instant> to_instant(const Fields& f, std::string* why) {
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
    const std::int64_t secs = days_from_civil(f.year, month, day) * kSecondsPerDay + hour * 3600 +
                              f.minute * 60 + f.second - f.offset;
    return Instant{secs, f.nanos};
}

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

std::string capitalised(std::string_view s) {
    std::string out(s);
    if (!out.empty()) out[0] = static_cast<char>(out[0] - 'a' + 'A');
    return out;
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

std::optional<Instant> parse(std::string_view text, std::string_view format, std::string* why) {
    if (format.empty()) return parse_iso(text, why);
    Fields f;
    std::size_t pos = 0;
    if (!match_format(text, pos, format, f, why)) return std::nullopt;
    if (pos != text.size()) {
        fail(why, "unexpected text '" + std::string(text.substr(pos)) + "' at position " +
                      std::to_string(pos + 1));
        return std::nullopt;
    }
    return to_instant(f, why);
}

std::optional<Instant> parse_iso(std::string_view text, std::string* why) {
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
        }
    }
    if (pos != text.size()) {
        fail(why, "not an ISO 8601 date-time: unexpected '" + std::string(text.substr(pos)) +
                      "' at position " + std::to_string(pos + 1));
        return std::nullopt;
    }
    return to_instant(f, why);
}

std::optional<std::int32_t> parse_offset(std::string_view text) noexcept {
    if (text == "UTC" || text == "utc" || text == "GMT" || text == "Z" || text == "z") return 0;
    std::size_t pos = 0;
    auto o = read_offset(text, pos);
    if (!o || pos != text.size()) return std::nullopt;
    return o;
}

std::optional<std::string> format(Instant t, std::string_view fmt, std::int32_t offset_seconds) {
    const std::int64_t local = t.seconds + offset_seconds;
    std::int64_t days = local / kSecondsPerDay;
    std::int64_t rem = local % kSecondsPerDay;
    if (rem < 0) {
        rem += kSecondsPerDay;
        --days;
    }
    const Civil c = civil_from_days(days);
    if (c.year < 0 || c.year > 9999) return std::nullopt;
    const int hour = static_cast<int>(rem / 3600);
    const int minute = static_cast<int>((rem % 3600) / 60);
    const int second = static_cast<int>(rem % 60);
    std::string out;
    if (fmt.empty()) {
        append_padded(out, c.year, 4);
        out += '-';
        append_padded(out, c.month, 2);
        out += '-';
        append_padded(out, c.day, 2);
        out += 'T';
        append_padded(out, hour, 2);
        out += ':';
        append_padded(out, minute, 2);
        out += ':';
        append_padded(out, second, 2);
        append_fraction(out, t.nanos);
        if (offset_seconds == 0)
            out += 'Z';
        else
            append_offset(out, offset_seconds, true);
        return out;
    }
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%' || i + 1 >= fmt.size()) {
            out += fmt[i];
            continue;
        }
        switch (const char d = fmt[++i]) {
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
        case 'e': {
            if (c.day < 10) out += ' ';
            append_padded(out, c.day, 1);
            break;
        }
        case 'j':
            append_padded(out, days - days_from_civil(c.year, 1, 1) + 1, 3);
            break;
        case 'H':
            append_padded(out, hour, 2);
            break;
        case 'I':
            append_padded(out, hour % 12 == 0 ? 12 : hour % 12, 2);
            break;
        case 'p':
            out += hour < 12 ? "AM" : "PM";
            break;
        case 'M':
            append_padded(out, minute, 2);
            break;
        case 'S':
            append_padded(out, second, 2);
            break;
        case 'f': {
            char buf[16];
            std::snprintf(buf, sizeof buf, "%06d", t.nanos / 1000);
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
            const std::int64_t w = ((days % 7) + 7) % 7;
            const std::string_view name = kWeekdays[static_cast<std::size_t>(w)];
            out += d == 'a' ? name.substr(0, 3) : name;
            break;
        }
        case 'z':
            append_offset(out, offset_seconds, false);
            break;
        case 'Z':
            if (offset_seconds == 0)
                out += "UTC";
            else
                append_offset(out, offset_seconds, true);
            break;
        case 's':
            out += std::to_string(t.seconds);
            break;
        case 'F':
            append_padded(out, c.year, 4);
            out += '-';
            append_padded(out, c.month, 2);
            out += '-';
            append_padded(out, c.day, 2);
            break;
        case 'T':
            append_padded(out, hour, 2);
            out += ':';
            append_padded(out, minute, 2);
            out += ':';
            append_padded(out, second, 2);
            break;
        case '%':
            out += '%';
            break;
        default:
            out += '%';
            out += d;
        }
    }
    return out;
}

} // namespace conveyor::timefmt
