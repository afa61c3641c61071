#pragma once

// The streaming state of running.apply: per partition and operation, the totals, the best
// value and the last values seen, updated record by record in input order and written into
// each record's output fields.

#include "conveyor/core/arena.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/core/column_layout.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/result.hpp"
#include "conveyor/expr/operand.hpp"
#include "running_spec.hpp"

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace conveyor {
class StageErrors;
}

namespace conveyor::plugins::running {

/// A value kept beyond its batch (lag, min, max): with its own copy of what it points to.
struct Kept {
    Value v;
    std::shared_ptr<Arena> arena;

    static Kept of(const Value& v);
};

/// One operation's state in one partition.
struct State {
    std::int64_t count = 0;
    std::int64_t isum = 0;
    double sum = 0;
    bool int_only = true;
    Kept best;                ///< min, max (absent: none yet)
    std::deque<Kept> history; ///< lag, delta: the last values, oldest first
};

class RunningState {
public:
    RunningState(const RunningSpec& spec, StageErrors* errors, std::string stage);

    /// Computes every operation for the rows of `batch`, in order, and adds the results as
    /// fields. `leads` (records x operations) holds the lead values of its rows, pointing
    /// into storage the batch keeps alive; null without lead. A record that fails goes through
    /// the stage's errors (and out of the batch) or fails the stage.
    Status compute(Batch& batch, const std::vector<Value>* leads);

private:
    /// Results point into `arena`: the batch they go into keeps it alive.
    void keep(const std::shared_ptr<Arena>& arena);
    Status compute_row(Batch& batch, std::size_t r, Value* out, const Value* leads);
    /// Updates `s` with `v` (the operation's input, absent without one) and gives the result
    /// in `out`; `lead` is the record's value for a lead operation.
    void update(const Operation& op, State& s, const Value& v, Value& out, const Value* lead);

    const RunningSpec& spec_;
    expr::OperandReader reader_;
    StageErrors* errors_;
    std::string stage_;
    PerSchema<ColumnLayout> layouts_;
    std::unordered_map<std::string, std::vector<State>> partitions_;
    std::string key_;
    std::vector<Value> values_;
    std::vector<Value> out_;
    std::vector<std::uint8_t> keep_;
    std::vector<std::shared_ptr<Arena>> storage_;
};

} // namespace conveyor::plugins::running
