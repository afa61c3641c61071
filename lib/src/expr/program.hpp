#pragma once

// The compiled form of an expression: a tree of nodes, checked at compile time, walked per row
// by eval.cpp. Private to lib/src/expr.

#include "conveyor/expr/expression.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace re2 {
class RE2;
}
namespace conveyor::timefmt {
class TimeZone;
}

namespace conveyor::expr {

enum class Op : std::uint8_t {
    Literal,
    Field, ///< a field path (slot into Program::fields)
    List,  ///< [a, b, ...] with non-constant items
    Neg,
    Not,
    And,
    Or,
    Coalesce, ///< a ?? b
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,    ///< a =~ 'regex'
    NotMatch, ///< a !~ 'regex'
    In,
    NotIn,
    Call,   ///< a function (Function*)
    Member, ///< (expr).name
    Index,  ///< (expr)[i]
};

struct EvalContext; // eval.cpp
struct Node;

/// A function of the language. `impl` receives evaluated arguments; the lazy ones (if,
/// coalesce) are evaluated by eval.cpp itself and have no impl.
struct Function {
    FunctionInfo info;
    int min_args = 0;
    int max_args = 0; ///< -1: any number
    Type result = Type::Any;
    /// Index of an argument that is a regular expression (compiled at load when literal); -1.
    int regex_arg = -1;
    Value (*impl)(EvalContext& ctx, const Node& call, std::span<const Value> args) = nullptr;
    /// Index of an argument that is a strftime-style time format (its directives checked at
    /// load when literal); -1.
    int time_format_arg = -1;
    /// Index of an argument that is a time zone (loaded at load when literal); -1.
    int zone_arg = -1;
};

/// Looks a function up by name; nullptr when unknown.
const Function* find_function(std::string_view name) noexcept;

struct Node {
    Op op = Op::Literal;
    Type type = Type::Any;
    std::size_t offset = 0; ///< where the node starts in the text, for messages
    std::size_t length = 1;
    Value literal;                      ///< Literal
    std::size_t slot = 0;               ///< Field
    const Function* function = nullptr; ///< Call
    std::string key;                    ///< Member
    std::int64_t index = 0;             ///< Index
    /// Match/NotMatch with a literal pattern, or a Call whose regex argument is literal.
    std::shared_ptr<const re2::RE2> regex;
    /// A Call whose time zone argument is literal: that zone, loaded at load.
    std::shared_ptr<const timefmt::TimeZone> zone;
    std::vector<std::unique_ptr<Node>> args;
};

struct Program {
    std::string text;
    std::unique_ptr<Node> root;
    std::vector<FieldPath> fields;
    /// Storage of literal strings and lists (stable addresses).
    std::deque<std::string> strings;
    std::deque<std::vector<Value>> lists;
};

/// Compiles a pattern for =~ and the regex functions (RE2 syntax, errors not logged).
std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, std::string* error);

/// Parses `text` into a Program (parser.cpp); Diagnostic on failure.
std::variant<std::shared_ptr<Program>, Diagnostic> parse_program(std::string_view text);

} // namespace conveyor::expr
