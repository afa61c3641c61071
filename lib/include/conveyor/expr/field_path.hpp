#pragma once

#include "conveyor/core/result.hpp"
#include "conveyor/core/schema.hpp"
#include "conveyor/core/value.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

/// Field references shared by every function that names fields: `price`, `user.address.city`
/// (nested objects), `tags[0]` (array items, negative counts from the end), and backquoted names
/// for anything else: `` `first name` ``, `` `a.b` `` (a field whose name contains a dot; a
/// backquote inside is written twice).
namespace conveyor::expr {

/// One step of a path: a member name, or an array index.
struct PathStep {
    std::string key;
    std::int64_t index = 0;
    bool is_index = false;
};

class FieldPath {
public:
    FieldPath() = default;
    /// A path of one plain field name, taken literally (no dots or brackets interpreted).
    static FieldPath single(std::string name);
    /// Parses the path syntax above. The error names the position in `text`.
    static Result<FieldPath> parse(std::string_view text);
    /// `text` as a path when it is one (`user.city`, `tags[0]`), else the field of that very
    /// name ("first name"): what a stage's option naming one field means.
    static FieldPath path_or_name(const std::string& text);

    /// The steps; the first is always a key (the record's top-level field).
    [[nodiscard]] std::span<const PathStep> steps() const noexcept { return steps_; }
    /// The top-level field name.
    [[nodiscard]] const std::string& root() const noexcept { return steps_.front().key; }
    /// True for a single top-level name.
    [[nodiscard]] bool is_simple() const noexcept { return steps_.size() == 1; }
    /// The path as it would be written (`user.address.city`, `` `a.b` ``).
    [[nodiscard]] std::string text() const;

    /// Adds a step (used by the expression parser, which reads paths itself).
    void push(PathStep step) { steps_.push_back(std::move(step)); }

private:
    std::vector<PathStep> steps_;
};

/// Where a FieldPath's top-level field sits in a schema: its column, and from which step the
/// rest of the path descends into that column's value. A column whose name is the dotted text
/// of several leading steps (`a.b`, as flatten.apply writes) is found too when no column is
/// named like the first step alone.
struct ResolvedPath {
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    std::size_t column = npos;
    std::size_t next_step = 1;
    [[nodiscard]] bool found() const noexcept { return column != npos; }
};

ResolvedPath resolve(const FieldPath& path, const Schema& schema);

/// The value at `path` in a row (`resolved` from resolve() against the row's schema); absent
/// when any step is missing (a member not there, an index out of range, a scalar in the way).
Value lookup(const FieldPath& path, const ResolvedPath& resolved, std::span<const Value> row);

/// Where `index` (negative: counted from the end) falls in a list of `n` items; nullopt when
/// out of range.
std::optional<std::size_t> item_at(std::int64_t index, std::size_t n) noexcept;

/// Descends from `v` through steps [from, end) of `path`.
Value descend(const FieldPath& path, std::size_t from, Value v);

} // namespace conveyor::expr
