// The function library of the expression language. Each function gets its evaluated arguments
// (if and coalesce are lazy and live in eval.cpp). Null in, null out, unless the function is
// about nulls; a value of the wrong kind is a record error naming the function.

#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/time_text.hpp"
#include "eval.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <re2/re2.h>

namespace conveyor::expr {

namespace {

// ---- helpers ----------------------------------------------------------------------------

bool any_null(std::span<const Value> args) {
    return std::any_of(args.begin(), args.end(), [](const Value& v) { return v.is_null(); });
}

std::string fname(const Node& call) {
    return std::string(call.function->info.name);
}

/// The text of argument `i`, or a record error.
std::optional<std::string_view> text_arg(EvalContext& ctx, const Node& call,
                                         std::span<const Value> args, std::size_t i) {
    auto t = to_text(ctx, args[i]);
    if (!t)
        ctx.fail(call, fname(call) + "() needs text as argument " + std::to_string(i + 1) +
                           ", got " + describe(args[i]));
    return t;
}

std::optional<Num> number_arg(EvalContext& ctx, const Node& call, std::span<const Value> args,
                              std::size_t i) {
    auto n = to_number(args[i]);
    if (!n)
        ctx.fail(call, fname(call) + "() needs a number as argument " + std::to_string(i + 1) +
                           ", got " + describe(args[i]));
    return n;
}

std::optional<std::int64_t> int_arg(EvalContext& ctx, const Node& call, std::span<const Value> args,
                                    std::size_t i) {
    auto n = number_arg(ctx, call, args, i);
    if (!n) return std::nullopt;
    if (n->is_int) return n->i;
    if (std::trunc(n->d) != n->d || std::fabs(n->d) > 9e15) {
        ctx.fail(call, fname(call) + "() needs a whole number as argument " +
                           std::to_string(i + 1) + ", got " + describe(args[i]));
        return std::nullopt;
    }
    return static_cast<std::int64_t>(n->d);
}

// UTF-8: code points are counted by their lead bytes.
bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t code_points(std::string_view s) {
    std::size_t n = 0;
    for (char c : s)
        n += is_continuation(c) ? 0 : 1;
    return n;
}

/// Byte offset of code point `cp` (s.size() when past the end).
std::size_t byte_offset(std::string_view s, std::size_t cp) {
    std::size_t i = 0;
    std::size_t seen = 0;
    while (i < s.size()) {
        if (!is_continuation(s[i])) {
            if (seen == cp) return i;
            ++seen;
        }
        ++i;
    }
    return s.size();
}

/// Case mapping for ASCII, Latin-1, Greek and Cyrillic letters (two-byte UTF-8 sequences);
/// other characters are kept.
std::string change_case(std::string_view s, bool upper) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (upper && c >= 'a' && c <= 'z')
                out += static_cast<char>(c - 32);
            else if (!upper && c >= 'A' && c <= 'Z')
                out += static_cast<char>(c + 32);
            else
                out += static_cast<char>(c);
            continue;
        }
        if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && is_continuation(s[i + 1])) {
            std::uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
            if (upper) {
                if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) ||
                    (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) || (cp >= 0x430 && cp <= 0x44F))
                    cp -= 0x20;
                else if (cp >= 0x450 && cp <= 0x45F)
                    cp -= 0x50;
            } else {
                if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3A9) ||
                    (cp >= 0x410 && cp <= 0x42F))
                    cp += 0x20;
                else if (cp >= 0x400 && cp <= 0x40F)
                    cp += 0x50;
            }
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
            ++i;
            continue;
        }
        out += static_cast<char>(c);
    }
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = kHex[p[i] >> 4];
        out[2 * i + 1] = kHex[p[i] & 15];
    }
    return out;
}

Value digest(EvalContext& ctx, const Node& call, std::span<const Value> args, const EVP_MD* md) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    if (!t) return {};
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(t->data(), t->size(), out, &n, md, nullptr) != 1)
        return ctx.fail(call, fname(call) + "() failed in OpenSSL");
    return ctx.string(hex(out, n));
}

// ---- text -------------------------------------------------------------------------------

Value fn_lower(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    return t ? ctx.string(change_case(*t, false)) : Value();
}

Value fn_upper(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    return t ? ctx.string(change_case(*t, true)) : Value();
}

Value fn_trim(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    if (!t) return {};
    std::string_view s = *t;
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return Value::string(s.data() == t->data() && s.size() == t->size() ? *t : ctx.arena->copy(s));
}

Value fn_len(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Array)
        return Value::integer(static_cast<std::int64_t>(v.as_array().size()));
    if (v.kind() == Kind::Object)
        return Value::integer(static_cast<std::int64_t>(v.as_object().size()));
    auto t = text_arg(ctx, call, args, 0);
    return t ? Value::integer(static_cast<std::int64_t>(code_points(*t))) : Value();
}

Value fn_substr(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    auto start = t ? int_arg(ctx, call, args, 1) : std::nullopt;
    if (!start) return {};
    const auto n = static_cast<std::int64_t>(code_points(*t));
    std::int64_t from = *start < 0 ? std::max<std::int64_t>(0, n + *start) : std::min(*start, n);
    std::int64_t count = n - from;
    if (args.size() > 2) {
        auto len = int_arg(ctx, call, args, 2);
        if (!len) return {};
        if (*len < 0) return ctx.fail(call, "substr() length must not be negative");
        count = std::min(count, *len);
    }
    const std::size_t b = byte_offset(*t, static_cast<std::size_t>(from));
    const std::size_t e = byte_offset(*t, static_cast<std::size_t>(from + count));
    return Value::string(ctx.arena->copy(t->substr(b, e - b)));
}

Value fn_replace(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto from = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    auto to = from ? text_arg(ctx, call, args, 2) : std::nullopt;
    if (!to) return {};
    if (from->empty()) return Value::string(*s);
    std::string out;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t hit = s->find(*from, pos);
        if (hit == std::string_view::npos) break;
        out.append(s->substr(pos, hit - pos));
        out.append(*to);
        pos = hit + from->size();
    }
    out.append(s->substr(pos));
    return ctx.string(out);
}

Value fn_regex_replace(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto to = s ? text_arg(ctx, call, args, 2) : std::nullopt;
    if (!to) return {};
    const re2::RE2* re = ctx.regex(call, args[1]);
    if (!re) return {};
    std::string out(*s);
    RE2::GlobalReplace(&out, *re, re2::StringPiece(to->data(), to->size()));
    return ctx.string(out);
}

Value fn_regex_extract(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null() || args[1].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    if (!s) return {};
    const re2::RE2* re = ctx.regex(call, args[1]);
    if (!re) return {};
    std::int64_t group = 0;
    if (args.size() > 2) {
        auto g = int_arg(ctx, call, args, 2);
        if (!g) return {};
        group = *g;
    }
    if (group < 0 || group > re->NumberOfCapturingGroups())
        return ctx.fail(call, "regex_extract(): the pattern has no group " + std::to_string(group));
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(group) + 1);
    if (!re->Match(re2::StringPiece(s->data(), s->size()), 0, s->size(), RE2::UNANCHORED,
                   groups.data(), static_cast<int>(groups.size())))
        return Value::null();
    const re2::StringPiece& g = groups[static_cast<std::size_t>(group)];
    if (g.data() == nullptr) return Value::null();
    return Value::string(ctx.arena->copy(std::string_view(g.data(), g.size())));
}

Value fn_split(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto sep = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!sep) return {};
    std::vector<Value> parts;
    if (sep->empty()) {
        std::size_t i = 0;
        while (i < s->size()) {
            std::size_t j = i + 1;
            while (j < s->size() && is_continuation((*s)[j]))
                ++j;
            parts.push_back(Value::string(ctx.arena->copy(s->substr(i, j - i))));
            i = j;
        }
    } else {
        std::size_t pos = 0;
        for (;;) {
            const std::size_t hit = s->find(*sep, pos);
            parts.push_back(Value::string(ctx.arena->copy(s->substr(pos, hit - pos))));
            if (hit == std::string_view::npos) break;
            pos = hit + sep->size();
        }
    }
    return ctx.list(parts);
}

Value fn_join(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    if (args[0].kind() != Kind::Array)
        return ctx.fail(call, "join() needs a list as argument 1, got " + describe(args[0]));
    auto sep = text_arg(ctx, call, args, 1);
    if (!sep) return {};
    std::string out;
    bool first = true;
    for (const Value& item : args[0].as_array()) {
        if (item.is_null()) continue;
        auto t = to_text(ctx, item);
        if (!t) return ctx.fail(call, "join() cannot join a " + describe(item));
        if (!first) out.append(*sep);
        out.append(*t);
        first = false;
    }
    return ctx.string(out);
}

Value fn_concat(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    std::string out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto t = text_arg(ctx, call, args, i);
        if (!t) return {};
        out.append(*t);
    }
    return ctx.string(out);
}

Value text_test(EvalContext& ctx, const Node& call, std::span<const Value> args,
                bool (*test)(std::string_view, std::string_view)) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto t = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!t) return {};
    return Value::boolean(test(*s, *t));
}

Value fn_starts_with(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return text_test(ctx, call, args,
                     [](std::string_view s, std::string_view p) { return s.starts_with(p); });
}

Value fn_ends_with(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return text_test(ctx, call, args,
                     [](std::string_view s, std::string_view p) { return s.ends_with(p); });
}

Value fn_contains(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].kind() == Kind::Array) {
        for (const Value& item : args[0].as_array())
            if (values_equal(item, args[1])) return Value::boolean(true);
        return Value::boolean(false);
    }
    return text_test(ctx, call, args, [](std::string_view s, std::string_view p) {
        return s.find(p) != std::string_view::npos;
    });
}

Value fn_pad_left(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto width = s ? int_arg(ctx, call, args, 1) : std::nullopt;
    if (!width) return {};
    std::string_view fill = " ";
    if (args.size() > 2) {
        auto f = text_arg(ctx, call, args, 2);
        if (!f) return {};
        if (code_points(*f) != 1)
            return ctx.fail(call, "pad_left(): the fill must be one character");
        fill = *f;
    }
    if (*width > 1'000'000) return ctx.fail(call, "pad_left(): width over 1000000");
    const auto have = static_cast<std::int64_t>(code_points(*s));
    if (have >= *width) return Value::string(*s);
    std::string out;
    for (std::int64_t i = have; i < *width; ++i)
        out.append(fill);
    out.append(*s);
    return ctx.string(out);
}

Value fn_mask(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    if (!s) return {};
    std::int64_t keep = 4;
    if (args.size() > 1) {
        auto k = int_arg(ctx, call, args, 1);
        if (!k) return {};
        keep = std::max<std::int64_t>(0, *k);
    }
    const auto n = static_cast<std::int64_t>(code_points(*s));
    const std::int64_t hidden = std::max<std::int64_t>(0, n - keep);
    std::string out(static_cast<std::size_t>(hidden), '*');
    out.append(s->substr(byte_offset(*s, static_cast<std::size_t>(hidden))));
    return ctx.string(out);
}

// ---- numbers ----------------------------------------------------------------------------

Value fn_abs(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto n = number_arg(ctx, call, args, 0);
    if (!n) return {};
    if (n->is_int && n->i != INT64_MIN) return Value::integer(n->i < 0 ? -n->i : n->i);
    return Value::real(std::fabs(n->as_double()));
}

Value rounding(EvalContext& ctx, const Node& call, std::span<const Value> args,
               double (*how)(double)) {
    if (any_null(args)) return Value::null();
    auto n = number_arg(ctx, call, args, 0);
    if (!n) return {};
    std::int64_t digits_wanted = 0;
    if (args.size() > 1) {
        auto d = int_arg(ctx, call, args, 1);
        if (!d) return {};
        digits_wanted = std::clamp<std::int64_t>(*d, -15, 15);
    }
    if (n->is_int && digits_wanted >= 0) return Value::integer(n->i);
    if (digits_wanted == 0) {
        const double r = how(n->d);
        if (std::fabs(r) < 9.2e18) return Value::integer(static_cast<std::int64_t>(r));
        return Value::real(r);
    }
    const double scale = std::pow(10.0, static_cast<double>(digits_wanted));
    const double r = how(n->as_double() * scale) / scale;
    if (digits_wanted < 0 && std::fabs(r) < 9.2e18)
        return Value::integer(static_cast<std::int64_t>(r));
    return Value::real(r);
}

Value fn_round(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return rounding(ctx, call, args, [](double x) { return std::round(x); });
}
Value fn_floor(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return rounding(ctx, call, args, [](double x) { return std::floor(x); });
}
Value fn_ceil(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return rounding(ctx, call, args, [](double x) { return std::ceil(x); });
}

Value extreme(EvalContext& ctx, const Node& call, std::span<const Value> args, bool want_max) {
    std::span<const Value> items = args;
    if (args.size() == 1 && args[0].kind() == Kind::Array) items = args[0].as_array();
    Value best = Value::null();
    for (const Value& v : items) {
        if (v.is_null()) continue;
        if (best.is_null()) {
            best = v;
            continue;
        }
        const auto c = compare_values(v, best);
        if (!c)
            return ctx.fail(call, fname(call) + "() cannot compare " + describe(v) + " with " +
                                      describe(best));
        if (want_max ? *c > 0 : *c < 0) best = v;
    }
    return best;
}

Value fn_min(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return extreme(ctx, call, args, false);
}
Value fn_max(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return extreme(ctx, call, args, true);
}

// ---- casts and tests --------------------------------------------------------------------

/// The number int() and float() make of a value: numeric text may have white space around it.
std::optional<Num> cast_number(const Value& v) {
    if (v.kind() != Kind::String) return to_number(v);
    std::string_view s = v.as_string();
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return to_number(Value::string(s));
}

Value fn_int(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Bool) return Value::integer(v.as_bool() ? 1 : 0);
    const std::optional<Num> n = cast_number(v);
    if (!n) return ctx.fail(call, "int(): cannot make an integer of " + describe(v));
    if (n->is_int) return Value::integer(n->i);
    if (!(std::fabs(n->d) < 9.2e18))
        return ctx.fail(call, "int(): " + describe(v) + " is out of range");
    return Value::integer(static_cast<std::int64_t>(std::trunc(n->d)));
}

Value fn_float(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Bool) return Value::real(v.as_bool() ? 1.0 : 0.0);
    const std::optional<Num> n = cast_number(v);
    if (!n) return ctx.fail(call, "float(): cannot make a number of " + describe(v));
    return Value::real(n->as_double());
}

Value fn_string(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    (void)call;
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (auto t = to_text(ctx, v)) return Value::string(*t);
    return ctx.string(json::to_string(v));
}

Value fn_bool(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Bool) return v;
    if (v.is_number()) return Value::boolean(v.as_double() != 0);
    if (v.kind() == Kind::String) {
        std::string s = change_case(v.as_string(), false);
        if (s == "true" || s == "yes" || s == "y" || s == "1" || s == "on")
            return Value::boolean(true);
        if (s == "false" || s == "no" || s == "n" || s == "0" || s == "off")
            return Value::boolean(false);
    }
    return ctx.fail(call, "bool(): cannot make true/false of " + describe(v));
}

Value fn_is_null(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_null());
}
Value fn_is_number(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_number());
}
Value fn_is_string(EvalContext&, const Node&, std::span<const Value> args) {
    return Value::boolean(args[0].is_string());
}

// ---- time -------------------------------------------------------------------------------

Value epoch_value(const timefmt::Instant& t) {
    if (t.nanos == 0) return Value::integer(t.seconds);
    return Value::real(static_cast<double>(t.seconds) + t.nanos / 1e9);
}

std::optional<timefmt::Instant> instant_of(EvalContext& ctx, const Node& call, const Value& v) {
    if (auto n = to_number(v); n && v.kind() != Kind::String) {
        if (n->is_int) return timefmt::Instant{n->i, 0};
        const double s = std::floor(n->d);
        if (!(std::fabs(s) < 9e15)) {
            ctx.fail(call, fname(call) + "(): time " + describe(v) + " is out of range");
            return std::nullopt;
        }
        return timefmt::Instant{
            static_cast<std::int64_t>(s),
            static_cast<std::int32_t>(std::llround((n->d - s) * 1e9) % 1000000000)};
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
    std::string why;
    auto t = timefmt::parse(*s, format, &why);
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
    std::int32_t offset = 0;
    if (args.size() > 2 && !args[2].is_null()) {
        auto z = text_arg(ctx, call, args, 2);
        if (!z) return {};
        auto o = timefmt::parse_offset(*z);
        if (!o)
            return ctx.fail(call, "format_time(): time zone '" + std::string(*z) +
                                      "' is not UTC or an offset such as +02:00");
        offset = *o;
    }
    auto out = timefmt::format(*t, format, offset);
    if (!out) return ctx.fail(call, "format_time(): the year is outside 0..9999");
    return ctx.string(*out);
}

Value fn_now(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since).count();
    if (args.empty()) return Value::real(static_cast<double>(us) / 1e6);
    const timefmt::Instant t{us / 1'000'000, static_cast<std::int32_t>((us % 1'000'000) * 1000)};
    return time_result(ctx, call, args, 0, t);
}

// ---- hashing and ids --------------------------------------------------------------------

Value fn_sha256(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return digest(ctx, call, args, EVP_sha256());
}
Value fn_md5(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return digest(ctx, call, args, EVP_md5());
}

Value fn_hmac_sha256(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto key = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!key) return {};
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
              reinterpret_cast<const unsigned char*>(s->data()), s->size(), out, &n))
        return ctx.fail(call, "hmac_sha256() failed in OpenSSL");
    return ctx.string(hex(out, n));
}

Value fn_uuid(EvalContext& ctx, const Node& call, std::span<const Value>) {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return ctx.fail(call, "uuid(): no random bytes available");
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40); // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80); // RFC 4122 variant
    const std::string h = hex(b, sizeof b);
    return ctx.string(h.substr(0, 8) + '-' + h.substr(8, 4) + '-' + h.substr(12, 4) + '-' +
                      h.substr(16, 4) + '-' + h.substr(20));
}

constexpr int kAny = -1;

const Function kFunctions[] = {
    {{"lower", "lower(s)", "lower-case text"}, 1, 1, Type::String, -1, fn_lower},
    {{"upper", "upper(s)", "upper-case text"}, 1, 1, Type::String, -1, fn_upper},
    {{"trim", "trim(s)", "text without leading and trailing white space"},
     1,
     1,
     Type::String,
     -1,
     fn_trim},
    {{"len", "len(x)", "characters of text, items of a list, members of an object"},
     1,
     1,
     Type::Number,
     -1,
     fn_len},
    {{"substr", "substr(s, start, length = rest)",
      "part of text by character position (0-based; negative start counts from the end)"},
     2,
     3,
     Type::String,
     -1,
     fn_substr},
    {{"replace", "replace(s, old, new)", "every occurrence of old replaced by new"},
     3,
     3,
     Type::String,
     -1,
     fn_replace},
    {{"regex_replace", "regex_replace(s, pattern, replacement)",
      "every match replaced; \\1 in the replacement is group 1"},
     3,
     3,
     Type::String,
     1,
     fn_regex_replace},
    {{"regex_extract", "regex_extract(s, pattern, group = 0)",
      "the first match (or one of its groups); null when none"},
     2,
     3,
     Type::String,
     1,
     fn_regex_extract},
    {{"split", "split(s, separator)", "a list of the parts of text"},
     2,
     2,
     Type::List,
     -1,
     fn_split},
    {{"join", "join(list, separator)", "the items of a list as one text (nulls skipped)"},
     2,
     2,
     Type::String,
     -1,
     fn_join},
    {{"concat", "concat(a, b, ...)", "texts joined; null when any is null"},
     1,
     kAny,
     Type::String,
     -1,
     fn_concat},
    {{"starts_with", "starts_with(s, prefix)", "true when s begins with prefix"},
     2,
     2,
     Type::Bool,
     -1,
     fn_starts_with},
    {{"ends_with", "ends_with(s, suffix)", "true when s ends with suffix"},
     2,
     2,
     Type::Bool,
     -1,
     fn_ends_with},
    {{"contains", "contains(s, part)",
      "true when text contains part, or a list contains an item equal to part"},
     2,
     2,
     Type::Bool,
     -1,
     fn_contains},
    {{"pad_left", "pad_left(s, width, fill = ' ')", "text padded on the left to width characters"},
     2,
     3,
     Type::String,
     -1,
     fn_pad_left},
    {{"mask", "mask(s, keep_last = 4)", "every character but the last keep_last replaced by *"},
     1,
     2,
     Type::String,
     -1,
     fn_mask},
    {{"abs", "abs(x)", "absolute value"}, 1, 1, Type::Number, -1, fn_abs},
    {{"round", "round(x, digits = 0)", "rounded half away from zero"},
     1,
     2,
     Type::Number,
     -1,
     fn_round},
    {{"floor", "floor(x, digits = 0)", "rounded down"}, 1, 2, Type::Number, -1, fn_floor},
    {{"ceil", "ceil(x, digits = 0)", "rounded up"}, 1, 2, Type::Number, -1, fn_ceil},
    {{"min", "min(a, b, ...) or min(list)", "the smallest non-null value"},
     1,
     kAny,
     Type::Any,
     -1,
     fn_min},
    {{"max", "max(a, b, ...) or max(list)", "the largest non-null value"},
     1,
     kAny,
     Type::Any,
     -1,
     fn_max},
    {{"int", "int(x)",
      "an integer (text is parsed, decimals truncated); a failure is a record error"},
     1,
     1,
     Type::Number,
     -1,
     fn_int},
    {{"float", "float(x)", "a floating-point number; a failure is a record error"},
     1,
     1,
     Type::Number,
     -1,
     fn_float},
    {{"string", "string(x)", "text (lists and objects as JSON)"},
     1,
     1,
     Type::String,
     -1,
     fn_string},
    {{"bool", "bool(x)", "true/false from true/false, yes/no, 1/0, on/off or a number"},
     1,
     1,
     Type::Bool,
     -1,
     fn_bool},
    {{"is_null", "is_null(x)", "true when x is null or missing"}, 1, 1, Type::Bool, -1, fn_is_null},
    {{"is_number", "is_number(x)", "true when x is a number"}, 1, 1, Type::Bool, -1, fn_is_number},
    {{"is_string", "is_string(x)", "true when x is text"}, 1, 1, Type::Bool, -1, fn_is_string},
    {{"if", "if(condition, then, else)",
      "then when the condition is true, else otherwise (null counts as false)"},
     3,
     3,
     Type::Any,
     -1,
     nullptr},
    {{"coalesce", "coalesce(a, b, ...)", "the first non-null argument"},
     1,
     kAny,
     Type::Any,
     -1,
     nullptr},
    {{"parse_time", "parse_time(s, format = ISO 8601, as = 'epoch')",
      "a time written with a strftime format (%Y-%m-%d %H:%M:%S %z ...), as epoch seconds or, with "
      "as = 'iso', ISO 8601 text in UTC"},
     1,
     3,
     Type::Any,
     -1,
     fn_parse_time},
    {{"format_time", "format_time(t, format = ISO 8601, zone = 'UTC')",
      "a time (epoch seconds or ISO text) written with a strftime format, at a UTC offset such as "
      "'+02:00'"},
     1,
     3,
     Type::String,
     -1,
     fn_format_time},
    {{"now", "now(as = 'epoch')",
      "the current time in epoch seconds, or ISO 8601 text in UTC with as = 'iso'"},
     0,
     1,
     Type::Any,
     -1,
     fn_now},
    {{"sha256", "sha256(s)", "SHA-256 of text, hex"}, 1, 1, Type::String, -1, fn_sha256},
    {{"md5", "md5(s)", "MD5 of text, hex"}, 1, 1, Type::String, -1, fn_md5},
    {{"hmac_sha256", "hmac_sha256(s, key)", "HMAC-SHA-256 of text with a key, hex"},
     2,
     2,
     Type::String,
     -1,
     fn_hmac_sha256},
    {{"uuid", "uuid()", "a random (version 4) UUID"}, 0, 0, Type::String, -1, fn_uuid},
};

const std::vector<FunctionInfo>& infos() {
    static const std::vector<FunctionInfo> all = [] {
        std::vector<FunctionInfo> v;
        for (const Function& f : kFunctions)
            v.push_back(f.info);
        return v;
    }();
    return all;
}

} // namespace

const Function* find_function(std::string_view name) noexcept {
    for (const Function& f : kFunctions)
        if (f.info.name == name) return &f;
    return nullptr;
}

std::span<const FunctionInfo> functions() noexcept {
    return infos();
}

} // namespace conveyor::expr
