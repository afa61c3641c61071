#include "conveyor/core/value.hpp"

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

namespace conveyor {

std::string_view to_string(Kind kind) noexcept {
    switch (kind) {
    case Kind::Absent:
        return "absent";
    case Kind::Null:
        return "null";
    case Kind::Bool:
        return "bool";
    case Kind::Int:
        return "int";
    case Kind::Double:
        return "double";
    case Kind::String:
        return "string";
    case Kind::Array:
        return "array";
    case Kind::Object:
        return "object";
    }
    return "unknown";
}

namespace {

/// The value of `-?[0-9]+(\.[0-9]+)?` with at most 15 digits (CSV amounts, prices), exactly as
/// from_chars gives it: the digits form an integer below 2^53 and the divisor a power of ten up
/// to 10^15, both exact as doubles, so one division rounds correctly. nullopt for anything
/// else (more digits, an exponent), which from_chars reads.
std::optional<double> short_decimal(const char* p, const char* end) noexcept {
    static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const bool negative = p != end && *p == '-';
    if (negative) ++p;
    std::uint64_t digits = 0;
    int count = 0;
    int fraction = -1; // digits after the point; -1: no point yet
    for (; p != end; ++p) {
        const char c = *p;
        if (c >= '0' && c <= '9') {
            digits = digits * 10 + static_cast<std::uint64_t>(c - '0');
            if (++count > 15) return std::nullopt;
            if (fraction >= 0) ++fraction;
        } else if (c == '.' && fraction < 0 && count > 0) {
            fraction = 0;
        } else {
            return std::nullopt;
        }
    }
    if (count == 0 || fraction == 0) return std::nullopt;
    double d = static_cast<double>(digits);
    if (fraction > 0) d /= kPow10[fraction];
    return negative ? -d : d;
}

} // namespace

double Value::as_double() const noexcept {
    if (kind_ == Kind::Int) return static_cast<double>(u_.i);
    if (kind_ != Kind::Double) return 0.0;
    if (!text_) return u_.d;
    if (const std::optional<double> quick = short_decimal(u_.s, u_.s + size_)) return *quick;
    double d = 0.0;
    auto [ptr, ec] = std::from_chars(u_.s, u_.s + size_, d);
    if (ec == std::errc::result_out_of_range) {
        // Underflow to zero or overflow; strtod gives the correctly rounded limit.
        std::string tmp(u_.s, size_);
        return std::strtod(tmp.c_str(), nullptr);
    }
    (void)ptr;
    return d;
}

const Value* Value::find(std::string_view key) const noexcept {
    if (kind_ != Kind::Object) return nullptr;
    for (const Member& m : as_object())
        if (m.key == key) return &m.value;
    return nullptr;
}

bool json_equal(const Value& a, const Value& b) noexcept {
    if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
    if (a.is_number() && b.is_number()) {
        if (a.kind() == Kind::Int && b.kind() == Kind::Int) return a.as_int() == b.as_int();
        return a.as_double() == b.as_double();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case Kind::Bool:
        return a.as_bool() == b.as_bool();
    case Kind::String:
        return a.as_string() == b.as_string();
    case Kind::Array: {
        auto x = a.as_array(), y = b.as_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!json_equal(x[i], y[i])) return false;
        return true;
    }
    case Kind::Object: {
        auto x = a.as_object(), y = b.as_object();
        if (x.size() != y.size()) return false;
        for (const Member& m : x) {
            const Value* other = b.find(m.key);
            if (!other || !json_equal(m.value, *other)) return false;
        }
        return true;
    }
    default:
        return false;
    }
}

} // namespace conveyor
