#pragma once

// The aggregations of groupby.apply and reduce.apply: what each computes over the values of a
// group, and the state it keeps while the input goes by.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/core/value.hpp"
#include "conveyor/expr/operand.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace conveyor::plugins::groupby {

enum class Op : std::uint8_t {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Median,
    Percentile,
    Std,
    Var,
    First,
    Last,
    Collect,
    Mode,
    Antimode
};

/// The operation called `name` (`mean` is avg), or nullopt.
std::optional<Op> op_named(std::string_view name);
/// The fraction a Miller-style percentile name gives: "p95" is 0.95, "p99.9" 0.999 (p and a
/// number from 0 to 100); nullopt for any other name.
std::optional<double> percentile_named(std::string_view name);
/// Every operation name, for messages and documentation.
std::span<const std::string_view> op_names() noexcept;
/// Whether operation `op` reads its values as numbers only (sum, avg, median, ...).
inline bool is_numeric(Op op) noexcept {
    switch (op) {
    case Op::Sum:
    case Op::Avg:
    case Op::Median:
    case Op::Percentile:
    case Op::Std:
    case Op::Var:
        return true;
    default:
        return false;
    }
}

struct Aggregation {
    Op op = Op::Count;
    std::optional<expr::Operand> input; ///< `column`; count without it counts records
    std::string output;                 ///< `output_column`
    double p = 0.5;                     ///< percentile, in [0, 1]
};

/// What some aggregations keep beyond a few numbers.
struct AggExtra {
    std::vector<double> numbers;          ///< median, percentile
    std::vector<Value> items;             ///< collect
    std::unordered_set<std::string> seen; ///< count_distinct (encoded values)
    /// mode, antimode: per encoded value, its count and its place in `items` (the value as
    /// first seen).
    std::unordered_map<std::string, std::pair<std::int64_t, std::size_t>> tally;
};

/// One aggregation's state in one group (48 bytes: a group-by of millions of keys holds one
/// per key and aggregation). Values it keeps (min, max, first, last, collect) are copied into
/// the group table's arena.
struct AggState {
    std::int64_t count = 0; ///< values taken (non-null), or records for a bare count
    /// sum/avg: the integer sum while every value is an integer (int_only) and the double sum;
    /// std/var: Welford's running mean (as `sum`) and sum of squared deviations (`carry`);
    /// min/max: the kept value's number (as `sum`) while it is one (int_only).
    std::int64_t isum = 0;
    double sum = 0;
    double carry = 0; ///< sum/avg: Neumaier's compensation, what rounding took from sum
    Value kept;       ///< min, max, first, last (absent: none yet)
    std::unique_ptr<AggExtra> extra;
    bool int_only = true;

    /// About the bytes this state holds beyond its own size (for the memory budget), cheap
    /// to ask after every value.
    [[nodiscard]] std::size_t extra_bytes_hint() const noexcept;
};

/// An aggregation's input for one record: the value, and its number when it is or reads as
/// one (parsed once per record however many aggregations read the column).
struct Input {
    Value value;
    std::optional<double> number;

    static Input of(const Value& v);
};

/// Whether `a` can take `in`: a value that should be a number and is not is an error naming
/// the column. A record is checked against every aggregation before any folds it, so that a
/// failed record counts nowhere.
Status check_slow(const Aggregation& a, const Input& in);
inline Status check(const Aggregation& a, const Input& in) {
    if (!a.input || !is_numeric(a.op) || in.number) return {}; // per record: no call
    return check_slow(a, in);
}

/// Folds `in` (absent for a bare count) into `s`; `in` must have passed check().
void fold(const Aggregation& a, AggState& s, const Input& in, Arena& arena);
/// check() and fold() of one value.
inline Status fold(const Aggregation& a, AggState& s, const Value& v, Arena& arena) {
    const Input in = Input::of(v);
    CONVEYOR_TRY(check(a, in));
    fold(a, s, in, arena);
    return {};
}

/// The result of `s`: in `arena` where it needs memory.
Value result(const Aggregation& a, AggState& s, Arena& arena);

/// Whether operation `op` keeps extra memory (AggExtra) as values come.
bool has_extra(Op op) noexcept;

/// `v` as a number when it is one or is a string that reads fully as one.
std::optional<double> as_number(const Value& v);

} // namespace conveyor::plugins::groupby
