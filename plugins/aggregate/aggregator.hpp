#pragma once

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/expr/field_path.hpp"
#include "conveyor/format/value_key.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

/// The state of aggregate.stream, without any stage machinery: records annotated by
/// window.apply go in, one record per window and key comes out when the window closes
/// (window.apply's WindowClosed metadata). Memory is the open windows times their keys.
namespace conveyor::plugins::aggregate {

enum class Operation : std::uint8_t { Count, Sum, Avg, Min, Max };

struct AggregateSpec {
    Operation operation = Operation::Count;
    std::optional<std::string> value_column; ///< count: optional (counts non-null values)
    std::vector<std::string> group_by;
    std::string output_column;
};

class Aggregator {
public:
    explicit Aggregator(AggregateSpec spec);

    /// Asked every few thousand records while push() or finish() work (a batch of sliding
    /// windows' records can be millions of rows); once it returns true they stop: push()
    /// fails with ErrorKind::Cancelled, finish() returns with what it emitted so far.
    void set_interrupt(std::function<bool()> interrupt) { interrupt_ = std::move(interrupt); }

    /// Folds a batch in; results of the windows it closes are appended to `out`. Fails on a
    /// record without window fields (not from window.apply) or a value that is not a number.
    Status push(const Batch& batch, std::vector<Batch>& out);
    /// The window that starts at closed.start has closed: its results are appended to `out`
    /// (nothing when no record of it came).
    void close(const WindowClosed& closed, std::vector<Batch>& out);
    /// Windows still open (no close came: the input was not window.apply's) are emitted with
    /// window_end null.
    void finish(std::vector<Batch>& out);

    [[nodiscard]] std::size_t open_windows() const noexcept { return windows_.size(); }
    /// The schema of the results: group_by fields, output_column, window_start, window_end.
    [[nodiscard]] const SchemaRef& output_schema() const noexcept { return out_schema_; }

private:
    struct Acc {
        std::int64_t count = 0;
        std::int64_t isum = 0;
        double dsum = 0;
        bool int_only = true; ///< every value so far was an integer and the sum fits
        Value best;           ///< min/max so far (absent: none yet)
        double best_d = 0;
    };
    struct Group {
        std::vector<Value> key; ///< group_by values, in the window's arena
        Acc acc;
    };
    struct Window {
        Value start; ///< in arena
        std::shared_ptr<Arena> arena = std::make_shared<Arena>(1024);
        std::unordered_map<std::string, std::size_t> index; ///< encoded key -> groups_
        std::vector<Group> groups;                          ///< in first-seen order
    };
    /// Where a group_by field or value_column is in records of one schema: a column, or a
    /// path into a nested value (`user.country`) when no field has that very name.
    struct FieldRef {
        std::optional<std::size_t> column;
        const expr::FieldPath* path = nullptr;
        expr::ResolvedPath where;
        [[nodiscard]] bool found() const { return column || (path && where.found()); }
        [[nodiscard]] Value get(std::span<const Value> row) const {
            if (column) return row[*column];
            if (path && where.found()) return expr::lookup(*path, where, row);
            return Value::absent();
        }
    };
    struct Columns {
        std::optional<std::size_t> start, end;
        FieldRef value;
        std::vector<FieldRef> keys;
    };
    FieldRef field_ref(const Schema& s, const std::string& name,
                       const std::optional<expr::FieldPath>& path) const;

    Window& window_for(const Value& start);
    Status fold(Acc& acc, const Value& v, std::string_view column, Arena& arena);
    void emit(Window& w, const Value& end, std::vector<Batch>& out);
    Value result(const Acc& acc) const;

    AggregateSpec spec_;
    std::vector<std::optional<expr::FieldPath>> key_paths_; ///< per group_by field, if a path
    std::optional<expr::FieldPath> value_path_;
    SchemaRef out_schema_;
    PerSchema<Columns> columns_;
    std::vector<std::unique_ptr<Window>> windows_; ///< open, in order of first record
    std::string key_;                              ///< scratch: the encoded group key
    std::function<bool()> interrupt_;
};

} // namespace conveyor::plugins::aggregate
