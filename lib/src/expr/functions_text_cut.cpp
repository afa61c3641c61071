// Text functions that cut or turn text: lstrip, rstrip, collapse_whitespace,
// clean_whitespace, truncate, reverse (trim, pad_left and the rest are in functions_text.cpp).
// Characters are UTF-8 code points; white space is trim()'s.

#include "function_args.hpp"

#include <string>
#include <vector>

namespace conveyor::expr {

namespace {

/// The text of argument 0, or nullopt with null (the result) or a record error.
std::optional<std::string_view> text0(EvalContext& ctx, const Node& call,
                                      std::span<const Value> args) {
    if (args[0].is_null()) return std::nullopt;
    return text_arg(ctx, call, args, 0);
}

Value fn_lstrip(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    auto s = text0(ctx, call, args);
    if (!s) return ctx.failed ? Value{} : Value::null();
    return part_of(ctx, *s, trim_left(*s));
}

Value fn_rstrip(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    auto s = text0(ctx, call, args);
    if (!s) return ctx.failed ? Value{} : Value::null();
    return part_of(ctx, *s, trim_right(*s));
}

/// Every run of white space as one space.
std::string collapse(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool in_space = false;
    for (const char c : s) {
        if (is_space(c)) {
            if (!in_space) out.push_back(' ');
            in_space = true;
        } else {
            out.push_back(c);
            in_space = false;
        }
    }
    return out;
}

Value fn_collapse_whitespace(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    auto s = text0(ctx, call, args);
    if (!s) return ctx.failed ? Value{} : Value::null();
    return ctx.string(collapse(*s));
}

Value fn_clean_whitespace(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    auto s = text0(ctx, call, args);
    if (!s) return ctx.failed ? Value{} : Value::null();
    return ctx.string(collapse(trim_right(trim_left(*s))));
}

Value fn_truncate(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    auto s = text0(ctx, call, args);
    if (!s) return ctx.failed ? Value{} : Value::null();
    auto n = int_arg(ctx, call, args, 1);
    if (!n) return {};
    if (*n < 0) return ctx.fail(call, "truncate(): the length must not be negative");
    return part_of(ctx, *s, s->substr(0, byte_offset(*s, static_cast<std::size_t>(*n))));
}

/// The characters in reverse order (a multi-byte character stays whole).
Value fn_reverse(EvalContext& ctx, const Node& call, std::span<const Value> args) {
    if (args[0].kind() == Kind::Array) {
        const std::span<const Value> items = args[0].as_array();
        const std::vector<Value> reversed(items.rbegin(), items.rend());
        return ctx.list(reversed);
    }
    auto s = text0(ctx, call, args);
    if (!s) return ctx.failed ? Value{} : Value::null();
    std::string out;
    out.reserve(s->size());
    std::size_t end = s->size();
    while (end > 0) {
        std::size_t start = end - 1;
        while (start > 0 && is_continuation((*s)[start]))
            --start;
        out.append(s->substr(start, end - start));
        end = start;
    }
    return ctx.string(out);
}

} // namespace

std::span<const Function> text_cut_functions() noexcept {
    static const Function kTable[] = {
        {{"lstrip", "lstrip(s)", "text without leading white space"},
         1,
         1,
         Type::String,
         -1,
         fn_lstrip},
        {{"rstrip", "rstrip(s)", "text without trailing white space"},
         1,
         1,
         Type::String,
         -1,
         fn_rstrip},
        {{"collapse_whitespace", "collapse_whitespace(s)",
          "every run of white space made one space"},
         1,
         1,
         Type::String,
         -1,
         fn_collapse_whitespace},
        {{"clean_whitespace", "clean_whitespace(s)", "trim() and collapse_whitespace() at once"},
         1,
         1,
         Type::String,
         -1,
         fn_clean_whitespace},
        {{"truncate", "truncate(s, length)", "the first length characters of text"},
         2,
         2,
         Type::String,
         -1,
         fn_truncate},
        {{"reverse", "reverse(x)", "text with its characters in reverse order, or a list's items"},
         1,
         1,
         Type::Any,
         -1,
         fn_reverse},
    };
    return kTable;
}

} // namespace conveyor::expr
