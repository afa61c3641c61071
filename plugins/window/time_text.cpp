#include "time_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace conveyor::plugins::window {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
    std::int64_t y;
    unsigned m, d;
};

constexpr Civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

/// Exactly `n` digits at `s[at]`.
bool digits(std::string_view s, std::size_t at, std::size_t n, unsigned& out) noexcept {
    if (at + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    out = v;
    return true;
}

} // namespace

std::optional<std::int64_t> parse_duration_ms(std::string_view text) noexcept {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || n < 0 || end == text.data()) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::int64_t scale = 0;
    if (unit == "ms")
        scale = 1;
    else if (unit == "s")
        scale = 1000;
    else if (unit == "m")
        scale = 60 * 1000;
    else if (unit == "h")
        scale = 3600 * 1000;
    else if (unit == "d")
        scale = 86400 * 1000;
    else
        return std::nullopt;
    if (n > INT64_MAX / scale) return std::nullopt;
    return n * scale;
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) noexcept {
    unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
        !digits(s, 17, 2, sec))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::size_t i = 19;
    std::int64_t ms = 0;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        std::size_t n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (n < 3) ms = ms * 10 + (s[i] - '0');
            ++n;
            ++i;
        }
        if (n == 0) return std::nullopt;
        for (; n < 3; ++n)
            ms *= 10;
    }
    std::int64_t offset_min = 0;
    if (i < s.size()) {
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
            ++i;
        } else if ((s[i] == '+' || s[i] == '-') && i + 6 == s.size() && s[i + 3] == ':') {
            unsigned oh = 0, om = 0;
            if (!digits(s, i + 1, 2, oh) || !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
                return std::nullopt;
            offset_min = static_cast<std::int64_t>(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
            i = s.size();
        } else {
            return std::nullopt;
        }
    }
    const std::int64_t days = days_from_civil(y, mo, d);
    const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    return secs * 1000 + ms;
}

namespace {

Timestamp in_range(std::int64_t ms) noexcept {
    if (ms < kMinTimeMs || ms > kMaxTimeMs) return {Timestamp::Status::OutOfRange, ms};
    return {Timestamp::Status::Ok, ms};
}

/// Text with an ISO 8601 expanded year ("+275760-09-13T00:00:00Z", "-001000-01-01T00:00:00Z")
/// or a year of more than four digits, naming a year after 9999 or before 0: a date-time, but
/// out of the range handled. (Such a form of a year within the range stays unparsed.)
bool is_year_out_of_range(std::string_view s) noexcept {
    const bool negative = !s.empty() && s[0] == '-';
    std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    const std::size_t first = i;
    std::uint64_t year = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (year < 1'000'000'000) year = year * 10 + static_cast<unsigned>(s[i] - '0');
        ++i;
    }
    if (i - first < 4 || i >= s.size() || s[i] != '-') return false;
    if (!(year > 9999 || (negative && year > 0))) return false;
    // The rest must be a valid date-time: check it with a four-digit year in its place.
    std::array<char, 64> rewritten{'2', '0', '0', '0'};
    const std::string_view rest = s.substr(i);
    if (rest.size() > rewritten.size() - 4) return false;
    std::copy(rest.begin(), rest.end(), rewritten.begin() + 4);
    return parse_rfc3339_ms(std::string_view(rewritten.data(), rest.size() + 4)).has_value();
}

} // namespace

Timestamp read_timestamp(const Value& v, EpochUnit unit) noexcept {
    switch (v.kind()) {
    case Kind::Int: {
        std::int64_t ms = v.as_int();
        if (unit == EpochUnit::Seconds && __builtin_mul_overflow(v.as_int(), 1000, &ms))
            return {Timestamp::Status::OutOfRange, 0};
        return in_range(ms);
    }
    case Kind::Double: {
        const double d = v.as_double() * (unit == EpochUnit::Seconds ? 1000.0 : 1.0);
        if (std::isnan(d)) return {};
        // Compared as doubles first: converting a double beyond int64 is undefined.
        if (!(d >= static_cast<double>(kMinTimeMs) && d < static_cast<double>(kMaxTimeMs) + 1))
            return {Timestamp::Status::OutOfRange, 0};
        return in_range(static_cast<std::int64_t>(std::floor(d)));
    }
    case Kind::String: {
        if (const auto ms = parse_rfc3339_ms(v.as_string())) return in_range(*ms);
        if (is_year_out_of_range(v.as_string())) return {Timestamp::Status::OutOfRange, 0};
        return {};
    }
    default:
        return {};
    }
}

std::optional<std::int64_t> timestamp_ms(const Value& v, EpochUnit unit) noexcept {
    const Timestamp t = read_timestamp(v, unit);
    if (t.status != Timestamp::Status::Ok) return std::nullopt;
    return t.ms;
}

std::string format_rfc3339(std::int64_t ms) {
    std::int64_t secs = ms / 1000;
    std::int64_t frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        --secs;
    }
    std::int64_t days = secs / 86400;
    std::int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    const Civil c = civil_from_days(days);
    if (frac)
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.y, c.m, c.d, rem / 3600,
                           rem / 60 % 60, rem % 60, frac);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.y, c.m, c.d, rem / 3600,
                       rem / 60 % 60, rem % 60);
}

} // namespace conveyor::plugins::window
