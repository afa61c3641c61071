#include "conveyor/expr/field_path.hpp"

#include <charconv>

namespace conveyor::expr {

namespace {

bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool is_name_char(char c) noexcept {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '$' || c == '@';
}

Failure path_error(std::string_view text, std::size_t pos, const std::string& what) {
    return fail(ErrorKind::Config, "invalid field path '" + std::string(text) + "': " + what +
                                       " at position " + std::to_string(pos + 1));
}

bool needs_quotes(std::string_view key) {
    if (key.empty() || !is_name_start(key[0])) return true;
    for (char c : key)
        if (!is_name_char(c)) return true;
    return false;
}

} // namespace

FieldPath FieldPath::path_or_name(const std::string& text) {
    Result<FieldPath> p = parse(text);
    return p ? std::move(p).value() : single(text);
}

FieldPath FieldPath::single(std::string name) {
    FieldPath p;
    p.steps_.push_back({std::move(name), 0, false});
    return p;
}

Result<FieldPath> FieldPath::parse(std::string_view text) {
    FieldPath p;
    std::size_t i = 0;
    bool expect_key = true;
    while (i < text.size()) {
        const char c = text[i];
        if (expect_key) {
            if (c == '`') {
                std::string key;
                std::size_t j = i + 1;
                for (;; ++j) {
                    if (j >= text.size()) return path_error(text, i, "unclosed backquote");
                    if (text[j] == '`') {
                        if (j + 1 < text.size() && text[j + 1] == '`') {
                            key += '`';
                            ++j;
                            continue;
                        }
                        break;
                    }
                    key += text[j];
                }
                p.steps_.push_back({std::move(key), 0, false});
                i = j + 1;
            } else if (is_name_start(c) || (c >= '0' && c <= '9')) {
                // Plain names; digits may start one (CSV headers like `2024`).
                std::size_t j = i;
                while (j < text.size() && is_name_char(text[j]))
                    ++j;
                p.steps_.push_back({std::string(text.substr(i, j - i)), 0, false});
                i = j;
            } else {
                return path_error(text, i, "expected a field name");
            }
            expect_key = false;
            continue;
        }
        if (c == '.') {
            expect_key = true;
            ++i;
            continue;
        }
        if (c == '[') {
            std::size_t j = i + 1;
            std::int64_t index = 0;
            const char* first = text.data() + j;
            auto [end, ec] = std::from_chars(first, text.data() + text.size(), index);
            if (ec != std::errc{} || end == first)
                return path_error(text, j, "expected an array index");
            j = static_cast<std::size_t>(end - text.data());
            if (j >= text.size() || text[j] != ']') return path_error(text, j, "expected ']'");
            p.steps_.push_back({std::string(), index, true});
            i = j + 1;
            continue;
        }
        return path_error(text, i, "unexpected '" + std::string(1, c) + "'");
    }
    if (p.steps_.empty()) return fail(ErrorKind::Config, "empty field path");
    if (expect_key) return path_error(text, text.size(), "expected a field name after '.'");
    return p;
}

std::string FieldPath::text() const {
    std::string out;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
        const PathStep& s = steps_[i];
        if (s.is_index) {
            out += '[' + std::to_string(s.index) + ']';
            continue;
        }
        if (i > 0) out += '.';
        if (needs_quotes(s.key)) {
            out += '`';
            for (char c : s.key) {
                if (c == '`') out += '`';
                out += c;
            }
            out += '`';
        } else {
            out += s.key;
        }
    }
    return out;
}

ResolvedPath resolve(const FieldPath& path, const Schema& schema) {
    const auto steps = path.steps();
    if (auto c = schema.find(steps[0].key)) return {*c, 1};
    // `a.b.c` may name a column "a.b" (flattened input) followed by member c.
    std::string joined = steps[0].key;
    for (std::size_t i = 1; i < steps.size() && !steps[i].is_index; ++i) {
        joined += '.';
        joined += steps[i].key;
        if (auto c = schema.find(joined)) return {*c, i + 1};
    }
    return {};
}

std::optional<std::size_t> item_at(std::int64_t index, std::size_t n) noexcept {
    const auto count = static_cast<std::int64_t>(n);
    const std::int64_t at = index < 0 ? count + index : index;
    if (at < 0 || at >= count) return std::nullopt;
    return static_cast<std::size_t>(at);
}

Value descend(const FieldPath& path, std::size_t from, Value v) {
    const auto steps = path.steps();
    for (std::size_t i = from; i < steps.size(); ++i) {
        const PathStep& s = steps[i];
        if (s.is_index) {
            if (v.kind() != Kind::Array) return Value::absent();
            const auto items = v.as_array();
            const std::optional<std::size_t> at = item_at(s.index, items.size());
            if (!at) return Value::absent();
            v = items[*at];
        } else {
            const Value* m = v.find(s.key);
            if (!m) return Value::absent();
            v = *m;
        }
    }
    return v;
}

Value lookup(const FieldPath& path, const ResolvedPath& resolved, std::span<const Value> row) {
    if (!resolved.found() || resolved.column >= row.size()) return Value::absent();
    return descend(path, resolved.next_step, row[resolved.column]);
}

} // namespace conveyor::expr
