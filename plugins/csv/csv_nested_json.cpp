#include "csv_nested_json.hpp"

#include <charconv>
#include <cmath>

namespace conveyor::csv {

namespace {

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0; // start of bytes copied as they are
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

} // namespace

bool append_double_text(std::string& out, double d) {
    if (!std::isfinite(d)) return false;
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    const std::string_view text(buf, static_cast<std::size_t>(end - buf));
    out.append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
    return true;
}

void append_json(std::string& out, const Value& v) {
    switch (v.kind()) {
    case Kind::Absent:
    case Kind::Null:
        out += "null";
        return;
    case Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        return;
    case Kind::Int: {
        char buf[24];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
        out.append(buf, end);
        return;
    }
    case Kind::Double:
        if (v.has_number_text())
            out += v.number_text();
        else if (!append_double_text(out, v.as_double()))
            out += "null";
        return;
    case Kind::String:
        append_json_string(out, v.as_string());
        return;
    case Kind::Array: {
        out.push_back('[');
        bool first = true;
        for (const Value& item : v.as_array()) {
            if (!first) out.push_back(',');
            first = false;
            append_json(out, item);
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
            append_json_string(out, m.key);
            out.push_back(':');
            append_json(out, m.value);
        }
        out.push_back('}');
        return;
    }
    }
}

} // namespace conveyor::csv
