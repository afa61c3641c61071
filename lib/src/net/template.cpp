#include "conveyor/net/template.hpp"

#include "conveyor/expr/field_path.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/net/url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace conveyor::net {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

Failure template_error(std::size_t offset, std::string what) {
    return fail(ErrorKind::Config, std::move(what) + " (at byte " + std::to_string(offset) + ")");
}

std::vector<std::string> split_path(std::string_view name) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = name.find('.', start);
        out.emplace_back(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return out;
}

std::string join_path(const std::vector<std::string>& path, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += '.';
        out += path[i];
    }
    return out;
}

/// Member `key` of an object, or element `key` (a decimal index; negative counts from the end)
/// of an array.
const Value* step(const Value& v, std::string_view key) {
    if (v.kind() == Kind::Object) return v.find(key);
    if (v.kind() == Kind::Array) {
        std::int64_t index = 0;
        const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
        if (ec != std::errc{} || end != key.data() + key.size()) return nullptr;
        const auto items = v.as_array();
        const auto size = static_cast<std::int64_t>(items.size());
        if (index < 0) index += size;
        return index >= 0 && index < size ? &items[static_cast<std::size_t>(index)] : nullptr;
    }
    return nullptr;
}

/// The steps of a placeholder written in the expression path syntax (`tags[0]`,
/// `` `first name` ``): member names, and array indices as their decimal text.
Result<std::vector<std::string>> path_syntax_steps(std::string_view inner) {
    auto parsed = expr::FieldPath::parse(inner);
    if (!parsed) return parsed.error();
    std::vector<std::string> out;
    for (const expr::PathStep& st : parsed->steps())
        out.push_back(st.is_index ? std::to_string(st.index) : st.key);
    return out;
}

void append_scalar_text(std::string& out, const Value& v) {
    switch (v.kind()) {
    case Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        break;
    case Kind::Int:
        json::append_int(out, v.as_int());
        break;
    case Kind::Double:
        if (v.has_number_text())
            out += v.number_text();
        else
            json::append_double(out, v.as_double());
        break;
    case Kind::String:
        out += v.as_string();
        break;
    default:
        json::append_value(out, v);
        break;
    }
}

/// Where the path of the URL in `url` starts and ends: after "scheme://authority" (or at 0 when
/// there is no "://"), up to the first '?' or '#'.
std::pair<std::size_t, std::size_t> path_span(std::string_view url) {
    std::size_t begin = 0;
    if (const std::size_t scheme = url.find("://"); scheme != std::string_view::npos) {
        begin = url.find_first_of("/?#", scheme + 3);
        if (begin == std::string_view::npos) return {url.size(), url.size()};
    }
    std::size_t end = url.find_first_of("?#", begin);
    if (end == std::string_view::npos) end = url.size();
    return {begin, end};
}

/// Percent-encodes the dots of each path segment of the URL in `url` from `base` on that is
/// exactly "." or ".." and holds a value from `dot_values` (byte ranges of `url` where a value
/// made only of dots was put): such a segment would otherwise climb or stay in the path (RFC
/// 3986 section 5.2.4), letting a record's value reach another resource. Dot segments written
/// in the template itself are the user's intent and stay as written. Values are
/// percent-encoded, so only the template's own text holds the '/', '?' and '#' that delimit
/// segments, and only an all-dots value can be part of a dot segment.
void encode_dot_segments(std::string& url, std::size_t base,
                         const std::vector<std::pair<std::size_t, std::size_t>>& dot_values) {
    auto [begin, end] = path_span(std::string_view(url).substr(base));
    begin += base;
    end += base;
    std::string out;
    std::size_t copied = base;
    std::size_t seg = begin;
    for (;;) {
        std::size_t stop = url.find('/', seg);
        if (stop == std::string::npos || stop > end) stop = end;
        const std::string_view segment(url.data() + seg, stop - seg);
        const bool dots = segment == "." || segment == "..";
        if (dots && std::any_of(dot_values.begin(), dot_values.end(),
                                [&](const auto& v) { return v.first < stop && v.second > seg; })) {
            out.append(url, copied, seg - copied);
            for (std::size_t i = seg; i < stop; ++i)
                out += "%2E";
            copied = stop;
        }
        if (stop == end) break;
        seg = stop + 1;
    }
    if (copied == base) return;
    out.append(url, copied, std::string::npos);
    url.replace(base, std::string::npos, out);
}

} // namespace

Result<Template> Template::parse(std::string_view text) {
    Template t;
    t.text_ = std::string(text);
    std::size_t pos = 0;
    Part current;
    while (pos < text.size()) {
        const std::size_t open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            current.literal.append(text.substr(pos));
            break;
        }
        current.literal.append(text.substr(pos, open - pos));
        const std::size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            return template_error(open, "\"{{\" has no closing \"}}\"");
        const std::string_view inner_raw = text.substr(open + 2, close - open - 2);
        const std::string_view inner = trim(inner_raw);
        if (inner.empty())
            return template_error(open, "empty placeholder \"{{ }}\": put a field name inside");
        if (inner.front() == '{')
            return template_error(open, "\"{{{\" is not supported: use \"{{ name }}\"");
        if (inner.front() == '#' || inner.front() == '/' || inner.front() == '!' ||
            inner.front() == '>' || inner.front() == '^')
            return template_error(
                open, "\"{{" + std::string(inner) +
                          "}}\": block helpers and partials are not supported; only field "
                          "placeholders such as \"{{ id }}\" or \"{{ user.name }}\" (in mode = "
                          "\"batch\", \"{{ records }}\" inserts the records as a JSON array)");
        std::vector<std::string> path;
        if (inner.find_first_of("[`") != std::string_view::npos) {
            // The path syntax of expressions: tags[0], `first name`, `a.b`.
            auto steps = path_syntax_steps(inner);
            if (!steps)
                return template_error(open, "\"{{" + std::string(inner_raw) +
                                                "}}\": " + steps.error().message);
            path = std::move(*steps);
        } else {
            if (std::any_of(inner.begin(), inner.end(),
                            [](char c) { return is_space(c) || c == '{'; }))
                return template_error(open, "\"{{" + std::string(inner_raw) +
                                                "}}\": a field name cannot contain spaces or '{' "
                                                "(write `first name` in backquotes)");
            path = split_path(inner);
        }
        if (std::any_of(path.begin(), path.end(), [](const std::string& s) { return s.empty(); }))
            return template_error(open, "\"{{" + std::string(inner_raw) +
                                            "}}\": empty part in a dotted field name");
        current.name = std::string(inner);
        current.path = std::move(path);
        current.offset = open;
        t.parts_.push_back(std::move(current));
        current = Part{};
        pos = close + 2;
    }
    if (!current.literal.empty() || t.parts_.empty()) t.parts_.push_back(std::move(current));
    return t;
}

bool Template::has_placeholders() const noexcept {
    return std::any_of(parts_.begin(), parts_.end(),
                       [](const Part& p) { return p.is_placeholder(); });
}

std::vector<std::string> Template::names() const {
    std::vector<std::string> out;
    for (const Part& p : parts_)
        if (p.is_placeholder() && std::find(out.begin(), out.end(), p.name) == out.end())
            out.push_back(p.name);
    return out;
}

std::vector<std::string> Template::names_missing_from(const Schema& schema) const {
    std::vector<std::string> out;
    for (const Part& p : parts_) {
        if (!p.is_placeholder() || std::find(out.begin(), out.end(), p.name) != out.end()) continue;
        bool found = false;
        for (std::size_t n = p.path.size(); n > 0 && !found; --n)
            found = schema.find(join_path(p.path, n)).has_value();
        if (!found) out.push_back(p.name);
    }
    return out;
}

std::string_view Template::literal_prefix() const noexcept {
    if (parts_.empty()) return {};
    return parts_.front().literal;
}

BoundTemplate::BoundTemplate(const Template& tpl, const Schema& schema) : tpl_(&tpl) {
    slots_.resize(tpl.parts().size());
    for (std::size_t i = 0; i < tpl.parts().size(); ++i) {
        const Template::Part& p = tpl.parts()[i];
        if (!p.is_placeholder()) continue;
        // The longest dotted prefix that names a column wins ("a.b" may be a CSV header).
        for (std::size_t n = p.path.size(); n > 0; --n) {
            if (auto col = schema.find(join_path(p.path, n))) {
                slots_[i].column = *col;
                slots_[i].path_from = n;
                break;
            }
        }
    }
}

Status BoundTemplate::render(std::span<const Value> row, Escape escape, std::string& out) const {
    if (!tpl_) return {};
    const std::size_t base = out.size();
    // Filled only by a value made of dots: the rare case that needs the path looked at again.
    std::vector<std::pair<std::size_t, std::size_t>> dot_values;
    CONVEYOR_TRY(render_parts(row, escape, out, escape == Escape::Url ? &dot_values : nullptr));
    if (!dot_values.empty()) encode_dot_segments(out, base, dot_values);
    return {};
}

Status
BoundTemplate::render_parts(std::span<const Value> row, Escape escape, std::string& out,
                            std::vector<std::pair<std::size_t, std::size_t>>* dot_values) const {
    const auto& parts = tpl_->parts();
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const Template::Part& p = parts[i];
        out += p.literal;
        if (!p.is_placeholder()) continue;
        const Slot& s = slots_[i];
        if (s.column >= row.size())
            return fail(ErrorKind::Data, "field '" + p.name + "' is missing from the record");
        const Value* v = &row[s.column];
        for (std::size_t k = s.path_from; k < p.path.size() && v; ++k)
            v = step(*v, p.path[k]);
        if (!v || v->is_absent())
            return fail(ErrorKind::Data, "field '" + p.name + "' is missing from the record");
        const std::size_t at = out.size();
        CONVEYOR_TRY(append_escaped(out, *v, escape, p.name));
        if (dot_values && at < out.size() &&
            std::all_of(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(),
                        [](char c) { return c == '.'; }))
            dot_values->emplace_back(at, out.size());
    }
    return {};
}

Status append_escaped(std::string& out, const Value& v, Escape escape, std::string_view name) {
    if (v.is_absent())
        return fail(ErrorKind::Data,
                    "field '" + std::string(name) + "' is missing from the record");
    switch (escape) {
    case Escape::Url: {
        if (v.kind() == Kind::Null)
            return fail(ErrorKind::Data,
                        "field '" + std::string(name) + "' is null and cannot be put in a URL");
        if (v.kind() == Kind::String) {
            append_percent_encoded(out, v.as_string());
        } else {
            std::string text;
            append_scalar_text(text, v);
            append_percent_encoded(out, text);
        }
        return {};
    }
    case Escape::Json: {
        if (v.kind() == Kind::String) {
            const std::size_t at = out.size();
            json::append_string(out, v.as_string());
            out.pop_back();   // closing quote
            out.erase(at, 1); // opening quote
        } else {
            json::append_value(out, v);
        }
        return {};
    }
    case Escape::FileName: {
        if (v.kind() == Kind::Null) {
            out += "__null__";
            return {};
        }
        std::string text;
        if (v.kind() == Kind::String)
            text = std::string(v.as_string());
        else
            append_scalar_text(text, v);
        if (text.empty()) {
            out += "__empty__";
            return {};
        }
        constexpr std::size_t kMaxValueBytes = 200;
        if (text.size() > kMaxValueBytes)
            return fail(ErrorKind::Data, "field '" + std::string(name) + "' has " +
                                             std::to_string(text.size()) +
                                             " bytes, too long for a file name (at most 200)");
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (std::size_t i = 0; i < text.size(); ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            const bool safe = c >= 0x80 || std::isalnum(c) || std::strchr("-_.,+=@~ ", c);
            if (safe && !(i == 0 && c == '.') && c != 0) {
                out.push_back(static_cast<char>(c));
            } else {
                out.push_back('%');
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 15]);
            }
        }
        return {};
    }
    case Escape::Header: {
        if (v.kind() == Kind::Null)
            return fail(ErrorKind::Data, "field '" + std::string(name) +
                                             "' is null and cannot be put in a header value");
        const std::size_t at = out.size();
        append_scalar_text(out, v);
        if (out.find_first_of(std::string_view("\r\n\0", 3), at) != std::string::npos) {
            out.resize(at);
            return fail(ErrorKind::Data,
                        "field '" + std::string(name) +
                            "' contains a line break or NUL, which cannot go in a header value");
        }
        return {};
    }
    }
    return {};
}

} // namespace conveyor::net
