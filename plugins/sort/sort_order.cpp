#include "sort_order.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace conveyor::plugins::sort {

namespace {

unsigned fold(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 'A' && u <= 'Z' ? u + 32u : u;
}

/// By bytes with ASCII capitals as small letters: "apple" < "Banana" < "cherry".
int compare_folded(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i)
        if (fold(a[i]) != fold(b[i])) return fold(a[i]) < fold(b[i]) ? -1 : 1;
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

} // namespace

int SortOrder::compare(const Value* a, const Value* b) const {
    for (std::size_t k = 0; k < keys.size(); ++k) {
        const bool na = a[k].is_null();
        const bool nb = b[k].is_null();
        if (na || nb) {
            if (na && nb) continue;
            return na == nulls_last ? 1 : -1;
        }
        int c = fold_case && a[k].is_string() && b[k].is_string()
                    ? compare_folded(a[k].as_string(), b[k].as_string())
                    : compare_values(a[k], b[k], collation);
        if (c == 0) continue;
        return keys[k].descending ? -c : c;
    }
    return 0;
}

SortOrder::Prefix SortOrder::prefix(const Value& v) const {
    Prefix p;
    if (v.is_null()) {
        p.cls = nulls_last ? 6 : 0;
        p.exact = true;
        return p;
    }
    const bool desc = !keys.empty() && keys[0].descending;
    // compare_values' order of kinds: numbers, strings, booleans, arrays, the rest.
    int rank = 4;
    if (v.is_number()) {
        rank = 0;
        double d = v.as_double();
        if (d == 0) d = 0; // -0.0 equals 0.0
        if (std::isnan(d)) {
            p.bits = 0;
        } else {
            const auto u = std::bit_cast<std::uint64_t>(d);
            p.bits = (u >> 63) != 0 ? ~u : u | (std::uint64_t{1} << 63);
            constexpr std::int64_t kExact = std::int64_t{1} << 53;
            // A double is its bits, unless it is an integer beyond int64 kept as its text
            // (key_value): two of those one double cannot tell apart compare by their digits.
            p.exact = v.kind() == Kind::Double ? !v.has_number_text()
                                               : v.as_int() >= -kExact && v.as_int() <= kExact;
        }
    } else if (v.is_string()) {
        rank = 1;
        if (collation == Collation::Binary) {
            const std::string_view s = v.as_string();
            for (std::size_t i = 0; i < 8; ++i)
                p.bits = (p.bits << 8) |
                         (i < s.size() ? (fold_case ? fold(s[i]) : static_cast<unsigned char>(s[i]))
                                       : 0u);
        }
    } else if (v.kind() == Kind::Bool) {
        rank = 2;
        p.bits = v.as_bool() ? 1 : 0;
        p.exact = true;
    } else if (v.kind() == Kind::Array) {
        rank = 3;
    }
    p.cls = static_cast<std::uint8_t>(1 + (desc ? 4 - rank : rank));
    if (desc) p.bits = ~p.bits;
    return p;
}

} // namespace conveyor::plugins::sort
