// Text to Program: a recursive-descent parser over the lexer's tokens (lexer.hpp), with the
// checks that need no data (function names and arities, operand types known at load, regex
// syntax). A syntax error unwinds the recursion as a ParseFailure exception that never leaves
// lib/src/expr: parse_program() catches it and returns the Diagnostic.

#include "conveyor/core/suggest.hpp"
#include "conveyor/format/time_text.hpp"
#include "conveyor/format/time_zone.hpp"
#include "eval.hpp"
#include "lexer.hpp"
#include "program.hpp"

#include <charconv>
#include <cmath>
#include <re2/re2.h>
#include <variant>

namespace conveyor::expr {

namespace {

constexpr int kMaxDepth = 200; // nesting bound: a hostile expression cannot overflow the stack

bool is_keyword(std::string_view w) {
    return w == "and" || w == "or" || w == "not" || w == "in" || w == "true" || w == "false" ||
           w == "null";
}

std::vector<std::string> function_names() {
    std::vector<std::string> names;
    for (const FunctionInfo& f : functions())
        names.emplace_back(f.name);
    for (const FunctionAlias& a : function_aliases())
        names.emplace_back(a.alias);
    return names;
}

bool is_numeric_type(Type t) {
    return t == Type::Number || t == Type::Any || t == Type::Null;
}
bool is_condition_type(Type t) {
    return t == Type::Bool || t == Type::Any || t == Type::Null;
}

class Parser {
public:
    Parser(std::string_view text, Program& program) : lex_(text), text_(text), p_(program) {
        advance();
    }

    std::unique_ptr<Node> parse() {
        auto root = expression();
        if (tok_.kind != Tok::End) {
            if (tok_.kind == Tok::RParen)
                syntax_error(tok_.offset, 1, "')' without a matching '('");
            syntax_error(tok_.offset, tok_.length,
                         "unexpected '" + token_text(tok_) +
                             "' after a complete expression (missing an "
                             "operator such as 'and'?)");
        }
        return root;
    }

private:
    void advance() { tok_ = lex_.next(); }

    std::string token_text(const Token& t) const {
        if (t.kind == Tok::End) return "end of expression";
        return std::string(text_.substr(t.offset, t.length));
    }

    bool at_word(std::string_view w) const { return tok_.kind == Tok::Name && tok_.text == w; }

    void expect(Tok kind, const char* what, const Token& opener) {
        if (tok_.kind == kind) {
            advance();
            return;
        }
        if (tok_.kind == Tok::End)
            syntax_error(opener.offset, opener.length,
                         std::string("expected ") + what + " to close this, found the end");
        syntax_error(tok_.offset, tok_.length,
                     std::string("expected ") + what + ", found '" + token_text(tok_) + "'");
    }

    std::unique_ptr<Node> make(Op op, const Token& at) {
        auto n = std::make_unique<Node>();
        n->op = op;
        n->offset = at.offset;
        n->length = at.length;
        return n;
    }

    /// Widens `n`'s range to cover its children (for carets under a whole sub-expression).
    static void span_children(Node& n) {
        for (const auto& a : n.args) {
            const std::size_t end = std::max(n.offset + n.length, a->offset + a->length);
            n.offset = std::min(n.offset, a->offset);
            n.length = end - n.offset;
        }
    }

    std::unique_ptr<Node> binary(Op op, const Token& at, std::unique_ptr<Node> l,
                                 std::unique_ptr<Node> r) {
        auto n = make(op, at);
        n->args.push_back(std::move(l));
        n->args.push_back(std::move(r));
        return n;
    }

    struct Depth {
        explicit Depth(Parser& p) : p_(p) {
            if (++p_.depth_ > kMaxDepth)
                syntax_error(p_.tok_.offset, 1,
                             "expression nested too deeply (more than " +
                                 std::to_string(kMaxDepth) + " levels)");
        }
        ~Depth() { --p_.depth_; }
        Parser& p_;
    };

    std::unique_ptr<Node> expression() {
        Depth guard(*this);
        auto condition = or_expr();
        if (tok_.kind != Tok::Question) return condition;
        // condition ? then : else, as if(condition, then, else); the branches may be
        // conditionals themselves (right to left).
        Token at = tok_;
        advance();
        auto then = expression();
        expect(Tok::Colon, "':' (condition ? then : else)", at);
        auto otherwise = expression();
        if (!is_condition_type(condition->type))
            syntax_error(condition->offset, condition->length,
                         "'?' needs true/false before it (condition ? then : else); this is a " +
                             std::string(to_string(condition->type)));
        auto n = make(Op::Call, at);
        n->function = find_function("if");
        n->type = then->type == otherwise->type ? then->type : Type::Any;
        n->args.push_back(std::move(condition));
        n->args.push_back(std::move(then));
        n->args.push_back(std::move(otherwise));
        span_children(*n);
        return n;
    }

    void check_condition(const Node& n, std::string_view op) {
        if (!is_condition_type(n.type))
            syntax_error(n.offset, n.length,
                         "'" + std::string(op) + "' needs true/false on both sides; this is a " +
                             std::string(to_string(n.type)));
    }

    /// A literal time format with a directive parse_time/format_time do not know would fail
    /// (or, before, be written as it is) on every record.
    void check_time_format(const Node& n, timefmt::TimeUse use) {
        if (n.op != Op::Literal || !n.literal.is_string()) return;
        if (auto d = timefmt::unsupported_directive(n.literal.as_string(), use))
            syntax_error(n.offset, n.length,
                         "unsupported time format directive " + *d +
                             " (supported: " + timefmt::supported_directives(use) + ")");
    }

    /// A literal time zone is loaded now: an unknown one is an error at load, not per record.
    void load_zone(Node& call, const Node& n) {
        if (n.op != Op::Literal || n.literal.is_null()) return;
        if (!n.literal.is_string()) syntax_error(n.offset, n.length, "a time zone must be text");
        std::string why;
        call.zone = timefmt::find_zone(n.literal.as_string(), &why);
        if (!call.zone) syntax_error(n.offset, n.length, why);
    }

    std::unique_ptr<Node> or_expr() {
        auto left = and_expr();
        while (at_word("or") || tok_.kind == Tok::OrOr) {
            Token at = tok_;
            advance();
            auto right = and_expr();
            check_condition(*left, "or");
            check_condition(*right, "or");
            left = binary(Op::Or, at, std::move(left), std::move(right));
            left->type = Type::Bool;
        }
        return left;
    }

    std::unique_ptr<Node> and_expr() {
        auto left = not_expr();
        while (at_word("and") || tok_.kind == Tok::AndAnd) {
            Token at = tok_;
            advance();
            auto right = not_expr();
            check_condition(*left, "and");
            check_condition(*right, "and");
            left = binary(Op::And, at, std::move(left), std::move(right));
            left->type = Type::Bool;
        }
        return left;
    }

    std::unique_ptr<Node> not_expr() {
        if (at_word("not") || tok_.kind == Tok::Bang) {
            Token at = tok_;
            advance();
            Depth guard(*this);
            auto operand = not_expr();
            check_condition(*operand, "not");
            auto n = make(Op::Not, at);
            n->args.push_back(std::move(operand));
            n->type = Type::Bool;
            span_children(*n);
            return n;
        }
        return comparison();
    }

    std::unique_ptr<Node> comparison() {
        auto left = coalesce();
        Op op;
        Token at = tok_;
        switch (tok_.kind) {
        case Tok::EqEq:
            op = Op::Eq;
            break;
        case Tok::NotEq:
            op = Op::Ne;
            break;
        case Tok::Less:
            op = Op::Lt;
            break;
        case Tok::LessEq:
            op = Op::Le;
            break;
        case Tok::Greater:
            op = Op::Gt;
            break;
        case Tok::GreaterEq:
            op = Op::Ge;
            break;
        case Tok::Match:
            op = Op::Match;
            break;
        case Tok::NotMatch:
            op = Op::NotMatch;
            break;
        case Tok::Name:
            if (tok_.text == "in") {
                op = Op::In;
                break;
            }
            if (tok_.text == "not") {
                // `x not in [..]`
                advance();
                if (!at_word("in"))
                    syntax_error(at.offset, at.length, "'not' here must be followed by 'in'");
                op = Op::NotIn;
                at.length = tok_.offset + tok_.length - at.offset;
                break;
            }
            return left;
        default:
            return left;
        }
        advance();
        auto right = coalesce();
        auto n = binary(op, at, std::move(left), std::move(right));
        n->type = Type::Bool;
        if (op == Op::Match || op == Op::NotMatch) {
            const Node& pattern = *n->args[1];
            if (pattern.op == Op::Literal) {
                if (!pattern.literal.is_string())
                    syntax_error(pattern.offset, pattern.length,
                                 "a regular expression must be a string");
                std::string why;
                n->regex = compile_regex(pattern.literal.as_string(), &why);
                if (!n->regex)
                    syntax_error(pattern.offset, pattern.length,
                                 "invalid regular expression: " + why);
            }
        }
        if ((op == Op::In || op == Op::NotIn) && n->args[1]->type != Type::List &&
            n->args[1]->type != Type::Any && n->args[1]->type != Type::Null)
            syntax_error(n->args[1]->offset, n->args[1]->length,
                         "'in' needs a list on its right, such as ['DE', 'FR']");
        // Chains like a < b < c read as (a < b) < c elsewhere; refuse them here.
        switch (tok_.kind) {
        case Tok::EqEq:
        case Tok::NotEq:
        case Tok::Less:
        case Tok::LessEq:
        case Tok::Greater:
        case Tok::GreaterEq:
            syntax_error(tok_.offset, tok_.length,
                         "comparisons cannot be chained: write 'a < b and b < c'");
        default:
            break;
        }
        return n;
    }

    std::unique_ptr<Node> coalesce() {
        auto left = additive();
        while (tok_.kind == Tok::Coalesce) {
            Token at = tok_;
            advance();
            auto right = additive();
            const Type t = left->type == right->type ? left->type : Type::Any;
            left = binary(Op::Coalesce, at, std::move(left), std::move(right));
            left->type = t;
        }
        return left;
    }

    void check_arith(const Node& n, const Token& op) {
        if (n.op == Op::Literal && n.literal.is_string()) {
            syntax_error(n.offset, n.length,
                         "'" + token_text(op) + "' works on numbers; use concat() to join text");
        }
        if (!is_numeric_type(n.type) && n.type != Type::String)
            syntax_error(n.offset, n.length,
                         "'" + token_text(op) + "' works on numbers; this is a " +
                             std::string(to_string(n.type)));
    }

    std::unique_ptr<Node> additive() {
        auto left = multiplicative();
        while (tok_.kind == Tok::Plus || tok_.kind == Tok::Minus) {
            Token at = tok_;
            const Op op = tok_.kind == Tok::Plus ? Op::Add : Op::Sub;
            advance();
            auto right = multiplicative();
            check_arith(*left, at);
            check_arith(*right, at);
            left = binary(op, at, std::move(left), std::move(right));
            left->type = Type::Number;
        }
        return left;
    }

    std::unique_ptr<Node> multiplicative() {
        auto left = unary();
        while (tok_.kind == Tok::Star || tok_.kind == Tok::Slash || tok_.kind == Tok::Percent) {
            Token at = tok_;
            const Op op = tok_.kind == Tok::Star    ? Op::Mul
                          : tok_.kind == Tok::Slash ? Op::Div
                                                    : Op::Mod;
            advance();
            auto right = unary();
            check_arith(*left, at);
            check_arith(*right, at);
            left = binary(op, at, std::move(left), std::move(right));
            left->type = Type::Number;
        }
        return left;
    }

    std::unique_ptr<Node> unary() {
        if (tok_.kind == Tok::Minus || tok_.kind == Tok::Plus) {
            Token at = tok_;
            const bool negate = tok_.kind == Tok::Minus;
            advance();
            Depth guard(*this);
            auto operand = unary();
            check_arith(*operand, at);
            if (!negate) return operand;
            // Fold -literal so that -9223372036854775808 and -2.5 are plain literals.
            if (operand->op == Op::Literal && operand->literal.is_number()) {
                const Value& v = operand->literal;
                if (v.kind() == Kind::Int && v.as_int() != INT64_MIN)
                    operand->literal = Value::integer(-v.as_int());
                else if (text_.substr(operand->offset, operand->length) == "9223372036854775808")
                    operand->literal = Value::integer(INT64_MIN); // only negated does it fit
                else if (v.has_number_text())
                    // An integer past int64 keeps its digits negated too, as a field's would.
                    operand->literal =
                        Value::number_text(p_.strings.emplace_back(negated_text(v.number_text())));
                else
                    operand->literal = Value::real(-v.as_double());
                operand->length = operand->offset + operand->length - at.offset;
                operand->offset = at.offset;
                return operand;
            }
            auto n = make(Op::Neg, at);
            n->args.push_back(std::move(operand));
            n->type = Type::Number;
            span_children(*n);
            return n;
        }
        return power();
    }

    /// base ** exponent, as pow(): binds tighter than a sign on its left (-2 ** 2 is -4),
    /// and from right to left (2 ** 3 ** 2 is 2 ** 9).
    std::unique_ptr<Node> power() {
        auto base = postfix();
        if (tok_.kind != Tok::StarStar) return base;
        Token at = tok_;
        advance();
        Depth guard(*this);
        auto exponent = unary();
        check_arith(*base, at);
        check_arith(*exponent, at);
        auto n = make(Op::Call, at);
        n->function = find_function("pow");
        n->type = Type::Number;
        n->args.push_back(std::move(base));
        n->args.push_back(std::move(exponent));
        span_children(*n);
        return n;
    }

    std::unique_ptr<Node> postfix() {
        auto n = primary();
        for (;;) {
            if (tok_.kind == Tok::Dot) {
                Token at = tok_;
                advance();
                std::string key;
                if (tok_.kind == Tok::Name || tok_.kind == Tok::Quoted)
                    key = tok_.text;
                else
                    syntax_error(tok_.offset, tok_.length,
                                 "expected a field name after '.' (to join texts, use "
                                 "concat(a, b))");
                Token name = tok_;
                advance();
                if (n->op == Op::Field) {
                    p_.fields[n->slot].push({key, 0, false});
                    extend(*n, name);
                    continue;
                }
                auto m = make(Op::Member, at);
                m->key = std::move(key);
                m->args.push_back(std::move(n));
                span_children(*m);
                extend(*m, name);
                n = std::move(m);
                continue;
            }
            if (tok_.kind == Tok::LBracket) {
                Token open = tok_;
                advance();
                bool negative = false;
                if (tok_.kind == Tok::Minus) {
                    negative = true;
                    advance();
                }
                if (tok_.kind != Tok::Int)
                    syntax_error(tok_.offset, tok_.length,
                                 "expected an index (a whole number) inside [ ]");
                std::int64_t index = 0;
                auto [ptr, ec] =
                    std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(), index);
                if (ec != std::errc{}) syntax_error(tok_.offset, tok_.length, "index out of range");
                (void)ptr;
                if (negative) index = -index;
                advance();
                Token close = tok_;
                expect(Tok::RBracket, "']'", open);
                if (n->op == Op::Field) {
                    p_.fields[n->slot].push({std::string(), index, true});
                    extend(*n, close);
                    continue;
                }
                auto m = make(Op::Index, open);
                m->index = index;
                m->args.push_back(std::move(n));
                span_children(*m);
                extend(*m, close);
                n = std::move(m);
                continue;
            }
            return n;
        }
    }

    static void extend(Node& n, const Token& t) {
        const std::size_t end = std::max(n.offset + n.length, t.offset + t.length);
        n.length = end - n.offset;
    }

    std::unique_ptr<Node> literal_node(const Token& at, Value v, Type t) {
        auto n = make(Op::Literal, at);
        n->literal = v;
        n->type = t;
        return n;
    }

    std::unique_ptr<Node> field_node(const Token& at, std::string name) {
        // Each occurrence gets its own slot: postfix steps extend this occurrence's path only.
        auto n = make(Op::Field, at);
        n->slot = p_.fields.size();
        p_.fields.push_back(FieldPath::single(std::move(name)));
        return n;
    }

    std::unique_ptr<Node> primary() {
        Depth guard(*this);
        const Token at = tok_;
        switch (tok_.kind) {
        case Tok::Int: {
            advance();
            std::int64_t i = 0;
            auto [ptr, ec] = std::from_chars(at.text.data(), at.text.data() + at.text.size(), i);
            (void)ptr;
            if (ec == std::errc{}) return literal_node(at, Value::integer(i), Type::Number);
            // Past int64: a double that keeps its digits (id == 12345678901234567891 tells that
            // id from ...890, which the double alone cannot).
            return literal_node(at, Value::number_text(p_.strings.emplace_back(at.text)),
                                Type::Number);
        }
        case Tok::Decimal: {
            advance();
            const double d = std::strtod(at.text.c_str(), nullptr);
            if (!std::isfinite(d)) syntax_error(at.offset, at.length, "number out of range");
            return literal_node(at, Value::real(d), Type::Number);
        }
        case Tok::String: {
            advance();
            const std::string& s = p_.strings.emplace_back(at.text);
            return literal_node(at, Value::string(s), Type::String);
        }
        case Tok::Quoted: {
            advance();
            return field_node(at, at.text);
        }
        case Tok::LParen: {
            advance();
            auto inner = expression();
            expect(Tok::RParen, "')'", at);
            return inner;
        }
        case Tok::LBracket:
            return list(at);
        case Tok::Name:
            break;
        case Tok::End:
            syntax_error(at.offset, 1, "expected a value, found the end of the expression");
        default:
            syntax_error(
                at.offset, at.length,
                "expected a value (a field, a number, a 'string', a function call), found '" +
                    token_text(at) + "'");
        }
        const std::string& word = at.text;
        if (word == "true" || word == "false") {
            advance();
            return literal_node(at, Value::boolean(word == "true"), Type::Bool);
        }
        if (word == "null") {
            advance();
            return literal_node(at, Value::null(), Type::Null);
        }
        if (is_keyword(word))
            syntax_error(at.offset, at.length,
                         "'" + word +
                             "' is an operator and cannot start a value here (a field named '" +
                             word + "' is written `" + word + "`)");
        advance();
        if (tok_.kind == Tok::LParen) return call(at);
        return field_node(at, word);
    }

    std::unique_ptr<Node> list(const Token& open) {
        advance();
        auto n = make(Op::List, open);
        n->type = Type::List;
        if (tok_.kind != Tok::RBracket) {
            for (;;) {
                n->args.push_back(expression());
                if (tok_.kind == Tok::Comma) {
                    advance();
                    if (tok_.kind == Tok::RBracket) break; // trailing comma
                    continue;
                }
                break;
            }
        }
        Token close = tok_;
        expect(Tok::RBracket, "']' or ','", open);
        extend(*n, close);
        // A list of literals is a literal.
        bool constant = true;
        for (const auto& a : n->args)
            constant = constant && a->op == Op::Literal;
        if (constant) {
            std::vector<Value>& items = p_.lists.emplace_back();
            for (const auto& a : n->args)
                items.push_back(a->literal);
            n->op = Op::Literal;
            n->literal = Value::array(items.data(), static_cast<std::uint32_t>(items.size()));
            n->args.clear();
        }
        return n;
    }

    std::unique_ptr<Node> call(const Token& name) {
        const Function* f = find_function(name.text);
        if (!f)
            syntax_error(name.offset, name.length,
                         "unknown function '" + name.text + "'" +
                             did_you_mean(name.text, function_names()));
        Token open = tok_;
        advance();
        auto n = make(Op::Call, name);
        n->function = f;
        n->type = f->result;
        if (tok_.kind != Tok::RParen) {
            for (;;) {
                n->args.push_back(expression());
                if (tok_.kind == Tok::Comma) {
                    advance();
                    continue;
                }
                break;
            }
        }
        Token close = tok_;
        expect(Tok::RParen, "')' or ','", open);
        extend(*n, close);
        const int argc = static_cast<int>(n->args.size());
        if (argc < f->min_args || (f->max_args >= 0 && argc > f->max_args)) {
            std::string expected = f->min_args == f->max_args ? std::to_string(f->min_args)
                                   : f->max_args < 0 ? "at least " + std::to_string(f->min_args)
                                                     : std::to_string(f->min_args) + " to " +
                                                           std::to_string(f->max_args);
            // Named as written: Miller's toupper is our upper, whose signature follows.
            syntax_error(n->offset, n->length,
                         name.text + "() takes " + expected + " argument" +
                             (expected == "1" ? "" : "s") + ", got " + std::to_string(argc) + ": " +
                             std::string(f->info.signature));
        }
        if (f->regex_arg >= 0 && f->regex_arg < argc) {
            const Node& pattern = *n->args[static_cast<std::size_t>(f->regex_arg)];
            if (pattern.op == Op::Literal) {
                if (!pattern.literal.is_string())
                    syntax_error(pattern.offset, pattern.length,
                                 "a regular expression must be a string");
                std::string why;
                n->regex = compile_regex(pattern.literal.as_string(), &why);
                if (!n->regex)
                    syntax_error(pattern.offset, pattern.length,
                                 "invalid regular expression: " + why);
            }
        }
        if (f->time_format_arg >= 0 && f->time_format_arg < argc)
            check_time_format(*n->args[static_cast<std::size_t>(f->time_format_arg)],
                              f->info.name == "format_time" ? timefmt::TimeUse::Format
                                                            : timefmt::TimeUse::Parse);
        if (f->zone_arg >= 0 && f->zone_arg < argc)
            load_zone(*n, *n->args[static_cast<std::size_t>(f->zone_arg)]);
        if (f->info.name == "if" && argc == 3) {
            check_condition(*n->args[0], "if");
            n->type = n->args[1]->type == n->args[2]->type ? n->args[1]->type : Type::Any;
        }
        return n;
    }

    Lexer lex_;
    std::string_view text_;
    Program& p_;
    Token tok_;
    int depth_ = 0;
};

} // namespace

std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, std::string* error) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re =
        std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
    if (!re->ok()) {
        if (error) *error = re->error();
        return nullptr;
    }
    return re;
}

std::variant<std::shared_ptr<Program>, Diagnostic> parse_program(std::string_view text) {
    auto program = std::make_shared<Program>();
    program->text = std::string(text);
    try {
        Parser parser(program->text, *program);
        program->root = parser.parse();
    } catch (const ParseFailure& f) {
        return f.diag;
    }
    return program;
}

} // namespace conveyor::expr
