#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/expr/expression.hpp"
#include "conveyor/expr/field_path.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

/// What the blocking functions read from a record for a key or an aggregate input (`by`,
/// `on`, `columns`, an aggregation's `column`): a field named exactly so (`order-id`,
/// `first name`), a path (`user.address.city`, `tags[0]`), or an expression
/// (`lower(email)`, `price * qty`).
namespace conveyor::expr {

class Operand {
public:
    /// `text` as a field path when it is one, else as an expression. A text that is neither
    /// is taken as a field name (a field of that exact name, or none: null).
    static Operand parse(std::string text);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    /// The path, for a field operand.
    [[nodiscard]] const FieldPath* path() const noexcept { return path_ ? &*path_ : nullptr; }
    /// The expression, for a computed operand.
    [[nodiscard]] const Expression* expression() const noexcept {
        return expression_ ? &*expression_ : nullptr;
    }
    /// Against the schema every record will have (CSV input): why the operand cannot be found
    /// in it (with "did you mean"), or nullopt.
    [[nodiscard]] std::optional<std::string> check(const Schema& schema) const;

private:
    std::string text_;
    std::optional<FieldPath> path_;
    std::optional<Expression> expression_;
};

/// Reads operands from rows; one per stage run (not thread-safe).
class OperandReader {
public:
    explicit OperandReader(std::span<const Operand> operands);
    ~OperandReader();
    OperandReader(OperandReader&&) noexcept;
    OperandReader& operator=(OperandReader&&) noexcept;

    /// Prepares for rows of `schema` (cheap when it is the last call's).
    void bind(const SchemaRef& schema);
    /// The operands' values for `row` into out[0, size()). Computed strings and lists are
    /// allocated in `arena`; the other values point into the row's storage (copy them to keep
    /// them beyond the batch). False on a record error (a failed cast ...): error() says why.
    bool read(std::span<const Value> row, Arena& arena, Value* out);
    [[nodiscard]] std::size_t size() const noexcept { return operands_.size(); }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    /// Owners of literal strings computed values may point into (Batch::keep_alive them).
    [[nodiscard]] std::vector<std::shared_ptr<const void>> storage() const;

private:
    struct Slot {
        std::size_t column = static_cast<std::size_t>(-1); ///< exact name or path root
        ResolvedPath where;
        bool whole_column = false;
        std::unique_ptr<Evaluator> evaluator;
    };
    std::span<const Operand> operands_;
    std::vector<Slot> slots_;
    SchemaRef bound_;
    std::string error_;
};

} // namespace conveyor::expr
