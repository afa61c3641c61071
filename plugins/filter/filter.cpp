#include "filter.hpp"

#include "conveyor/core/short_decimal.hpp"
#include "conveyor/format/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace conveyor::plugins::filter {

namespace {

struct Spelling {
    const char* text;
    Op op;
};
constexpr Spelling kSpellings[] = {
    {"==", Op::Eq},
    {"=", Op::Eq},
    {"!=", Op::Ne},
    {"<>", Op::Ne},
    {">", Op::Gt},
    {">=", Op::Ge},
    {"<", Op::Lt},
    {"<=", Op::Le},
    {"contains", Op::Contains},
    {"in", Op::In},
    {"not_in", Op::NotIn},
    {"is_null", Op::IsNull},
    {"not_null", Op::NotNull},
};

/// A string that is a plain decimal number ("100", "-2.5", "1e3", "007", ".5", "5."):
/// compared as a number against numeric literals.
std::optional<double> parse_number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    const std::size_t at = s[0] == '-' && s.size() > 1 ? 1 : 0;
    const char first = s[at] == '.' && s.size() > at + 1 ? s[at + 1] : s[at];
    if (first < '0' || first > '9') return std::nullopt;
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return i;
}

template <class T>
int three_way(T a, T b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

} // namespace

std::optional<Op> parse_op(std::string_view text) {
    for (const Spelling& s : kSpellings)
        if (text == s.text) return s.op;
    return std::nullopt;
}

const std::vector<std::string>& op_spellings() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> v;
        for (const Spelling& s : kSpellings)
            v.emplace_back(s.text);
        return v;
    }();
    return all;
}

Literal Literal::from_option(const OptionValue& v) {
    Literal lit;
    if (v.is_int()) {
        lit.integer = v.as_int();
        lit.number = static_cast<double>(v.as_int());
        lit.text = std::to_string(v.as_int());
    } else if (v.is_double()) {
        lit.number = v.as_double();
        if (std::floor(v.as_double()) == v.as_double() && std::fabs(v.as_double()) < 9e15)
            lit.integer = static_cast<std::int64_t>(v.as_double());
    } else if (v.is_bool()) {
        lit.boolean = v.as_bool();
        lit.text = v.as_bool() ? "true" : "false";
    } else if (v.is_string()) {
        lit.text = v.as_string();
        lit.number = parse_number(v.as_string());
        if (lit.number) lit.integer = parse_int(v.as_string());
    }
    return lit;
}

std::optional<int> compare(const Value& v, const Literal& lit, bool ordering) {
    switch (v.kind()) {
    case Kind::Int:
        if (lit.integer) return three_way(v.as_int(), *lit.integer);
        if (lit.number) return three_way(static_cast<double>(v.as_int()), *lit.number);
        return std::nullopt;
    case Kind::Double:
        // Number text ("1854.94") against a whole literal: ordered digit by digit, the same
        // as reading it as a double first.
        if (lit.integer && v.has_number_text())
            if (const std::optional<int> c = compare_short_decimal(v.number_text(), *lit.integer))
                return *c;
        if (lit.number) return three_way(v.as_double(), *lit.number);
        return std::nullopt;
    case Kind::String: {
        const std::string_view s = v.as_string();
        if (lit.number) {
            if (auto d = parse_number(s)) {
                if (lit.integer)
                    if (auto i = parse_int(s)) return three_way(*i, *lit.integer);
                return three_way(*d, *lit.number);
            }
            // "n/a" is neither above nor below 1000; it is only unequal to it.
            if (ordering) return std::nullopt;
        }
        if (lit.text) return three_way(s.compare(*lit.text), 0);
        return std::nullopt;
    }
    case Kind::Bool:
        if (lit.boolean)
            return three_way(static_cast<int>(v.as_bool()), static_cast<int>(*lit.boolean));
        return std::nullopt;
    default:
        return std::nullopt;
    }
}

bool Condition::equals(const Value& v, const Literal& lit) const {
    auto c = compare(v, lit, false);
    return c && *c == 0;
}

bool Condition::matches(const Value& v) const {
    if (op_ == Op::IsNull) return v.is_null();
    if (op_ == Op::NotNull) return !v.is_null();
    if (v.is_null()) return false;
    switch (op_) {
    case Op::Eq:
        return equals(v, values_[0]);
    case Op::Ne:
        return !equals(v, values_[0]);
    case Op::Gt: {
        auto c = compare(v, values_[0], true);
        return c && *c > 0;
    }
    case Op::Ge: {
        auto c = compare(v, values_[0], true);
        return c && *c >= 0;
    }
    case Op::Lt: {
        auto c = compare(v, values_[0], true);
        return c && *c < 0;
    }
    case Op::Le: {
        auto c = compare(v, values_[0], true);
        return c && *c <= 0;
    }
    case Op::Contains: {
        if (v.kind() == Kind::String)
            return values_[0].text &&
                   v.as_string().find(*values_[0].text) != std::string_view::npos;
        // A number as it is written, as the expressions' contains() reads it: a zip code or
        // an id that csv.read made a number still contains "12".
        if (v.is_number() && v.kind() != Kind::Bool && values_[0].text) {
            std::string text;
            if (v.kind() == Kind::Int)
                text = std::to_string(v.as_int());
            else if (v.has_number_text())
                text = v.number_text();
            else
                json::append_double(text, v.as_double());
            return text.find(*values_[0].text) != std::string::npos;
        }
        if (v.kind() == Kind::Array) {
            for (const Value& item : v.as_array())
                if (!item.is_null() && equals(item, values_[0])) return true;
        }
        return false;
    }
    case Op::In:
        for (const Literal& lit : values_)
            if (equals(v, lit)) return true;
        return false;
    case Op::NotIn:
        for (const Literal& lit : values_)
            if (equals(v, lit)) return false;
        return true;
    default:
        return false;
    }
}

} // namespace conveyor::plugins::filter
