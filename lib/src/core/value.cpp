#include "conveyor/core/value.hpp"

#include "conveyor/core/bare_empty.hpp"
#include "conveyor/core/short_decimal.hpp"

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

namespace conveyor {

namespace detail {
const char kBareEmpty[1] = {};
} // namespace detail

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

double Value::as_double() const noexcept {
    if (kind_ == Kind::Int) return static_cast<double>(u_.i);
    if (kind_ != Kind::Double) return 0.0;
    if (!text_) return u_.d;
    if (const std::optional<double> quick = short_decimal({u_.s, size_})) return *quick;
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
        std::size_t i = 0;
        while (i < x.size() && x[i].key == y[i].key) // the usual case: the same order
            ++i;
        if (i == x.size()) {
            for (std::size_t k = 0; k < x.size(); ++k)
                if (!json_equal(x[k].value, y[k].value)) return false;
            return true;
        }
        // In any order: the n-th member of a key with the other's n-th member of that key, so
        // that an object with a repeated key ({"a":1,"a":2}, as JSON input may have) equals
        // itself rather than having each "a" compared with the first.
        for (std::size_t k = 0; k < x.size(); ++k) {
            std::size_t nth = 0;
            for (std::size_t j = 0; j < k; ++j)
                if (x[j].key == x[k].key) ++nth;
            const Member* match = nullptr;
            for (const Member& m : y) {
                if (m.key != x[k].key) continue;
                if (nth == 0) {
                    match = &m;
                    break;
                }
                --nth;
            }
            if (!match || !json_equal(x[k].value, match->value)) return false;
        }
        return true;
    }
    default:
        return false;
    }
}

} // namespace conveyor
