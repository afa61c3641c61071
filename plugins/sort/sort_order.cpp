#include "sort_order.hpp"

#include "conveyor/format/json_writer.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace conveyor::plugins::sort {

namespace {

int kind_rank(const Value& v) {
    if (v.is_number()) return 0;
    switch (v.kind()) {
    case Kind::String:
        return 1;
    case Kind::Bool:
        return 2;
    case Kind::Array:
        return 3;
    default:
        return 4;
    }
}

int sign(int c) {
    return (c > 0) - (c < 0);
}

int compare_bytes(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    if (n != 0)
        if (const int c = std::memcmp(a.data(), b.data(), n); c != 0) return sign(c);
    return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// Runs of digits compare by their value (file2 < file10), everything else by bytes.
int compare_natural(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (is_digit(a[i]) && is_digit(b[j])) {
            std::size_t si = i, sj = j;
            while (si < a.size() && a[si] == '0')
                ++si;
            while (sj < b.size() && b[sj] == '0')
                ++sj;
            std::size_t ei = si, ej = sj;
            while (ei < a.size() && is_digit(a[ei]))
                ++ei;
            while (ej < b.size() && is_digit(b[ej]))
                ++ej;
            // More significant digits: the larger number.
            if (ei - si != ej - sj) return ei - si < ej - sj ? -1 : 1;
            if (const int c = compare_bytes(a.substr(si, ei - si), b.substr(sj, ej - sj)); c != 0)
                return c;
            // Equal values: fewer leading zeros first, so that the order stays total.
            if (ei - i != ej - j) return ei - i < ej - j ? -1 : 1;
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j])
            return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
        ++i;
        ++j;
    }
    return i < a.size() ? 1 : j < b.size() ? -1 : 0;
}

} // namespace

int compare_values(const Value& a, const Value& b, Collation collation) {
    const int ra = kind_rank(a);
    const int rb = kind_rank(b);
    if (ra != rb) return ra < rb ? -1 : 1;
    switch (ra) {
    case 0:
        if (a.kind() == Kind::Int && b.kind() == Kind::Int)
            return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
        {
            const double x = a.as_double();
            const double y = b.as_double();
            return x < y ? -1 : x > y ? 1 : 0;
        }
    case 1:
        return collation == Collation::Natural ? compare_natural(a.as_string(), b.as_string())
                                               : compare_bytes(a.as_string(), b.as_string());
    case 2:
        return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
    default:
        return compare_bytes(json::to_string(a), json::to_string(b));
    }
}

int SortOrder::compare(const Value* a, const Value* b) const {
    for (std::size_t k = 0; k < keys.size(); ++k) {
        const bool na = a[k].is_null();
        const bool nb = b[k].is_null();
        if (na || nb) {
            if (na && nb) continue;
            return na == nulls_last ? 1 : -1;
        }
        int c = compare_values(a[k], b[k], collation);
        if (c == 0) continue;
        return keys[k].descending ? -c : c;
    }
    return 0;
}

} // namespace conveyor::plugins::sort
