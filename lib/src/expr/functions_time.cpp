// Time functions of the expression language: parse_time, format_time and now, with times
// as epoch seconds or ISO 8601 text (conveyor/format/time_text.hpp does the reading and
// writing, conveyor/format/time_zone.hpp knows the zones).

#include "conveyor/format/time_text.hpp"
#include "conveyor/format/time_zone.hpp"
#include "function_args.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

namespace conveyor::expr {

namespace {

Value epoch_value(const timefmt::Instant& t) {
    if (t.nanos == 0) return Value::integer(t.seconds);
    return Value::real(static_cast<double>(t.seconds) + t.nanos / 1e9);
}

/// Epoch seconds given as a double (|d| < 9e15), as the instant its shortest decimal text
/// names, to the nanosecond (rounded half up): 1700000000123 / 1000 is .123 s, where the double
/// nearest to it holds .122999907 s, which is what the fraction showed.
timefmt::Instant instant_of_seconds(double d) {
    // Shortest round-trip text in fixed notation: at most 16 digits before the point here,
    // and a subnormal's fraction needs about 1100 digits after it.
    char buf[1200];
    const auto [end, ec] =
        std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::fixed);
    std::int64_t whole = 0;
    std::int64_t nanos = 0;
    const char* p = buf;
    if (ec == std::errc{}) {
        for (; p < end && *p != '.'; ++p)
            whole = whole * 10 + (*p - '0');
        int digits = 0;
        if (p < end) ++p; // the point
        for (; p < end && digits < 9; ++p, ++digits)
            nanos = nanos * 10 + (*p - '0');
        for (; digits < 9; ++digits)
            nanos *= 10;
        if (p < end && *p >= '5' && ++nanos == 1'000'000'000) {
            nanos = 0;
            ++whole;
        }
    } else { // not reached for |d| < 9e15; the double's own digits then
        whole = static_cast<std::int64_t>(std::floor(std::fabs(d)));
        nanos = std::llround((std::fabs(d) - static_cast<double>(whole)) * 1e9) % 1'000'000'000;
    }
    if (d < 0 && nanos != 0) return {-whole - 1, static_cast<std::int32_t>(1'000'000'000 - nanos)};
    return {d < 0 ? -whole : whole, static_cast<std::int32_t>(nanos)};
}

std::optional<timefmt::Instant> instant_of(EvalContext& ctx, const Node& call, const Value& v) {
    if (auto n = to_number(v); n && v.kind() != Kind::String) {
        if (n->is_int) return timefmt::Instant{n->i, 0};
        if (!(std::fabs(std::floor(n->d)) < 9e15)) {
            ctx.fail(call, fname(call) + "(): time " + describe(v) + " is out of range");
            return std::nullopt;
        }
        return instant_of_seconds(n->d);
    }
    if (v.kind() == Kind::String) {
        std::string why;
        auto t = timefmt::parse_iso(v.as_string(), &why);
        if (!t)
            ctx.fail(call, fname(call) + "(): " + describe(v) + " is not an ISO 8601 time: " + why);
        return t;
    }
    ctx.fail(call,
             fname(call) + "() needs a time (epoch seconds or ISO 8601 text), got " + describe(v));
    return std::nullopt;
}

/// A time as the caller asked for it: argument `at` (when given) is 'epoch' (seconds, the
/// default) or 'iso' (ISO 8601 text in UTC).
Value time_result(EvalContext& ctx, const Node& call, std::span<const Value> args, std::size_t at,
                  const timefmt::Instant& t) {
    if (args.size() <= at || args[at].is_null()) return epoch_value(t);
    auto as = text_arg(ctx, call, args, at);
    if (!as) return {};
    if (*as == "epoch") return epoch_value(t);
    if (*as == "iso") {
        auto out = timefmt::format(t, {}, 0);
        if (!out) return ctx.fail(call, fname(call) + "(): the year is outside 0..9999");
        return ctx.string(*out);
    }
    return ctx.fail(call, fname(call) + "(): the result can be 'epoch' or 'iso', not '" +
                              std::string(*as) + "'");
}

/// The zone of argument `i` (UTC when absent or null); nullptr after a record error.
const timefmt::TimeZone* zone_arg(EvalContext& ctx, const Node& call, std::span<const Value> args,
                                  std::size_t i) {
    static const std::shared_ptr<const timefmt::TimeZone> kUtc = timefmt::TimeZone::fixed(0, "UTC");
    if (args.size() <= i || args[i].is_null()) return kUtc.get();
    auto name = text_arg(ctx, call, args, i);
    if (!name) return nullptr;
    return ctx.zone(call, *name);
}

Value fn_parse_time(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    if (!s) return {};
    std::string_view format; // null or absent: ISO 8601
    if (args.size() > 1 && !args[1].is_null()) {
        auto f = text_arg(ctx, call, args, 1);
        if (!f) return {};
        format = *f;
    }
    const timefmt::TimeZone* zone = zone_arg(ctx, call, args, 3);
    if (!zone) return {};
    std::string why;
    auto t = timefmt::parse_in_zone(*s, format, *zone, &why);
    if (!t)
        return ctx.fail(
            call, "parse_time(): '" + std::string(*s) + "' does not match " +
                      (format.empty() ? std::string("ISO 8601") : "'" + std::string(format) + "'") +
                      ": " + why);
    return time_result(ctx, call, args, 2, *t);
}

Value fn_format_time(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = instant_of(ctx, call, args[0]);
    if (!t) return {};
    std::string_view format;
    if (args.size() > 1 && !args[1].is_null()) {
        auto f = text_arg(ctx, call, args, 1);
        if (!f) return {};
        format = *f;
    }
    const timefmt::TimeZone* zone = zone_arg(ctx, call, args, 2);
    if (!zone) return {};
    std::string why;
    auto out = timefmt::format(*t, format, *zone, &why);
    if (!out) return ctx.fail(call, "format_time(): " + why);
    return ctx.string(*out);
}

Value fn_now(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since).count();
    if (args.empty()) return Value::real(static_cast<double>(us) / 1e6);
    const timefmt::Instant t{us / 1'000'000, static_cast<std::int32_t>((us % 1'000'000) * 1000)};
    return time_result(ctx, call, args, 0, t);
}

} // namespace

std::span<const Function> time_functions() noexcept {
    static const Function kTable[] = {
        {{"parse_time", "parse_time(s, format = ISO 8601, as = 'epoch', zone = 'UTC')",
          "a time written with a strftime format (%Y-%m-%d %H:%M:%S %z ...), as epoch seconds or, "
          "with as = 'iso', ISO 8601 text in UTC; a text without an offset is a local time in "
          "zone ('UTC', an offset such as '+02:00', an IANA name such as 'Europe/Berlin', or "
          "'local': TZ, else /etc/localtime); a time the clocks repeat (going back) is the earlier "
          "one, a time they skip (going forward) moves forward by the gap (02:30 becomes 03:30)"},
         1,
         4,
         Type::Any,
         -1,
         fn_parse_time,
         1,
         3},
        {{"format_time", "format_time(t, format = ISO 8601, zone = 'UTC')",
          "a time (epoch seconds or ISO text) written with a strftime format in zone: 'UTC', an "
          "offset such as '+02:00', an IANA name such as 'Europe/Berlin' (its daylight saving "
          "time included: %z and ISO 8601 write the offset of that moment, %Z its abbreviation "
          "such as CEST), or 'local' (TZ, else /etc/localtime)"},
         1,
         3,
         Type::String,
         -1,
         fn_format_time,
         1,
         2},
        {{"now", "now(as = 'epoch')",
          "the current time in epoch seconds, or ISO 8601 text in UTC with as = 'iso'"},
         0,
         1,
         Type::Any,
         -1,
         fn_now},
    };
    return kTable;
}

} // namespace conveyor::expr
