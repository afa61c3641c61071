#include "conveyor/net/backoff.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <random>
#include <string>

namespace conveyor::net {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// Reads exactly `digits` decimal digits.
bool read_number(std::string_view& s, int digits, int& out) {
    if (static_cast<int>(s.size()) < digits) return false;
    out = 0;
    for (int i = 0; i < digits; ++i) {
        const char c = s[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    s.remove_prefix(static_cast<std::size_t>(digits));
    return true;
}

bool expect(std::string_view& s, std::string_view lit) {
    if (!s.starts_with(lit)) return false;
    s.remove_prefix(lit.size());
    return true;
}

bool read_month(std::string_view& s, int& month) {
    static constexpr std::array<std::string_view, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
        if (s.starts_with(kMonths[i])) {
            month = static_cast<int>(i) + 1;
            s.remove_prefix(3);
            return true;
        }
    }
    return false;
}

bool read_time(std::string_view& s, int& h, int& m, int& sec) {
    return read_number(s, 2, h) && expect(s, ":") && read_number(s, 2, m) && expect(s, ":") &&
           read_number(s, 2, sec) && h < 24 && m < 60 && sec <= 60;
}

std::optional<std::chrono::system_clock::time_point> make_time(int y, int mo, int d, int h, int mi,
                                                               int s) {
    using namespace std::chrono;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

} // namespace

UniformRandom default_random() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine](std::uint64_t max_inclusive) -> std::uint64_t {
        if (max_inclusive == 0) return 0;
        std::uniform_int_distribution<std::uint64_t> dist(0, max_inclusive);
        return dist(*engine);
    };
}

std::chrono::milliseconds BackoffPolicy::ceiling(std::uint32_t attempt) const noexcept {
    const std::int64_t base = std::max<std::int64_t>(0, base_delay.count());
    const std::int64_t cap = std::max<std::int64_t>(0, max_delay.count());
    if (base == 0) return std::chrono::milliseconds{0};
    std::int64_t c = base;
    for (std::uint32_t i = 0; i < attempt && c < cap; ++i)
        c *= 2;
    return std::chrono::milliseconds{std::min(c, cap)};
}

std::chrono::milliseconds BackoffPolicy::delay(std::uint32_t attempt,
                                               const UniformRandom& random) const {
    const auto top = static_cast<std::uint64_t>(ceiling(attempt).count());
    const std::uint64_t r = random ? random(top) : top;
    return std::chrono::milliseconds{static_cast<std::int64_t>(std::min(r, top))};
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value) {
    std::string_view s = trim(value);
    int day = 0, month = 0, year = 0, h = 0, m = 0, sec = 0;
    const std::size_t comma = s.find(',');
    if (comma == 3) {
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        s.remove_prefix(4);
        if (!(expect(s, " ") && read_number(s, 2, day) && expect(s, " ") && read_month(s, month) &&
              expect(s, " ") && read_number(s, 4, year) && expect(s, " ") &&
              read_time(s, h, m, sec) && expect(s, " GMT") && s.empty()))
            return std::nullopt;
    } else if (comma != std::string_view::npos) {
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        s.remove_prefix(comma + 1);
        int yy = 0;
        if (!(expect(s, " ") && read_number(s, 2, day) && expect(s, "-") && read_month(s, month) &&
              expect(s, "-") && read_number(s, 2, yy) && expect(s, " ") &&
              read_time(s, h, m, sec) && expect(s, " GMT") && s.empty()))
            return std::nullopt;
        // Two-digit years: RFC 9110 says interpret as within 50 years of now; 70..99 -> 19xx.
        year = yy >= 70 ? 1900 + yy : 2000 + yy;
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994"
        if (s.size() < 4) return std::nullopt;
        s.remove_prefix(4);
        if (!(read_month(s, month) && expect(s, " "))) return std::nullopt;
        if (!s.empty() && s.front() == ' ') {
            s.remove_prefix(1);
            if (!read_number(s, 1, day)) return std::nullopt;
        } else if (!read_number(s, 2, day)) {
            return std::nullopt;
        }
        if (!(expect(s, " ") && read_time(s, h, m, sec) && expect(s, " ") &&
              read_number(s, 4, year) && s.empty()))
            return std::nullopt;
    }
    return make_time(year, month, day, h, m, std::min(sec, 59));
}

std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    const std::string_view s = trim(value);
    if (s.empty()) return std::nullopt;
    if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::int64_t secs = 0;
        for (char c : s) {
            secs = secs * 10 + (c - '0');
            if (secs > 100'000'000) break; // years: the caller caps it anyway
        }
        return std::chrono::milliseconds{secs * 1000};
    }
    const auto at = parse_http_date(s);
    if (!at) return std::nullopt;
    if (*at <= now) return std::chrono::milliseconds{0};
    return std::chrono::duration_cast<std::chrono::milliseconds>(*at - now);
}

} // namespace conveyor::net
