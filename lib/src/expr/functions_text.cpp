// Text functions of the expression language: case, trimming, parts, search and replace
// (RE2 patterns), padding and masking. Lengths and positions count UTF-8 code points.

#include "function_args.hpp"

#include <algorithm>
#include <re2/re2.h>

namespace conveyor::expr {

/// Case mapping for ASCII, Latin-1, Greek and Cyrillic letters (two-byte UTF-8 sequences);
/// other characters are kept.
std::string change_case(std::string_view s, bool upper) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (upper && c >= 'a' && c <= 'z')
                out += static_cast<char>(c - 32);
            else if (!upper && c >= 'A' && c <= 'Z')
                out += static_cast<char>(c + 32);
            else
                out += static_cast<char>(c);
            continue;
        }
        if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && is_continuation(s[i + 1])) {
            std::uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
            if (upper) {
                if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) ||
                    (cp >= 0x3B1 && cp <= 0x3C9 && cp != 0x3C2) || (cp >= 0x430 && cp <= 0x44F))
                    cp -= 0x20;
                else if (cp >= 0x450 && cp <= 0x45F)
                    cp -= 0x50;
            } else {
                if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3A9) ||
                    (cp >= 0x410 && cp <= 0x42F))
                    cp += 0x20;
                else if (cp >= 0x400 && cp <= 0x40F)
                    cp += 0x50;
            }
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
            ++i;
            continue;
        }
        out += static_cast<char>(c);
    }
    return out;
}

namespace {

Value fn_lower(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    return t ? ctx.string(change_case(*t, false)) : Value();
}

Value fn_upper(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    return t ? ctx.string(change_case(*t, true)) : Value();
}

Value fn_trim(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    if (!t) return {};
    return part_of(ctx, *t, trim_right(trim_left(*t)));
}

Value fn_len(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    const Value& v = args[0];
    if (v.is_null()) return Value::null();
    if (v.kind() == Kind::Array)
        return Value::integer(static_cast<std::int64_t>(v.as_array().size()));
    if (v.kind() == Kind::Object)
        return Value::integer(static_cast<std::int64_t>(v.as_object().size()));
    auto t = text_arg(ctx, call, args, 0);
    return t ? Value::integer(static_cast<std::int64_t>(code_points(*t))) : Value();
}

Value fn_substr(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    auto start = t ? int_arg(ctx, call, args, 1) : std::nullopt;
    if (!start) return {};
    const auto n = static_cast<std::int64_t>(code_points(*t));
    std::int64_t from = *start < 0 ? std::max<std::int64_t>(0, n + *start) : std::min(*start, n);
    std::int64_t count = n - from;
    if (args.size() > 2) {
        auto len = int_arg(ctx, call, args, 2);
        if (!len) return {};
        if (*len < 0) return ctx.fail(call, "substr() length must not be negative");
        count = std::min(count, *len);
    }
    const std::size_t b = byte_offset(*t, static_cast<std::size_t>(from));
    const std::size_t e = byte_offset(*t, static_cast<std::size_t>(from + count));
    return Value::string(ctx.arena->copy(t->substr(b, e - b)));
}

/// replace (every occurrence, `all`) and replace_first (the first), literally.
Value replaced(EvalContext& ctx, const Node& call, std::span<const Value> args, bool all) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto from = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    auto to = from ? text_arg(ctx, call, args, 2) : std::nullopt;
    if (!to) return {};
    if (from->empty()) return Value::string(*s);
    std::string out;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t hit = s->find(*from, pos);
        if (hit == std::string_view::npos) break;
        out.append(s->substr(pos, hit - pos));
        out.append(*to);
        pos = hit + from->size();
        if (!all) break;
    }
    if (pos == 0) return Value::string(*s); // nothing replaced
    out.append(s->substr(pos));
    return ctx.string(out);
}

Value fn_replace(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return replaced(ctx, call, args, true);
}

Value fn_replace_first(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return replaced(ctx, call, args, false);
}

/// regex_replace (every match, `all`) and regex_replace_first (the first).
Value regex_replaced(EvalContext& ctx, const Node& call, std::span<const Value> args, bool all) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto to = s ? text_arg(ctx, call, args, 2) : std::nullopt;
    if (!to) return {};
    const re2::RE2* re = ctx.regex(call, args[1]);
    if (!re) return {};
    std::string out(*s);
    const re2::StringPiece rewrite(to->data(), to->size());
    if (all)
        RE2::GlobalReplace(&out, *re, rewrite);
    else
        RE2::Replace(&out, *re, rewrite);
    return ctx.string(out);
}

Value fn_regex_replace(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return regex_replaced(ctx, call, args, true);
}

Value fn_regex_replace_first(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return regex_replaced(ctx, call, args, false);
}

Value fn_capitalize(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto t = text_arg(ctx, call, args, 0);
    if (!t) return {};
    if (t->empty()) return Value::string(*t);
    std::size_t first = 1; // the first character's bytes
    while (first < t->size() && is_continuation((*t)[first]))
        ++first;
    return ctx.string(change_case(t->substr(0, first), true) + std::string(t->substr(first)));
}

Value fn_regex_extract(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null() || args[1].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    if (!s) return {};
    const re2::RE2* re = ctx.regex(call, args[1]);
    if (!re) return {};
    std::int64_t group = 0;
    if (args.size() > 2) {
        auto g = int_arg(ctx, call, args, 2);
        if (!g) return {};
        group = *g;
    }
    if (group < 0 || group > re->NumberOfCapturingGroups())
        return ctx.fail(call, "regex_extract(): the pattern has no group " + std::to_string(group));
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(group) + 1);
    if (!re->Match(re2::StringPiece(s->data(), s->size()), 0, s->size(), RE2::UNANCHORED,
                   groups.data(), static_cast<int>(groups.size())))
        return Value::null();
    const re2::StringPiece& g = groups[static_cast<std::size_t>(group)];
    if (g.data() == nullptr) return Value::null();
    return Value::string(ctx.arena->copy(std::string_view(g.data(), g.size())));
}

Value fn_split(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto sep = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!sep) return {};
    std::vector<Value> parts;
    if (sep->empty()) {
        std::size_t i = 0;
        while (i < s->size()) {
            std::size_t j = i + 1;
            while (j < s->size() && is_continuation((*s)[j]))
                ++j;
            parts.push_back(Value::string(ctx.arena->copy(s->substr(i, j - i))));
            i = j;
        }
    } else {
        std::size_t pos = 0;
        for (;;) {
            const std::size_t hit = s->find(*sep, pos);
            parts.push_back(Value::string(ctx.arena->copy(s->substr(pos, hit - pos))));
            if (hit == std::string_view::npos) break;
            pos = hit + sep->size();
        }
    }
    return ctx.list(parts);
}

Value fn_join(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    if (args[0].kind() != Kind::Array)
        return ctx.fail(call, "join() needs a list as argument 1, got " + describe(args[0]));
    auto sep = text_arg(ctx, call, args, 1);
    if (!sep) return {};
    std::string out;
    bool first = true;
    for (const Value& item : args[0].as_array()) {
        if (item.is_null()) continue;
        auto t = to_text(ctx, item);
        if (!t) return ctx.fail(call, "join() cannot join a " + describe(item));
        if (!first) out.append(*sep);
        out.append(*t);
        first = false;
    }
    return ctx.string(out);
}

Value fn_concat(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (any_null(args)) return Value::null();
    std::string out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto t = text_arg(ctx, call, args, i);
        if (!t) return {};
        out.append(*t);
    }
    return ctx.string(out);
}

Value text_test(EvalContext& ctx, const Node& call, std::span<const Value> args,
                bool (*test)(std::string_view, std::string_view)) {
    if (any_null(args)) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto t = s ? text_arg(ctx, call, args, 1) : std::nullopt;
    if (!t) return {};
    return Value::boolean(test(*s, *t));
}

Value fn_starts_with(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return text_test(ctx, call, args,
                     [](std::string_view s, std::string_view p) { return s.starts_with(p); });
}

Value fn_ends_with(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return text_test(ctx, call, args,
                     [](std::string_view s, std::string_view p) { return s.ends_with(p); });
}

Value fn_contains(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].kind() == Kind::Array) {
        for (const Value& item : args[0].as_array())
            if (values_equal(item, args[1])) return Value::boolean(true);
        return Value::boolean(false);
    }
    return text_test(ctx, call, args, [](std::string_view s, std::string_view p) {
        return s.find(p) != std::string_view::npos;
    });
}

/// pad_left() and pad_right(): text padded to `width` characters with one fill character.
Value pad(EvalContext& ctx, const Node& call, std::span<const Value> args, bool left) {
    if (args[0].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    auto width = s ? int_arg(ctx, call, args, 1) : std::nullopt;
    if (!width) return {};
    std::string_view fill = " ";
    if (args.size() > 2) {
        auto f = text_arg(ctx, call, args, 2);
        if (!f) return {};
        if (code_points(*f) != 1)
            return ctx.fail(call, fname(call) + "(): the fill must be one character");
        fill = *f;
    }
    if (*width > 1'000'000) return ctx.fail(call, fname(call) + "(): width over 1000000");
    const auto have = static_cast<std::int64_t>(code_points(*s));
    if (have >= *width) return Value::string(*s);
    std::string out;
    if (!left) out.append(*s);
    for (std::int64_t i = have; i < *width; ++i)
        out.append(fill);
    if (left) out.append(*s);
    return ctx.string(out);
}

Value fn_pad_left(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return pad(ctx, call, args, true);
}

Value fn_pad_right(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    return pad(ctx, call, args, false);
}

Value fn_mask(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].is_null()) return Value::null();
    auto s = text_arg(ctx, call, args, 0);
    if (!s) return {};
    std::int64_t keep = 4;
    if (args.size() > 1) {
        auto k = int_arg(ctx, call, args, 1);
        if (!k) return {};
        keep = std::max<std::int64_t>(0, *k);
    }
    const auto n = static_cast<std::int64_t>(code_points(*s));
    const std::int64_t hidden = std::max<std::int64_t>(0, n - keep);
    std::string out(static_cast<std::size_t>(hidden), '*');
    out.append(s->substr(byte_offset(*s, static_cast<std::size_t>(hidden))));
    return ctx.string(out);
}

} // namespace

std::span<const Function> text_functions() noexcept {
    static const Function kTable[] = {
        {{"lower", "lower(s)", "lower-case text"}, 1, 1, Type::String, -1, fn_lower},
        {{"upper", "upper(s)", "upper-case text"}, 1, 1, Type::String, -1, fn_upper},
        {{"capitalize", "capitalize(s)", "text with its first character upper-cased"},
         1,
         1,
         Type::String,
         -1,
         fn_capitalize},
        {{"trim", "trim(s)", "text without leading and trailing white space"},
         1,
         1,
         Type::String,
         -1,
         fn_trim},
        {{"len", "len(x)", "characters of text, items of a list, members of an object"},
         1,
         1,
         Type::Number,
         -1,
         fn_len},
        {{"substr", "substr(s, start, length = rest)",
          "part of text by character position (0-based; negative start counts from the end)"},
         2,
         3,
         Type::String,
         -1,
         fn_substr},
        {{"replace", "replace(s, old, new)", "every occurrence of old replaced by new"},
         3,
         3,
         Type::String,
         -1,
         fn_replace},
        {{"replace_first", "replace_first(s, old, new)",
          "the first occurrence of old replaced by new (Miller's ssub)"},
         3,
         3,
         Type::String,
         -1,
         fn_replace_first},
        {{"regex_replace", "regex_replace(s, pattern, replacement)",
          "every match replaced; \\1 in the replacement is group 1"},
         3,
         3,
         Type::String,
         1,
         fn_regex_replace},
        {{"regex_replace_first", "regex_replace_first(s, pattern, replacement)",
          "the first match replaced (Miller's sub; regex_replace is its gsub)"},
         3,
         3,
         Type::String,
         1,
         fn_regex_replace_first},
        {{"regex_extract", "regex_extract(s, pattern, group = 0)",
          "the first match (or one of its groups); null when none"},
         2,
         3,
         Type::String,
         1,
         fn_regex_extract},
        {{"split", "split(s, separator)", "a list of the parts of text"},
         2,
         2,
         Type::List,
         -1,
         fn_split},
        {{"join", "join(list, separator)", "the items of a list as one text (nulls skipped)"},
         2,
         2,
         Type::String,
         -1,
         fn_join},
        {{"concat", "concat(a, b, ...)", "texts joined; null when any is null"},
         1,
         kAnyArgs,
         Type::String,
         -1,
         fn_concat},
        {{"starts_with", "starts_with(s, prefix)", "true when s begins with prefix"},
         2,
         2,
         Type::Bool,
         -1,
         fn_starts_with},
        {{"ends_with", "ends_with(s, suffix)", "true when s ends with suffix"},
         2,
         2,
         Type::Bool,
         -1,
         fn_ends_with},
        {{"contains", "contains(s, part)",
          "true when text contains part, or a list contains an item equal to part"},
         2,
         2,
         Type::Bool,
         -1,
         fn_contains},
        {{"pad_left", "pad_left(s, width, fill = ' ')",
          "text padded on the left to width characters"},
         2,
         3,
         Type::String,
         -1,
         fn_pad_left},
        {{"pad_right", "pad_right(s, width, fill = ' ')",
          "text padded on the right to width characters"},
         2,
         3,
         Type::String,
         -1,
         fn_pad_right},
        {{"mask", "mask(s, keep_last = 4)", "every character but the last keep_last replaced by *"},
         1,
         2,
         Type::String,
         -1,
         fn_mask},
    };
    return kTable;
}

} // namespace conveyor::expr
