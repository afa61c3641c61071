#include "pg_values.hpp"

#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/time_text.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

namespace conveyor::plugins::postgres {

namespace {

// Type oids of the server's catalog (pg_type.dat); they never change.
constexpr std::uint32_t kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kJson = 114,
                        kFloat4 = 700, kFloat8 = 701, kTimestamp = 1114, kTimestampTz = 1184,
                        kNumeric = 1700, kJsonb = 3802;

Error malformed(std::string_view what, std::string_view text) {
    return Error(ErrorKind::Data, std::string("malformed ") + std::string(what) +
                                      " from the server: " + std::string(text.substr(0, 80)));
}

Value text_value(std::string_view text, Arena& arena) {
    return Value::string(arena.copy(text));
}

/// "2024-01-02 10:11:12.5" -> "2024-01-02T10:11:12.5"; with `utc`, "+00" -> "Z" (also for a
/// year of five digits or more: "10000-01-02 03:04:05+00"). Other shapes (infinity, BC dates)
/// stay as the server wrote them.
Value timestamp_value(std::string_view text, bool utc, Arena& arena) {
    const std::size_t space = text.find(' ');
    if (space < 10 || space == text.npos || text.size() < space + 9 || text.ends_with(" BC"))
        return text_value(text, arena);
    std::string_view body = text;
    bool zulu = false;
    if (utc && body.ends_with("+00")) {
        body.remove_suffix(3);
        zulu = true;
    }
    const std::size_t n = body.size() + (zulu ? 1 : 0);
    char* p = static_cast<char*>(arena.allocate(n, 1));
    std::copy(body.begin(), body.end(), p);
    p[space] = 'T';
    if (zulu) p[n - 1] = 'Z';
    return Value::string(std::string_view(p, n));
}

/// One element of an array literal: quoted (backslash escapes) or bare up to the delimiter;
/// a bare NULL is null.
struct ArrayParser {
    std::string_view text;
    std::size_t at = 0;
    const PgDecoder& element;
    char delimiter;
    Arena& arena;
    json::Parser& parser;
    std::string scratch;

    Result<Value> parse_array() {
        if (at >= text.size() || text[at] != '{') return fail(malformed("array", text));
        ++at;
        std::vector<Value> items;
        if (at < text.size() && text[at] == '}') {
            ++at;
            return Value::array(nullptr, 0);
        }
        for (;;) {
            if (at >= text.size()) return fail(malformed("array", text));
            Result<Value> item = text[at] == '{' ? parse_array() : parse_element();
            if (!item) return item;
            items.push_back(*item);
            if (at >= text.size()) return fail(malformed("array", text));
            if (text[at] == '}') {
                ++at;
                break;
            }
            if (text[at] != delimiter) return fail(malformed("array", text));
            ++at;
        }
        Value* stored = arena.allocate_array<Value>(items.size());
        std::copy(items.begin(), items.end(), stored);
        return Value::array(stored, static_cast<std::uint32_t>(items.size()));
    }

    Result<Value> parse_element() {
        if (text[at] == '"') {
            scratch.clear();
            ++at;
            while (at < text.size() && text[at] != '"') {
                if (text[at] == '\\' && at + 1 < text.size()) ++at;
                scratch.push_back(text[at++]);
            }
            if (at >= text.size()) return fail(malformed("array", text));
            ++at;
            return element.decode(scratch, arena, parser);
        }
        const std::size_t start = at;
        while (at < text.size() && text[at] != delimiter && text[at] != '}')
            ++at;
        const std::string_view bare = text.substr(start, at - start);
        if (bare.size() == 4 && (bare[0] | 0x20) == 'n' && (bare[1] | 0x20) == 'u' &&
            (bare[2] | 0x20) == 'l' && (bare[3] | 0x20) == 'l')
            return Value::null();
        return element.decode(bare, arena, parser);
    }
};

} // namespace

bool numeric_fits_double(std::string_view text) noexcept {
    std::size_t digits = 0;
    std::size_t pending_zeros = 0; // zeros after the last non-zero digit of the fraction
    bool leading = true;
    bool fraction = false;
    for (const char c : text) {
        if (c == '-' || c == '+') continue;
        if (c == '.') {
            fraction = true;
            continue;
        }
        if (c < '0' || c > '9') return false; // NaN, Infinity, exponents
        if (leading && c == '0') continue;
        leading = false;
        if (c == '0') {
            ++pending_zeros;
            continue;
        }
        digits += pending_zeros + 1;
        pending_zeros = 0;
    }
    // Trailing zeros of the integer part are digits of the value too.
    if (!fraction) digits += pending_zeros;
    return digits <= 15 && text.size() < 40;
}

PgDecoder PgDecoder::for_type(std::uint32_t oid, char category,
                              std::shared_ptr<const PgDecoder> element, NumericAs numeric) {
    PgDecoder d;
    d.numeric = numeric;
    if (element) {
        d.kind = Kind::Array;
        d.element = std::move(element);
        return d;
    }
    switch (oid) {
    case kBool:
        d.kind = Kind::Bool;
        break;
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid:
        d.kind = Kind::Int;
        break;
    case kFloat4:
    case kFloat8:
        d.kind = Kind::Float;
        break;
    case kNumeric:
        d.kind = Kind::Numeric;
        break;
    case kTimestamp:
        d.kind = Kind::Timestamp;
        break;
    case kTimestampTz:
        d.kind = Kind::TimestampTz;
        break;
    case kJson:
    case kJsonb:
        d.kind = Kind::Json;
        break;
    default:
        d.kind = category == 'B' ? Kind::Bool : Kind::Text;
        break;
    }
    return d;
}

Result<Value> PgDecoder::decode(std::string_view text, Arena& arena, json::Parser& parser,
                                bool borrow) const {
    auto as_text = [&] { return borrow ? Value::string(text) : text_value(text, arena); };
    auto as_number = [&] { return Value::number_text(borrow ? text : arena.copy(text)); };
    switch (kind) {
    case Kind::Text:
        return as_text();
    case Kind::Int: {
        std::int64_t i = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
        if (ec != std::errc() || end != text.data() + text.size()) return as_text();
        return Value::integer(i);
    }
    case Kind::Float:
        // NaN and the infinities have no JSON number: they stay text.
        if (text.empty() || (text.back() < '0' || text.back() > '9')) return as_text();
        return as_number();
    case Kind::Numeric:
        if (numeric == NumericAs::String || text.empty() || text.back() < '0' ||
            text.back() > '9' || (numeric == NumericAs::Auto && !numeric_fits_double(text)))
            return as_text();
        return as_number();
    case Kind::Bool:
        if (text == "t") return Value::boolean(true);
        if (text == "f") return Value::boolean(false);
        return as_text();
    case Kind::Timestamp:
        return timestamp_value(text, false, arena);
    case Kind::TimestampTz:
        return timestamp_value(text, true, arena);
    case Kind::Json: {
        Result<Value> v = parser.parse(text, arena);
        if (!v) return fail(malformed("json", text));
        return v;
    }
    case Kind::Array: {
        std::string_view body = text;
        // "[0:1]={1,2}": bounds other than 1 come first; the values are what counts.
        if (!body.empty() && body.front() == '[') {
            const auto eq = body.find('=');
            if (eq == std::string_view::npos) return fail(malformed("array", text));
            body.remove_prefix(eq + 1);
        }
        ArrayParser p{body, 0, *element, delimiter, arena, parser, {}};
        Result<Value> v = p.parse_array();
        if (v && p.at != body.size()) return fail(malformed("array", text));
        return v;
    }
    }
    return as_text();
}

namespace {

/// Characters COPY's text format escapes.
constexpr std::array<bool, 256> kCopyEscaped = [] {
    std::array<bool, 256> t{};
    t['\\'] = t['\n'] = t['\r'] = t['\t'] = true;
    return t;
}();

void append_copy_text(std::string& out, std::string_view s) {
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (!kCopyEscaped[static_cast<unsigned char>(c)]) continue;
        out.append(s.data() + run, i - run);
        out.push_back('\\');
        out.push_back(c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\');
        run = i + 1;
    }
    out.append(s.data() + run, s.size() - run);
}

void append_number(std::string& out, const Value& v) {
    if (v.kind() == Kind::Int) {
        json::append_int(out, v.as_int());
    } else if (v.has_number_text()) {
        out += v.number_text();
    } else {
        const double d = v.as_double();
        if (std::isnan(d))
            out += "NaN";
        else if (std::isinf(d))
            out += d > 0 ? "Infinity" : "-Infinity";
        else
            json::append_double(out, d);
    }
}

/// An integral double for an integer column: number text with a fraction of zeros only
/// ("1000.0", "-7.00") as its integer part, a double without text (a computed 1000.0) as its
/// integer when an int64 holds it. False (nothing written) for anything else, which the
/// server then refuses or takes as it is.
bool append_integral(std::string& out, const Value& v) {
    if (v.has_number_text()) {
        const std::string_view t = v.number_text();
        const std::size_t point = t.find('.');
        if (point == std::string_view::npos || point == 0 ||
            t.find_first_not_of('0', point + 1) != std::string_view::npos ||
            t.substr(0, point).find_first_not_of("+-0123456789") != std::string_view::npos ||
            t.find_first_of("0123456789") >= point)
            return false;
        out.append(t.substr(t.starts_with('+') ? 1 : 0, point - (t.starts_with('+') ? 1 : 0)));
        return true;
    }
    const double d = v.as_double();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9.2e18) return false;
    json::append_int(out, static_cast<std::int64_t>(d));
    return true;
}

/// An array literal: {1,"two",NULL,{3,4}}; objects as quoted JSON text.
void append_array_literal(std::string& out, const Value& v) {
    out.push_back('{');
    bool first = true;
    for (const Value& item : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        switch (item.kind()) {
        case Kind::Absent:
        case Kind::Null:
            out += "NULL";
            break;
        case Kind::Bool:
            out += item.as_bool() ? "true" : "false";
            break;
        case Kind::Int:
        case Kind::Double:
            append_number(out, item);
            break;
        case Kind::Array:
            append_array_literal(out, item);
            break;
        case Kind::String:
        case Kind::Object: {
            std::string text =
                item.kind() == Kind::String ? std::string(item.as_string()) : json::to_string(item);
            out.push_back('"');
            for (const char c : text) {
                if (c == '"' || c == '\\') out.push_back('\\');
                out.push_back(c);
            }
            out.push_back('"');
            break;
        }
        }
    }
    out.push_back('}');
}

} // namespace

namespace {

/// Whether the time of ISO 8601 `text` has an offset ("Z", "+02:00", "-0530" after the time).
bool has_offset(std::string_view text) noexcept {
    const std::size_t time = text.find_first_of("T ", 8);
    if (time == text.npos) return false;
    const std::string_view rest = text.substr(time + 1);
    return rest.find_first_of("Zz+-") != rest.npos;
}

/// `text` for a timestamp (without time zone) column: in UTC when it has an offset, which the
/// column would drop; as it is otherwise (and when conveyor cannot read it: the server says).
std::string_view timestamp_text(std::string_view text, std::string& scratch) {
    if (!has_offset(text)) return text;
    const std::optional<timefmt::Instant> t = timefmt::parse_iso(text);
    if (!t) return text;
    std::optional<std::string> utc = timefmt::format(*t, "", 0);
    if (!utc) return text;
    scratch = std::move(*utc);
    return scratch;
}

} // namespace

void append_copy_field(std::string& out, const Value& v, PgColumnKind column,
                       std::string& scratch) {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        out += "\\N";
        return;
    case Kind::Bool:
        // What a boolean column reads as well as PostgreSQL's own t/f, and what a text column
        // should hold (JSON true is "true", not "t").
        out += v.as_bool() ? "true" : "false";
        return;
    case Kind::Int:
    case Kind::Double:
        if (column == PgColumnKind::Json && v.kind() == Kind::Double) {
            // Valid JSON: null when not finite, 0.5 for number text such as ".5".
            json::append_value(out, v);
            return;
        }
        if (column == PgColumnKind::Integer && v.kind() == Kind::Double && append_integral(out, v))
            return;
        append_number(out, v);
        return;
    case Kind::String:
        if (column == PgColumnKind::Timestamp) {
            append_copy_text(out, timestamp_text(v.as_string(), scratch));
            return;
        }
        if (column != PgColumnKind::Json) {
            append_copy_text(out, v.as_string());
            return;
        }
        scratch.clear();
        json::append_string(scratch, v.as_string());
        append_copy_text(out, scratch);
        return;
    case Kind::Array:
        scratch.clear();
        if (column == PgColumnKind::Array)
            append_array_literal(scratch, v);
        else
            json::append_value(scratch, v);
        append_copy_text(out, scratch);
        return;
    case Kind::Object:
        scratch.clear();
        json::append_value(scratch, v);
        append_copy_text(out, scratch);
        return;
    }
}

bool is_integer_text(const Value& v) noexcept {
    if (!v.has_number_text()) return false;
    std::string_view t = v.number_text();
    if (t.starts_with('-') || t.starts_with('+')) t.remove_prefix(1);
    return !t.empty() && t.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string_view sql_type_for(Kind kind) noexcept {
    switch (kind) {
    case Kind::Bool:
        return "boolean";
    case Kind::Int:
        return "bigint";
    case Kind::Double:
        return "double precision";
    case Kind::Array:
    case Kind::Object:
        return "jsonb";
    default:
        return "text";
    }
}

} // namespace conveyor::plugins::postgres
