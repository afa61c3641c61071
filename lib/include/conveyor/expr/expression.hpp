#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/expr/field_path.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// The expression language of filter.apply, map.apply, route.apply and the other functions that
/// take expressions (README, "Expressions"). One language everywhere:
///   fields     price, user.address.city, tags[0], `first name`
///   literals   42, 2.5, 'text', "text", true, false, null, [1, 2]
///   operators  (lowest first) or | and | not | == != < <= > >= =~ !~ in, not in | ?? | + - |
///              * / % | unary - | calls, .member, [index]
///   functions  lower(s), round(x, 2), parse_time(s, '%d/%m/%Y'), ... (see functions())
/// Null (and a missing field) propagates through arithmetic and string functions; comparisons
/// never give null (an ordering comparison with null, or of a number with a non-numeric
/// string, is false; == treats null as a value).
namespace conveyor::expr {

/// A problem in an expression's text: what, and where (a byte range of the text).
struct Diagnostic {
    std::string message;
    std::size_t offset = 0;
    std::size_t length = 1;

    /// The message, then the text and a caret line under the range:
    ///   unknown function 'lwoer' (did you mean 'lower'?)
    ///       lwoer(name) == 'x'
    ///       ^^^^^
    [[nodiscard]] std::string render(std::string_view text) const;
};

/// What an expression is known to produce before it runs.
enum class Type : std::uint8_t { Any, Null, Bool, Number, String, List, Object };
std::string_view to_string(Type t) noexcept;

/// A function of the language, for documentation and "did you mean".
struct FunctionInfo {
    std::string_view name;
    std::string_view signature; ///< "round(x, digits = 0)"
    std::string_view summary;
};
std::span<const FunctionInfo> functions() noexcept;
/// Another name a function answers to: Miller's names (toupper for upper, gsub for
/// regex_replace), so that its users' expressions work as they wrote them.
struct FunctionAlias {
    std::string_view alias;
    std::string_view name;
};
std::span<const FunctionAlias> function_aliases() noexcept;

struct Program; // the compiled tree (lib/src/expr/)

/// A compiled expression: immutable, shared by every run and thread of a stage.
class Expression {
public:
    /// Parses and type-checks `text`. A failure is a Config error whose message is a rendered
    /// Diagnostic (message, text, caret), for the caller to prefix with its stage and option.
    static Result<Expression> compile(std::string_view text);
    /// As compile(), with the Diagnostic itself.
    static std::optional<Diagnostic> check(std::string_view text);

    [[nodiscard]] const std::string& text() const noexcept;
    [[nodiscard]] Type type() const noexcept;
    /// Every field the expression reads, in order of first use.
    [[nodiscard]] std::span<const FieldPath> fields() const noexcept;
    /// The first field whose top-level name is not in `schema` (when every record has exactly
    /// that schema, as CSV input does), as a Diagnostic with "did you mean".
    [[nodiscard]] std::optional<Diagnostic> check_fields(const Schema& schema) const;
    /// When the whole expression is a field path, that path (`user.name`); map.apply uses it to
    /// copy values without evaluating.
    [[nodiscard]] const FieldPath* as_field() const noexcept;

    /// Owner of the memory that literal strings in results point into: a batch that stores
    /// results keeps it alive (Batch::keep_alive).
    [[nodiscard]] std::shared_ptr<const void> storage() const noexcept;

    [[nodiscard]] const Program& program() const noexcept { return *program_; }

private:
    explicit Expression(std::shared_ptr<const Program> p) : program_(std::move(p)) {}
    std::shared_ptr<const Program> program_;
};

/// Evaluates one Expression over the rows of batches. One per stage run (not thread-safe):
/// it caches field positions per schema and regexes built at run time.
class Evaluator {
public:
    explicit Evaluator(Expression expression);
    ~Evaluator();
    Evaluator(Evaluator&&) noexcept;
    Evaluator& operator=(Evaluator&&) noexcept;

    /// Prepares for rows of `schema` (cheap when it is the schema of the last call).
    void bind(const SchemaRef& schema);

    /// The value for `row` (of the bound schema). New strings and lists are allocated in
    /// `arena`; other values point into the row's storage or the expression's storage().
    /// nullopt on a record error (a failed cast, division by zero, ...): error() says why.
    std::optional<Value> eval(std::span<const Value> row, Arena& arena);
    /// A condition: true, false, or null (taken as false). A value of another kind is a record
    /// error ("expected true or false").
    std::optional<bool> test(std::span<const Value> row, Arena& arena);

    /// The columns of the bound schema that the expression reads whole (plain fields that are
    /// there), for a caller that wants their text in cache before it evaluates a row.
    [[nodiscard]] std::span<const std::size_t> columns() const noexcept;

    /// Why the last eval()/test() failed.
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] const Expression& expression() const noexcept { return expression_; }

private:
    struct State;
    Expression expression_;
    std::unique_ptr<State> state_;
    std::string error_;
};

} // namespace conveyor::expr
