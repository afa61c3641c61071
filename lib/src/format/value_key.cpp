#include "conveyor/format/value_key.hpp"

#include "conveyor/format/integer_text.hpp"
#include "conveyor/format/json_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <vector>

namespace conveyor {

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

/// The digits of an integer written in a number's text (`-12345678901234567890`, also with a
/// fraction of zeros, `...890.0`), with its sign and without leading zeros; empty when the text
/// is not such an integer (an exponent, a fraction that is not zero).
std::string_view integer_digits(std::string_view text, std::string& scratch) {
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) ++i;
    std::size_t first = i;
    while (first < text.size() && text[first] == '0')
        ++first;
    std::size_t end = first;
    while (end < text.size() && is_digit(text[end]))
        ++end;
    if (end == i) return {};
    if (end < text.size()) {
        if (text[end] != '.') return {};
        for (std::size_t k = end + 1; k < text.size(); ++k)
            if (text[k] != '0') return {};
    }
    scratch.assign(negative ? "-" : "");
    scratch.append(text.substr(first, end - first));
    return scratch;
}

/// Two numbers equal as doubles beyond int64: by the integers their texts write, when both do
/// (12345678901234567890 < 12345678901234567891), else equal.
int compare_big_integers(const Value& a, const Value& b) {
    if (!a.has_number_text() || !b.has_number_text()) return 0;
    return compare_integer_texts(a.number_text(), b.number_text()).value_or(0);
}

} // namespace

std::optional<int> compare_integer_texts(std::string_view a, std::string_view b) {
    std::string sa, sb;
    const std::string_view x = integer_digits(a, sa);
    const std::string_view y = integer_digits(b, sb);
    if (x.empty() || y.empty()) return std::nullopt;
    const bool nx = x.front() == '-';
    if (nx != (y.front() == '-')) return nx ? -1 : 1;
    // Of one sign: more digits is further from zero.
    const int c = x.size() != y.size() ? (x.size() < y.size() ? -1 : 1) : compare_bytes(x, y);
    return nx ? -c : c;
}

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
            if (x != y || std::fabs(x) < 9.2e18) return x < y ? -1 : x > y ? 1 : 0;
            return compare_big_integers(a, b);
        }
    case 1:
        return collation == Collation::Natural ? compare_natural(a.as_string(), b.as_string())
                                               : compare_bytes(a.as_string(), b.as_string());
    case 2:
        return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
    case 3: {
        // Item by item, as these rules order the items ([9] before [10], [2] before [2, 1]);
        // a null item before any value.
        const std::span<const Value> x = a.as_array();
        const std::span<const Value> y = b.as_array();
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
            const bool nx = x[i].is_null();
            const bool ny = y[i].is_null();
            if (nx || ny) {
                if (nx != ny) return nx ? -1 : 1;
                continue;
            }
            if (const int c = compare_values(key_value(x[i]), key_value(y[i]), collation); c != 0)
                return c;
        }
        return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    }
    default:
        return compare_bytes(json::to_string(a), json::to_string(b));
    }
}

void encode_key(std::string& key, const Value& v) {
    auto put = [&key](const void* p, std::size_t n) { key.append(static_cast<const char*>(p), n); };
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        key.push_back('n');
        return;
    case Kind::Bool:
        key.push_back(v.as_bool() ? 't' : 'f');
        return;
    case Kind::Int: {
        key.push_back('i');
        const std::int64_t i = v.as_int();
        put(&i, sizeof i);
        return;
    }
    case Kind::Double: {
        const double d = v.as_double();
        if (d == std::trunc(d) && std::fabs(d) < 9.2e18) {
            key.push_back('i');
            const auto i = static_cast<std::int64_t>(d);
            put(&i, sizeof i);
            return;
        }
        // An integer beyond int64 (a 20-digit id in JSON) keeps its digits: two such ids a
        // double cannot tell apart are still two keys.
        if (std::fabs(d) >= 9.2e18 && v.has_number_text()) {
            std::string scratch;
            if (const std::string_view digits = integer_digits(v.number_text(), scratch);
                !digits.empty()) {
                key.push_back('b');
                const auto n = static_cast<std::uint32_t>(digits.size());
                put(&n, sizeof n);
                key.append(digits);
                return;
            }
        }
        // Beyond a double's range (1e400 read from JSON keeps its text): 1e400 and 1e500 are
        // one infinity as doubles, but two values.
        if (!std::isfinite(d) && v.has_number_text()) {
            const std::string_view text = v.number_text();
            key.push_back('x');
            const auto n = static_cast<std::uint32_t>(text.size());
            put(&n, sizeof n);
            key.append(text);
            return;
        }
        key.push_back('d');
        put(&d, sizeof d);
        return;
    }
    case Kind::String: {
        key.push_back('s');
        const auto n = static_cast<std::uint32_t>(v.as_string().size());
        put(&n, sizeof n);
        key.append(v.as_string());
        return;
    }
    case Kind::Array: {
        // Item by item, so that [1, 2.0] is the key [1, 2] is, as 2.0 is 2's.
        const std::span<const Value> items = v.as_array();
        key.push_back('a');
        const auto n = static_cast<std::uint32_t>(items.size());
        put(&n, sizeof n);
        for (const Value& item : items)
            encode_key(key, item);
        return;
    }
    case Kind::Object: {
        // Members by name (a repeated name's values in their order), each value as a key:
        // {"a": 1, "b": 2} and {"b": 2.0, "a": 1} are equal as JSON, so one key.
        const std::span<const Member> members = v.as_object();
        std::vector<const Member*> sorted;
        sorted.reserve(members.size());
        for (const Member& m : members)
            sorted.push_back(&m);
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const Member* x, const Member* y) { return x->key < y->key; });
        key.push_back('o');
        const auto n = static_cast<std::uint32_t>(members.size());
        put(&n, sizeof n);
        for (const Member* m : sorted) {
            const auto len = static_cast<std::uint32_t>(m->key.size());
            put(&len, sizeof len);
            key.append(m->key);
            encode_key(key, m->value);
        }
        return;
    }
    }
}

Value copy_into(Arena& arena, const Value& v) {
    switch (v.kind()) {
    case Kind::String:
        // An empty string needs no storage; as it is, a bare-empty one keeps its mark.
        if (v.as_string().empty()) return v;
        return Value::string(arena.copy(v.as_string()));
    case Kind::Double:
        return v.has_number_text() ? Value::number_text(arena.copy(v.number_text())) : v;
    case Kind::Array: {
        const std::span<const Value> items = v.as_array();
        Value* copy = arena.allocate_array<Value>(items.size());
        for (std::size_t i = 0; i < items.size(); ++i)
            copy[i] = copy_into(arena, items[i]);
        return Value::array(copy, static_cast<std::uint32_t>(items.size()));
    }
    case Kind::Object: {
        const std::span<const Member> members = v.as_object();
        Member* copy = arena.allocate_array<Member>(members.size());
        for (std::size_t i = 0; i < members.size(); ++i)
            copy[i] = Member{arena.copy(members[i].key), copy_into(arena, members[i].value)};
        return Value::object(copy, static_cast<std::uint32_t>(members.size()));
    }
    default:
        return v;
    }
}

} // namespace conveyor
