#include "conveyor/format/json_writer.hpp"

#include "conveyor/core/short_bytes.hpp"
#include "json_number.hpp"
#include "utf8.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace conveyor::json {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD"; // U+FFFD

/// Byte classes for the string scanner: 0 = copy as is, 1 = escape, 2 = start of a
/// non-ASCII sequence (validated, then copied or replaced).
struct ByteClasses {
    unsigned char cls[256];
    constexpr ByteClasses() : cls{} {
        for (int c = 0; c < 256; ++c)
            cls[c] = c < 0x20 || c == '"' || c == '\\' ? 1 : c >= 0x80 ? 2 : 0;
    }
};
constexpr ByteClasses kClasses;

/// Skips bytes that need no attention (printable ASCII other than '"' and '\\').
inline const unsigned char* skip_plain(const unsigned char* p, const unsigned char* end) noexcept {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // Signed compare: bytes >= 0x80 are negative, so this catches controls and non-ASCII.
        const __m128i special =
            _mm_or_si128(_mm_cmplt_epi8(x, space),
                         _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
        const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special));
        if (mask != 0) return p + __builtin_ctz(mask);
        p += 16;
    }
    if (p < end && short_bytes::loadable16(p)) {
        // The last 1 to 15 bytes in one compare; the bytes past `end` are masked off.
        const __m128i x = short_bytes::load16(p);
        const __m128i special =
            _mm_or_si128(_mm_cmplt_epi8(x, space),
                         _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
        const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(special)) &
                              short_bytes::first_bits(static_cast<std::size_t>(end - p));
        return mask != 0 ? p + __builtin_ctz(mask) : end;
    }
#endif
    while (p < end && kClasses.cls[*p] == 0)
        ++p;
    return p;
}

void append_escape(std::string& out, unsigned char c) {
    char buf[6] = {'\\', 0, 0, 0, 0, 0};
    switch (c) {
    case '"':
        buf[1] = '"';
        break;
    case '\\':
        buf[1] = '\\';
        break;
    case '\b':
        buf[1] = 'b';
        break;
    case '\f':
        buf[1] = 'f';
        break;
    case '\n':
        buf[1] = 'n';
        break;
    case '\r':
        buf[1] = 'r';
        break;
    case '\t':
        buf[1] = 't';
        break;
    default:
        buf[1] = 'u';
        buf[2] = '0';
        buf[3] = '0';
        buf[4] = kHex[c >> 4];
        buf[5] = kHex[c & 0xF];
        out.append(buf, 6);
        return;
    }
    out.append(buf, 2);
}

void append_newline_indent(std::string& out, int spaces) {
    out.push_back('\n');
    if (spaces > 0) out.append(static_cast<std::size_t>(spaces), ' ');
}

void append_pretty(std::string& out, const Value& v, int indent, int depth);

template <class Get>
void append_members_pretty(std::string& out, std::size_t n, Get get, int indent, int depth) {
    bool first = true;
    for (std::size_t i = 0; i < n; ++i) {
        auto [key, value] = get(i);
        if (value->is_absent()) continue;
        out.append(first ? "{" : ",");
        first = false;
        append_newline_indent(out, (depth + 1) * indent);
        append_string(out, key);
        out.append(": ");
        append_pretty(out, *value, indent, depth + 1);
    }
    if (first) {
        out.append("{}");
        return;
    }
    append_newline_indent(out, depth * indent);
    out.push_back('}');
}

void append_pretty(std::string& out, const Value& v, int indent, int depth) {
    switch (v.kind()) {
    case Kind::Array: {
        auto items = v.as_array();
        if (items.empty()) {
            out.append("[]");
            return;
        }
        out.push_back('[');
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i) out.push_back(',');
            append_newline_indent(out, (depth + 1) * indent);
            append_pretty(out, items[i], indent, depth + 1);
        }
        append_newline_indent(out, depth * indent);
        out.push_back(']');
        return;
    }
    case Kind::Object: {
        auto members = v.as_object();
        append_members_pretty(
            out, members.size(),
            [&](std::size_t i) {
                return std::pair<std::string_view, const Value*>{members[i].key, &members[i].value};
            },
            indent, depth);
        return;
    }
    default:
        append_value(out, v);
        return;
    }
}

} // namespace

namespace {
thread_local std::uint64_t replaced = 0; ///< replaced_on_this_thread()
} // namespace

std::uint64_t replaced_on_this_thread() noexcept {
    return replaced;
}

std::string replacement_warning(std::uint64_t n) {
    return std::to_string(n) + (n == 1 ? " byte sequence that is" : " byte sequences that are") +
           " not UTF-8 (in text values or field names) written as U+FFFD, as JSON text must be "
           "UTF-8 (csv.write keeps such bytes as they are)";
}

bool is_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const end = p + s.size();
    while (p < end) {
        if (*p < 0x80) {
            ++p;
            continue;
        }
        const int n = detail::utf8_sequence(p, static_cast<std::size_t>(end - p));
        if (n <= 0) return false;
        p += n;
    }
    return true;
}

void append_string(std::string& out, std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* const end = p + s.size();
    // The common case (no escapes, valid UTF-8) ends up as a single append of the whole input.
    out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    const unsigned char* run = p; // start of bytes that are copied as they are
    while (p < end) {
        p = skip_plain(p, end);
        if (p == end) break;
        const unsigned char c = *p;
        if (c < 0x80) {
            out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
            append_escape(out, c);
            run = ++p;
            continue;
        }
        const int n = detail::utf8_sequence(p, static_cast<std::size_t>(end - p));
        if (n > 0) {
            p += n; // valid: stays part of the run
            continue;
        }
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        out.append(kReplacement, 3);
        ++replaced;
        p += -n;
        run = p;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
    out.push_back('"');
}

void append_int(std::string& out, std::int64_t i) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, i);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out.append("null");
        return;
    }
    char buf[kMaxDoubleText];
    out.append(buf, write_double(buf, d));
}

char* write_double(char* p, double d) noexcept {
    char* const start = p;
    // At most 24 characters ("-2.2250738585072014e-308"), so ".0" always fits.
    p = std::to_chars(p, p + kMaxDoubleText - 2, d).ptr;
    // to_chars takes the exponent form whenever it is shorter, so 1000.0 * 100 came out as
    // "1e+05" beside 200000 in one column. From 1e-4 to below 1e16 (where Python, Java and
    // JavaScript write plain digits too) write the digits: the same double reads back.
    if (std::memchr(start, 'e', static_cast<std::size_t>(p - start)) != nullptr) {
        const double a = std::fabs(d);
        if (a >= 1e-4 && a < 1e16)
            p = std::to_chars(start, start + kMaxDoubleText - 2, d, std::chars_format::fixed).ptr;
    }
    // "2" would read back as an integer; keep the value a double.
    const auto n = static_cast<std::size_t>(p - start);
    if (std::memchr(start, '.', n) == nullptr && std::memchr(start, 'e', n) == nullptr) {
        *p++ = '.';
        *p++ = '0';
    }
    return p;
}

void append_value(std::string& out, const Value& v) {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        out.append("null");
        return;
    case Kind::Bool:
        v.as_bool() ? out.append("true") : out.append("false");
        return;
    case Kind::Int:
        append_int(out, v.as_int());
        return;
    case Kind::Double:
        if (v.has_number_text()) {
            // Producers promise JSON number syntax; checking keeps the output valid JSON even
            // when one does not ("+1", ".5" are written from their value instead). Text beyond
            // a double's range (1e400, read from JSON) is JSON too, and keeps its digits.
            const std::string_view t = v.number_text();
            if (detail::scan_number(t).shape != detail::NumberShape::Invalid) {
                out.append(t);
                return;
            }
        }
        append_double(out, v.as_double());
        return;
    case Kind::String:
        append_string(out, v.as_string());
        return;
    case Kind::Array: {
        out.push_back('[');
        bool first = true;
        for (const Value& item : v.as_array()) {
            if (!first) out.push_back(',');
            first = false;
            append_value(out, item);
        }
        out.push_back(']');
        return;
    }
    case Kind::Object: {
        out.push_back('{');
        bool first = true;
        for (const Member& m : v.as_object()) {
            if (m.value.is_absent()) continue;
            if (!first) out.push_back(',');
            first = false;
            append_string(out, m.key);
            out.push_back(':');
            append_value(out, m.value);
        }
        out.push_back('}');
        return;
    }
    }
}

void append_value_pretty(std::string& out, const Value& v, int indent, int depth) {
    append_pretty(out, v, indent, depth);
}

namespace {

/// A row as a JSON object, absent fields left out; `key(i)` writes field i's `"name":`.
template <class Key>
void append_row(std::string& out, std::span<const Value> row, Key&& key) {
    out.push_back('{');
    bool first = true;
    for (std::size_t i = 0; i < row.size(); ++i) {
        if (row[i].is_absent()) continue;
        if (!first) out.push_back(',');
        first = false;
        key(i);
        append_value(out, row[i]);
    }
    out.push_back('}');
}

} // namespace

void append_record(std::string& out, const Schema& schema, std::span<const Value> row) {
    append_row(out, row, [&](std::size_t i) {
        append_string(out, schema.name(i));
        out.push_back(':');
    });
}

void append_record_pretty(std::string& out, const Schema& schema, std::span<const Value> row,
                          int indent, int depth) {
    append_members_pretty(
        out, row.size(),
        [&](std::size_t i) {
            return std::pair<std::string_view, const Value*>{schema.name(i), &row[i]};
        },
        indent, depth);
}

namespace {

/// The most bytes the fast path writes for `v`; 0 when `v` takes the general path (lists and
/// objects).
inline std::size_t fast_bound(const Value& v) noexcept {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
    case Kind::Bool:
        return 5;
    case Kind::Int:
        return 20;
    case Kind::Double:
        // Number text is written as it is; a double as write_double() writes it.
        return v.has_number_text() ? v.number_text().size() : kMaxDoubleText;
    case Kind::String:
        return v.as_string().size() + 2;
    default:
        return 0;
    }
}

/// Writes `v` at `p`, which has fast_bound(v) bytes of room and 16 more (short texts are copied
/// 16 bytes at a time: short_bytes::copy); nullptr when `v` needs the
/// general path after all: a string with a byte to escape or replace, number text that is not
/// a JSON number.
inline char* write_fast(char* p, const Value& v) noexcept {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        std::memcpy(p, "null", 4);
        return p + 4;
    case Kind::Bool:
        if (v.as_bool()) {
            std::memcpy(p, "true", 4);
            return p + 4;
        }
        std::memcpy(p, "false", 5);
        return p + 5;
    case Kind::Int:
        return std::to_chars(p, p + 20, v.as_int()).ptr;
    case Kind::Double: {
        if (v.has_number_text()) {
            const std::string_view t = v.number_text();
            if (detail::scan_number(t).shape == detail::NumberShape::Invalid) return nullptr;
            short_bytes::copy(p, t.data(), t.size());
            return p + t.size();
        }
        const double d = v.as_double();
        if (!std::isfinite(d)) {
            std::memcpy(p, "null", 4);
            return p + 4;
        }
        return write_double(p, d);
    }
    case Kind::String: {
        const std::string_view s = v.as_string();
        const auto* q = reinterpret_cast<const unsigned char*>(s.data());
        const auto* const end = q + s.size();
        while (q < end) {
            q = skip_plain(q, end);
            if (q == end) break;
            if (*q < 0x80) return nullptr; // a quote, backslash or control: escaped
            const int n = detail::utf8_sequence(q, static_cast<std::size_t>(end - q));
            if (n <= 0) return nullptr; // not UTF-8: replaced
            q += n;
        }
        *p++ = '"';
        short_bytes::copy(p, s.data(), s.size());
        p += s.size();
        *p++ = '"';
        return p;
    }
    default:
        return nullptr;
    }
}

} // namespace

std::vector<std::string> encoded_keys(const Schema& schema) {
    std::vector<std::string> keys;
    keys.reserve(schema.size());
    for (const std::string& name : schema.names()) {
        std::string k;
        append_string(k, name);
        k.push_back(':');
        keys.push_back(std::move(k));
    }
    return keys;
}

void append_record_compact(std::string& out, std::span<const Value> row,
                           std::span<const std::string> keys) {
    const std::size_t start = out.size();
    std::size_t bound = 2;
    bool fast = true;
    for (std::size_t i = 0; i < row.size() && fast; ++i) {
        if (row[i].is_absent()) continue;
        const std::size_t b = fast_bound(row[i]);
        fast = b != 0;
        bound += keys[i].size() + 1 + b;
    }
    if (fast) {
        // One resize for the row (room for the longest text it can be, and the 16 bytes a
        // short copy may store past its end), written through a pointer, then cut to what was
        // written.
        out.resize(start + bound + 16);
        char* p = out.data() + start;
        *p++ = '{';
        bool first = true;
        for (std::size_t i = 0; i < row.size() && p != nullptr; ++i) {
            if (row[i].is_absent()) continue;
            if (!first) *p++ = ',';
            first = false;
            short_bytes::copy(p, keys[i].data(), keys[i].size());
            p = write_fast(p + keys[i].size(), row[i]);
        }
        if (p != nullptr) {
            *p++ = '}';
            out.resize(static_cast<std::size_t>(p - out.data()));
            return;
        }
        out.resize(start);
    }
    append_row(out, row, [&](std::size_t i) { out.append(keys[i]); });
}

std::string to_string(const Value& v) {
    std::string out;
    append_value(out, v);
    return out;
}

} // namespace conveyor::json
