#include "aggregation.hpp"

#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace conveyor::plugins::groupby {

namespace {

constexpr std::array<std::string_view, 16> kNames = {
    "count", "count_distinct", "sum",        "avg",     "mean", "min",
    "max",   "median",         "percentile", "std",     "var",  "first",
    "last",  "collect",        "mode",       "antimode"};

constexpr std::array<Op, 16> kOps = {Op::Count,      Op::CountDistinct, Op::Sum,  Op::Avg,
                                     Op::Avg,        Op::Min,           Op::Max,  Op::Median,
                                     Op::Percentile, Op::Std,           Op::Var,  Op::First,
                                     Op::Last,       Op::Collect,       Op::Mode, Op::Antimode};

} // namespace

bool has_extra(Op op) noexcept {
    return op == Op::Median || op == Op::Percentile || op == Op::CountDistinct ||
           op == Op::Collect || op == Op::Mode || op == Op::Antimode;
}

namespace {

/// The value at fraction p of sorted `xs` (linear interpolation between neighbours, as
/// numpy's default and DuckDB's quantile_cont).
double quantile(std::vector<double>& xs, double p) {
    std::sort(xs.begin(), xs.end());
    const double pos = p * static_cast<double>(xs.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, xs.size() - 1);
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - static_cast<double>(lo));
}

/// A double that is a whole number within range as an integer value, else a real.
Value number(double d) {
    return Value::real(d);
}

/// mode: the value seen most often, antimode: least often; of equals the first seen (as
/// Miller's stats1). Null when there was none.
Value most_or_least(const AggState& s, bool most) {
    if (!s.extra || s.extra->items.empty()) return Value::null();
    std::vector<std::int64_t> counts(s.extra->items.size());
    for (const auto& [key, entry] : s.extra->tally)
        counts[entry.second] = entry.first;
    std::size_t best = 0;
    for (std::size_t i = 1; i < counts.size(); ++i)
        if (most ? counts[i] > counts[best] : counts[i] < counts[best]) best = i;
    return s.extra->items[best];
}

} // namespace

std::optional<Op> op_named(std::string_view name) {
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (kNames[i] == name) return kOps[i];
    // Miller's spellings (stats1 -a stddev,var,distinct_count; pNN: percentile_named).
    if (name == "stddev") return Op::Std;
    if (name == "variance") return Op::Var;
    if (name == "distinct_count") return Op::CountDistinct;
    if (percentile_named(name)) return Op::Percentile;
    return std::nullopt;
}

std::optional<double> percentile_named(std::string_view name) {
    if (name.size() < 2 || name.front() != 'p') return std::nullopt;
    const std::string_view digits = name.substr(1);
    if (!std::isdigit(static_cast<unsigned char>(digits.front()))) return std::nullopt;
    double percent = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), percent,
                                           std::chars_format::fixed);
    if (ec != std::errc() || end != digits.data() + digits.size() || percent > 100)
        return std::nullopt;
    return percent / 100;
}

std::span<const std::string_view> op_names() noexcept {
    return kNames;
}

std::size_t AggState::extra_bytes_hint() const noexcept {
    if (!extra) return 0;
    return sizeof(AggExtra) + extra->numbers.size() * sizeof(double) +
           extra->items.size() * sizeof(Value) +
           (extra->seen.size() + extra->tally.size()) * 64; // node, hash, key
}

std::optional<double> as_number(const Value& v) {
    if (v.is_number()) return v.as_double();
    if (!v.is_string()) return std::nullopt;
    std::string_view s = v.as_string();
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    if (s.front() == '+') s.remove_prefix(1);
    double d = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
}

Input Input::of(const Value& v) {
    return {v, as_number(v)};
}

Status check_slow(const Aggregation& a, const Input& in) {
    const Value& v = in.value;
    if (v.is_null() || (v.is_string() && v.as_string().empty())) return {};
    std::string shown = json::to_string(v);
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    return fail(ErrorKind::Data, fmt::format("column '{}' holds {}, not a number (for {})",
                                             a.input->text(), shown, a.output));
}

void fold(const Aggregation& a, AggState& s, const Input& in, Arena& arena) {
    const Value& v = in.value;
    if (!a.input) { // a bare count: records
        ++s.count;
        return;
    }
    // Nothing to add, as in SQL; an empty string (CSV read without types) is no value either.
    if (v.is_null() || (v.is_string() && v.as_string().empty() && is_numeric(a.op))) return;
    if (is_numeric(a.op)) {
        assert(in.number); // check()ed by the caller
        const std::optional<double>& d = in.number;
        ++s.count;
        switch (a.op) {
        case Op::Sum:
        case Op::Avg: {
            // Compensated (Neumaier) summation: a sum of many decimals stays exact to the last
            // digit shown instead of drifting (0.1 + 0.2 + ...).
            const double t = s.sum + *d;
            s.carry += std::fabs(s.sum) >= std::fabs(*d) ? (s.sum - t) + *d : (*d - t) + s.sum;
            s.sum = t;
            if (v.kind() == Kind::Int && s.int_only) {
                if (__builtin_add_overflow(s.isum, v.as_int(), &s.isum)) s.int_only = false;
            } else {
                s.int_only = false;
            }
            break;
        }
        case Op::Std:
        case Op::Var: {
            const double delta = *d - s.sum; // sum: the mean, carry: M2
            s.sum += delta / static_cast<double>(s.count);
            s.carry += delta * (*d - s.sum);
            break;
        }
        default:
            if (!s.extra) s.extra = std::make_unique<AggExtra>();
            s.extra->numbers.push_back(*d);
        }
        return;
    }
    switch (a.op) {
    case Op::Count: // counted below, as every value taken
        break;
    case Op::CountDistinct: {
        if (!s.extra) s.extra = std::make_unique<AggExtra>();
        std::string key;
        encode_key(key, v);
        s.extra->seen.insert(std::move(key));
        break;
    }
    case Op::Min:
    case Op::Max: {
        // Numbers (also written as strings, CSV read without types) compare as numbers. While
        // the value kept is one, its number is in s.sum (and s.int_only says so), so that each
        // value is parsed once.
        const std::optional<double>& d = in.number;
        bool better = s.kept.is_absent();
        if (!better && d && s.int_only) {
            better = a.op == Op::Min ? *d < s.sum : *d > s.sum;
        } else if (!better) {
            const Value cand = d ? Value::real(*d) : key_value(v);
            const std::optional<double> cd = s.kept.is_string() ? as_number(s.kept) : std::nullopt;
            const int c = compare_values(cand, cd ? Value::real(*cd) : key_value(s.kept));
            better = a.op == Op::Min ? c < 0 : c > 0;
        }
        if (better) {
            s.kept = copy_into(arena, v);
            s.int_only = d.has_value();
            if (d) s.sum = *d;
        }
        break;
    }
    case Op::First:
        if (s.kept.is_absent()) s.kept = copy_into(arena, v);
        break;
    case Op::Last:
        s.kept = copy_into(arena, v);
        break;
    case Op::Collect:
        if (!s.extra) s.extra = std::make_unique<AggExtra>();
        s.extra->items.push_back(copy_into(arena, v));
        break;
    case Op::Mode:
    case Op::Antimode: {
        if (!s.extra) s.extra = std::make_unique<AggExtra>();
        std::string key;
        encode_key(key, v);
        auto [it, fresh] = s.extra->tally.try_emplace(std::move(key), 0, s.extra->items.size());
        if (fresh) s.extra->items.push_back(copy_into(arena, v));
        ++it->second.first;
        break;
    }
    default:
        break;
    }
    ++s.count;
}

Value result(const Aggregation& a, AggState& s, Arena& arena) {
    switch (a.op) {
    case Op::Count:
        return Value::integer(s.count);
    case Op::CountDistinct:
        return Value::integer(s.extra ? static_cast<std::int64_t>(s.extra->seen.size()) : 0);
    case Op::Sum:
        return s.int_only ? Value::integer(s.isum) : number(s.sum + s.carry);
    case Op::Avg:
        return s.count ? number((s.sum + s.carry) / static_cast<double>(s.count)) : Value::null();
    case Op::Min:
    case Op::Max:
    case Op::First:
    case Op::Last:
        return s.kept.is_absent() ? Value::null() : s.kept;
    case Op::Median:
    case Op::Percentile:
        if (!s.extra || s.extra->numbers.empty()) return Value::null();
        return number(quantile(s.extra->numbers, a.op == Op::Median ? 0.5 : a.p));
    case Op::Std:
    case Op::Var: {
        // Sample variance (n - 1), as SQL's var_samp / stddev_samp and pandas.
        if (s.count < 2) return Value::null();
        const double var = s.carry / static_cast<double>(s.count - 1);
        return number(a.op == Op::Var ? var : std::sqrt(var));
    }
    case Op::Mode:
    case Op::Antimode:
        return most_or_least(s, a.op == Op::Mode);
    case Op::Collect: {
        const std::size_t n = s.extra ? s.extra->items.size() : 0;
        Value* items = arena.allocate_array<Value>(n);
        for (std::size_t i = 0; i < n; ++i)
            items[i] = s.extra->items[i];
        return Value::array(items, static_cast<std::uint32_t>(n));
    }
    }
    return Value::null();
}

} // namespace conveyor::plugins::groupby
