#include "conveyor/format/column_types.hpp"

#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/time_text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace conveyor::coltype {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string quoted(const Value& v) {
    std::string text = v.is_string() ? std::string(v.as_string()) : json::to_string(v);
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return "'" + text + "'";
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return n;
}

std::optional<double> parse_double(std::string_view s) {
    s = trim(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double d = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(d))
        return std::nullopt;
    return d;
}

} // namespace

std::optional<ColumnType> parse(std::string_view name) noexcept {
    if (name == "string" || name == "str" || name == "text") return ColumnType::String;
    if (name == "int" || name == "integer") return ColumnType::Int;
    if (name == "float" || name == "double" || name == "number") return ColumnType::Float;
    if (name == "bool" || name == "boolean") return ColumnType::Bool;
    if (name == "timestamp" || name == "datetime") return ColumnType::Timestamp;
    return std::nullopt;
}

const std::vector<std::string>& names() {
    // Every spelling parse() takes, so that "did you mean" finds the nearest.
    static const std::vector<std::string> n = {"string",  "str",     "text",      "int",
                                               "integer", "float",   "double",    "number",
                                               "bool",    "boolean", "timestamp", "datetime"};
    return n;
}

std::string_view to_string(ColumnType type) noexcept {
    switch (type) {
    case ColumnType::String:
        return "string";
    case ColumnType::Int:
        return "int";
    case ColumnType::Float:
        return "float";
    case ColumnType::Bool:
        return "bool";
    case ColumnType::Timestamp:
        return "timestamp";
    }
    return "string";
}

std::optional<Value> convert(const Value& v, ColumnType type, Arena& arena, std::string* why) {
    auto fail = [&](std::string reason) -> std::optional<Value> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    if (v.is_null()) return v; // null stays null, an absent field absent
    switch (type) {
    case ColumnType::String:
        if (v.is_string()) return v;
        if (v.kind() == Kind::Array || v.kind() == Kind::Object)
            return Value::string(arena.copy(json::to_string(v)));
        // A number read from a file keeps its text (an integer's text is its canonical form).
        return Value::string(arena.copy(json::to_string(v)));
    case ColumnType::Int:
        if (v.kind() == Kind::Int) return v;
        if (v.kind() == Kind::Double) {
            const double d = v.as_double();
            if (std::trunc(d) == d && std::fabs(d) < 9.2e18)
                return Value::integer(static_cast<std::int64_t>(d));
            return fail(quoted(v) + " is not a whole number");
        }
        if (v.is_string()) {
            if (auto n = parse_int(v.as_string())) return Value::integer(*n);
            if (auto d = parse_double(v.as_string());
                d && std::trunc(*d) == *d && std::fabs(*d) < 9.2e18)
                return Value::integer(static_cast<std::int64_t>(*d));
            return fail(quoted(v) + " is not an integer");
        }
        if (v.kind() == Kind::Bool) return Value::integer(v.as_bool() ? 1 : 0);
        return fail(quoted(v) + " is not an integer");
    case ColumnType::Float:
        if (v.kind() == Kind::Double) return v;
        if (v.kind() == Kind::Int) return Value::real(static_cast<double>(v.as_int()));
        if (v.is_string()) {
            if (auto d = parse_double(v.as_string())) return Value::real(*d);
            return fail(quoted(v) + " is not a number");
        }
        return fail(quoted(v) + " is not a number");
    case ColumnType::Bool: {
        if (v.kind() == Kind::Bool) return v;
        if (v.kind() == Kind::Int && (v.as_int() == 0 || v.as_int() == 1))
            return Value::boolean(v.as_int() == 1);
        if (v.is_string()) {
            const std::string s = lower(trim(v.as_string()));
            if (s == "true" || s == "1" || s == "yes" || s == "y" || s == "on" || s == "t")
                return Value::boolean(true);
            if (s == "false" || s == "0" || s == "no" || s == "n" || s == "off" || s == "f")
                return Value::boolean(false);
        }
        return fail(quoted(v) + " is not true or false");
    }
    case ColumnType::Timestamp: {
        std::optional<timefmt::Instant> t;
        std::string reason;
        if (v.is_number()) {
            const double d = v.as_double();
            if (std::isfinite(d) && std::fabs(d) < 253402300800.0) {
                timefmt::Instant i;
                i.seconds = static_cast<std::int64_t>(std::floor(d));
                i.nanos = static_cast<std::int32_t>(std::llround((d - std::floor(d)) * 1e9));
                if (i.nanos >= 1'000'000'000) {
                    ++i.seconds;
                    i.nanos = 0;
                }
                t = i;
            }
        } else if (v.is_string()) {
            t = timefmt::parse_iso(trim(v.as_string()), &reason);
        }
        if (!t)
            return fail(quoted(v) +
                        " is not a timestamp (ISO 8601 such as "
                        "2024-05-01T12:00:00Z, or seconds since 1970)" +
                        (reason.empty() ? "" : ": " + reason));
        const std::optional<std::string> text = timefmt::format(*t, "", 0);
        if (!text) return fail(quoted(v) + " is outside the years 0 to 9999");
        return Value::string(arena.copy(*text));
    }
    }
    return v;
}

std::optional<Value> convert_text_field(const Value& v, ColumnType type, Arena& arena,
                                        std::string* why) {
    if (type != ColumnType::String && v.is_string() && v.as_string().empty()) return Value::null();
    return convert(v, type, arena, why);
}

} // namespace conveyor::coltype
