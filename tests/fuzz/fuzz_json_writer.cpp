// The JSON writer (lib/include/conveyor/format/json_writer.hpp) against the parser
// (json_parser.hpp). An input is either
// - JSON text (any input not starting with byte 0x01: JSON test suites are seeds as they are).
//   When it parses, what append_value, append_value_pretty and,
//   for an object, append_record and append_record_compact over its members write parses
//   again to the same value (kinds, member order, string bytes, numbers by value), writing
//   that again gives the same bytes, and the two record writers give identical bytes;
// - 0x01 and a description of values the parser cannot make (strings and names with bytes that
//   are not UTF-8, number text that is not a JSON number, doubles of any bits, absent fields),
//   built directly. Written, they parse to the value expected of the writer's documented
//   replacements: each maximal ill-formed UTF-8 subpart becomes U+FFFD (worked out here on its
//   own), number text that is not a JSON number is written from its value, a double
//   that is not finite and an absent array item are null, an absent member is left out.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using conveyor::Kind;
using conveyor::Member;
using conveyor::Value;

/// A broken promise: says which (the crash report's stack has no line for an inlined check).
void check(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
    std::abort();
}
#define CHECK(x) check((x), __LINE__)

/// Same value: kinds (a number is a number whether int or double), string bytes, array items
/// and object members in order with equal keys; numbers by value.
bool same(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind() == Kind::Int && b.kind() == Kind::Int) return a.as_int() == b.as_int();
        return a.as_double() == b.as_double();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case Kind::Absent:
    case Kind::Null:
        return true;
    case Kind::Bool:
        return a.as_bool() == b.as_bool();
    case Kind::String:
        return a.as_string() == b.as_string();
    case Kind::Array: {
        const auto x = a.as_array(), y = b.as_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same(x[i], y[i])) return false;
        return true;
    }
    case Kind::Object: {
        const auto x = a.as_object(), y = b.as_object();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (x[i].key != y[i].key || !same(x[i].value, y[i].value)) return false;
        return true;
    }
    default:
        return false;
    }
}

/// `s` with each maximal ill-formed subpart replaced by U+FFFD (Unicode 15, 3.9, U+FFFD
/// substitution of maximal subparts; Table 3-7 for what is well-formed).
std::string replaced(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    while (i < s.size()) {
        const unsigned char b = byte(i);
        if (b < 0x80) {
            out += static_cast<char>(b);
            ++i;
            continue;
        }
        // Allowed ranges of each following byte for this lead byte.
        unsigned char lo[3] = {0x80, 0x80, 0x80}, hi[3] = {0xBF, 0xBF, 0xBF};
        int more = -1;
        if (b >= 0xC2 && b <= 0xDF) {
            more = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            more = 2;
            if (b == 0xE0) lo[0] = 0xA0;
            if (b == 0xED) hi[0] = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            more = 3;
            if (b == 0xF0) lo[0] = 0x90;
            if (b == 0xF4) hi[0] = 0x8F;
        }
        if (more < 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        int ok = 0;
        while (ok < more && i + 1 + ok < s.size() && byte(i + 1 + ok) >= lo[ok] &&
               byte(i + 1 + ok) <= hi[ok])
            ++ok;
        if (ok == more) {
            out.append(s.substr(i, static_cast<std::size_t>(more) + 1));
        } else {
            out += "\xEF\xBF\xBD";
        }
        i += static_cast<std::size_t>(ok) + 1;
    }
    return out;
}

/// Takes bytes off the front of the input.
struct Bytes {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    std::uint64_t word(int bytes) {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v = (v << 8) | byte();
        return v;
    }
    std::string_view text() {
        std::size_t len = byte() % 24;
        if (len > n) len = n;
        const std::string_view s(reinterpret_cast<const char*>(p), len);
        p += len;
        n -= len;
        return s;
    }
};

/// The values built from a description (inputs starting with 0x01), and what the writer should make
/// of them, in storage that lives for the whole input.
/// RFC 8259's number grammar, on its own here: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view t) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t from = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9')
            ++i;
        return i > from;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i < t.size() && t[i] == '0')
        ++i;
    else if (!digits())
        return false;
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == t.size();
}

class Builder {
public:
    struct Pair {
        Value given;
        Value expected; ///< absent: left out (a member) or null (an item)
    };

    Pair build(Bytes& in, int depth) {
        const std::uint8_t kind = in.byte();
        switch (kind % (depth < 6 ? 9 : 7)) {
        case 0:
            return {Value::null(), Value::null()};
        case 1:
            return {Value::boolean((kind & 0x80) != 0), Value::boolean((kind & 0x80) != 0)};
        case 2: {
            const auto i = static_cast<std::int64_t>(in.word(8));
            return {Value::integer(i), Value::integer(i)};
        }
        case 3: {
            const double d = std::bit_cast<double>(in.word(8));
            return {Value::real(d), std::isfinite(d) ? Value::real(d) : Value::null()};
        }
        case 4: {
            // Number text from the input: kept when it is a JSON number (then it reads back as
            // the same value, or as the same text beyond a double's range: 1e999), else
            // written from its value (null when that is not finite).
            const std::string_view t = keep(in.text());
            const Value v = Value::number_text(t);
            const double d = v.as_double();
            if (std::isfinite(d)) return {v, Value::real(d)};
            return {v, is_json_number(t) ? v : Value::null()};
        }
        case 5: {
            const std::string_view s = keep(in.text());
            return {Value::string(s), Value::string(keep(replaced(s)))};
        }
        case 6:
            return {Value::absent(), Value::absent()};
        case 7: {
            const std::size_t n = in.byte() % 5;
            std::vector<Value> given, expected;
            for (std::size_t i = 0; i < n; ++i) {
                Pair item = build(in, depth + 1);
                given.push_back(item.given);
                expected.push_back(item.expected.is_absent() ? Value::null() : item.expected);
            }
            return {array(std::move(given)), array(std::move(expected))};
        }
        default: {
            const std::size_t n = in.byte() % 5;
            std::vector<Member> given, expected;
            for (std::size_t i = 0; i < n; ++i) {
                const std::string_view key = keep(in.text());
                Pair member = build(in, depth + 1);
                given.push_back({key, member.given});
                if (!member.expected.is_absent())
                    expected.push_back({keep(replaced(key)), member.expected});
            }
            return {object(std::move(given)), object(std::move(expected))};
        }
        }
    }

    std::string_view keep(std::string_view s) { return texts_.emplace_back(s); }

private:
    Value array(std::vector<Value> items) {
        const auto& v = arrays_.emplace_back(std::move(items));
        return Value::array(v.data(), static_cast<std::uint32_t>(v.size()));
    }
    Value object(std::vector<Member> members) {
        const auto& v = objects_.emplace_back(std::move(members));
        return Value::object(v.data(), static_cast<std::uint32_t>(v.size()));
    }

    std::deque<std::string> texts_;
    std::deque<std::vector<Value>> arrays_;
    std::deque<std::vector<Member>> objects_;
};

conveyor::json::Parser& parser() {
    static conveyor::json::Parser p;
    return p;
}

/// `text` parses, into arena.
Value parse(std::string_view text, conveyor::Arena& arena) {
    auto v = parser().parse(text, arena);
    if (!v.ok()) std::fprintf(stderr, "does not parse: %s\n", std::string(text).c_str());
    CHECK(v.ok());
    return *v;
}

/// An object's members as a record: the schema of its keys and the row of its values.
void check_records(const Value& object, const Value& expected, conveyor::Arena& arena) {
    std::vector<std::string> names;
    std::vector<Value> row;
    for (const Member& m : object.as_object()) {
        names.emplace_back(m.key);
        row.push_back(m.value);
    }
    const conveyor::Schema schema(names);
    std::string general, compact;
    conveyor::json::append_record(general, schema, row);
    const std::vector<std::string> keys = conveyor::json::encoded_keys(schema);
    conveyor::json::append_record_compact(compact, row, keys);
    CHECK(general == compact);
    CHECK(same(parse(general, arena), expected));
    // After other text in the buffer, too (the compact writer reserves and cuts back).
    std::string after = "[";
    conveyor::json::append_record_compact(after, row, keys);
    after += ']';
    CHECK(after == "[" + general + "]");
}

void check_written(const Value& given, const Value& expected) {
    conveyor::Arena arena;
    const std::string text = conveyor::json::to_string(given);
    const Value back = parse(text, arena);
    if (!same(back, expected) || !conveyor::json_equal(back, expected))
        std::fprintf(stderr, "written: %s\nexpected: %s\n", text.c_str(),
                     conveyor::json::to_string(expected).c_str());
    CHECK(same(back, expected));
    CHECK(conveyor::json_equal(back, expected));
    // Written again: the same bytes.
    CHECK(conveyor::json::to_string(back) == text);
    std::string pretty;
    conveyor::json::append_value_pretty(pretty, given, 2, 0);
    CHECK(same(parse(pretty, arena), expected));
    if (given.kind() == Kind::Object) check_records(given, expected, arena);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || data[0] != 0x01) {
        conveyor::Arena arena;
        const std::string_view text(reinterpret_cast<const char*>(data), size);
        auto v = parser().parse(text, arena);
        if (!v.ok()) return 0;
        check_written(*v, *v);
        return 0;
    }
    Bytes in{data + 1, size - 1}; // after the 0x01
    Builder builder;
    const Builder::Pair top = builder.build(in, 0);
    check_written(top.given, top.expected.is_absent() ? Value::null() : top.expected);
    return 0;
}
