// POSIX TZ rules, as POSIX.1-2017 (8.3, TZ) describes them with the extensions of RFC 8536
// (rule times from -167 to 167 hours, for zones whose changes fall outside 0..24h).

#include "time_zone_rule.hpp"

#include "conveyor/format/time_text.hpp"
#include "time_calendar.hpp"

#include <algorithm>

namespace conveyor::timefmt {

using namespace detail;

namespace {

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) noexcept {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

class RuleReader {
public:
    explicit RuleReader(std::string_view s) : s_(s) {}

    bool done() const noexcept { return pos_ == s_.size(); }
    bool at(char c) const noexcept { return pos_ < s_.size() && s_[pos_] == c; }
    bool take(char c) noexcept {
        if (!at(c)) return false;
        ++pos_;
        return true;
    }

    /// An abbreviation: three or more letters, or anything of letters, digits, '+' and '-' in
    /// angle brackets ("<+0530>").
    std::optional<std::string> abbreviation() {
        std::size_t start = pos_;
        if (take('<')) {
            start = pos_;
            while (pos_ < s_.size() && s_[pos_] != '>') {
                const char c = s_[pos_];
                if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-') return std::nullopt;
                ++pos_;
            }
            if (!at('>') || pos_ == start) return std::nullopt;
            std::string name(s_.substr(start, pos_ - start));
            ++pos_;
            return name;
        }
        while (pos_ < s_.size() && is_alpha(s_[pos_]))
            ++pos_;
        if (pos_ - start < 3) return std::nullopt;
        return std::string(s_.substr(start, pos_ - start));
    }

    /// [+-]hh[:mm[:ss]] in seconds, hours at most `max_hours`.
    std::optional<std::int32_t> hms(int max_hours) {
        int sign = 1;
        if (take('-'))
            sign = -1;
        else
            take('+');
        auto h = number(3);
        if (!h || *h > max_hours) return std::nullopt;
        std::int32_t v = *h * 3600;
        if (take(':')) {
            auto m = number(2);
            if (!m || *m > 59) return std::nullopt;
            v += *m * 60;
            if (take(':')) {
                auto sec = number(2);
                if (!sec || *sec > 59) return std::nullopt;
                v += *sec;
            }
        }
        return sign * v;
    }

    std::optional<int> number(int max_digits) {
        int v = 0;
        int n = 0;
        while (pos_ < s_.size() && n < max_digits && is_digit(s_[pos_])) {
            v = v * 10 + (s_[pos_] - '0');
            ++pos_;
            ++n;
        }
        if (n == 0) return std::nullopt;
        return v;
    }

    std::optional<PosixRule::When> when() {
        using Form = PosixRule::When::Form;
        PosixRule::When w;
        if (take('M')) {
            w.form = Form::MonthWeekDay;
            auto m = number(2);
            if (!m || *m < 1 || *m > 12 || !take('.')) return std::nullopt;
            auto wk = number(1);
            if (!wk || *wk < 1 || *wk > 5 || !take('.')) return std::nullopt;
            auto d = number(1);
            if (!d || *d > 6) return std::nullopt;
            w.month = *m;
            w.week = *wk;
            w.day = *d;
        } else if (take('J')) {
            w.form = Form::Julian1;
            auto n = number(3);
            if (!n || *n < 1 || *n > 365) return std::nullopt;
            w.day = *n;
        } else {
            w.form = Form::Julian0;
            auto n = number(3);
            if (!n || *n > 365) return std::nullopt;
            w.day = *n;
        }
        if (take('/')) {
            auto t = hms(167);
            if (!t) return std::nullopt;
            w.time = *t;
        }
        return w;
    }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

/// Local seconds (days since 1970-01-01 in the zone's time, times 86400, plus the time of day)
/// at which `w` happens in `year`.
std::int64_t local_seconds(const PosixRule::When& w, std::int64_t year) noexcept {
    using Form = PosixRule::When::Form;
    std::int64_t day = 0;
    switch (w.form) {
    case Form::Julian1:
        day = days_from_civil(year, 1, 1) + w.day - 1 + (is_leap(year) && w.day >= 60 ? 1 : 0);
        break;
    case Form::Julian0:
        day = days_from_civil(year, 1, 1) + w.day;
        break;
    case Form::MonthWeekDay: {
        const auto month = static_cast<unsigned>(w.month);
        const std::int64_t first = days_from_civil(year, month, 1);
        const std::int64_t weekday = (((first + 4) % 7) + 7) % 7; // 1970-01-01: Thursday, 4
        day = first + (w.day - weekday + 7) % 7 + 7 * (w.week - 1);
        const std::int64_t past_end = first + days_in_month(year, month);
        while (day >= past_end)
            day -= 7;
        break;
    }
    }
    return day * kSecondsPerDay + w.time;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

} // namespace

std::unique_ptr<PosixRule> PosixRule::parse(std::string_view text, std::string* why) {
    auto fail = [&](const char* what) -> std::unique_ptr<PosixRule> {
        if (why) *why = "'" + std::string(text) + "' is not a POSIX TZ rule (" + what + ")";
        return nullptr;
    };
    RuleReader r(text);
    auto rule = std::make_unique<PosixRule>();
    auto std_name = r.abbreviation();
    if (!std_name) return fail("expected the abbreviation of standard time");
    auto std_west = r.hms(24);
    if (!std_west) return fail("expected the offset of standard time");
    rule->std_abbreviation = std::move(*std_name);
    rule->std_offset = -*std_west;
    if (r.done()) return rule;
    auto dst_name = r.abbreviation();
    if (!dst_name) return fail("expected the abbreviation of daylight saving time");
    rule->has_dst = true;
    rule->dst_abbreviation = std::move(*dst_name);
    rule->dst_offset = rule->std_offset + 3600;
    if (!r.at(',') && !r.done()) {
        auto dst_west = r.hms(24);
        if (!dst_west) return fail("expected the offset of daylight saving time");
        rule->dst_offset = -*dst_west;
    }
    if (r.done()) { // no dates: the United States' rule, as glibc assumes
        rule->start = {When::Form::MonthWeekDay, 0, 3, 2, 7200};
        rule->end = {When::Form::MonthWeekDay, 0, 11, 1, 7200};
        return rule;
    }
    if (!r.take(',')) return fail("expected ',' before the start of daylight saving time");
    auto start = r.when();
    if (!start) return fail("expected the start of daylight saving time, such as M3.5.0");
    if (!r.take(',')) return fail("expected ',' before the end of daylight saving time");
    auto end = r.when();
    if (!end) return fail("expected the end of daylight saving time, such as M10.5.0/3");
    if (!r.done()) return fail("unexpected text at the end");
    rule->start = *start;
    rule->end = *end;
    return rule;
}

ZoneOffset PosixRule::at(std::int64_t utc_seconds_given) const noexcept {
    const ZoneOffset standard{std_offset, false, std_abbreviation};
    if (!has_dst) return standard;
    // Beyond about 35 million years either way the offset is that of the limit: working out
    // the year of an instant near the ends of int64 (and the changes' seconds in it) would
    // overflow.
    constexpr std::int64_t kFar = std::int64_t{1} << 50;
    const std::int64_t utc_seconds = std::clamp(utc_seconds_given, -kFar, kFar);
    const std::int64_t year =
        civil_from_days(floor_div(utc_seconds + std_offset, kSecondsPerDay)).year;
    // The change to daylight saving time happens at a time of standard time, the change back at
    // a time of daylight saving time.
    const std::int64_t start_utc = local_seconds(start, year) - std_offset;
    const std::int64_t end_utc = local_seconds(end, year) - dst_offset;
    const bool dst = start_utc < end_utc ? start_utc <= utc_seconds && utc_seconds < end_utc
                                         : !(end_utc <= utc_seconds && utc_seconds < start_utc);
    return dst ? ZoneOffset{dst_offset, true, dst_abbreviation} : standard;
}

} // namespace conveyor::timefmt
