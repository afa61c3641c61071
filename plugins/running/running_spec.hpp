#pragma once

// What a running.apply stage computes, as read from its options: the partition fields and the
// operations, each with its input operand and output field.

#include "conveyor/core/value.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace conveyor::plugins::running {

enum class Op : std::uint8_t {
    Sum,
    Count,
    Avg,
    Min,
    Max,
    RowNumber,
    Lag,
    Lead,
    Delta,
    Ratio,
    FromFirst,
    Ewma,
    FillDown
};

struct Operation {
    Op op = Op::Sum;
    std::optional<expr::Operand> input;
    std::string output;
    std::size_t offset = 1; ///< lag, lead
    double alpha = 0.5;     ///< ewma: the weight of the newest value (Miller's -d)
};

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

struct RunningSpec {
    std::vector<expr::Operand> by;
    std::vector<Operation> operations;
    std::vector<expr::Operand> operands; ///< by, then each operation's input
    std::vector<std::size_t> input_of;   ///< per operation: index in operands or npos
    std::vector<std::string> outputs;
    bool has_lead = false;
};

/// The partition key of a record whose operands were read into `values` (by first), into
/// `key`.
void partition_key(const RunningSpec& spec, const std::vector<Value>& values, std::string& key);

struct RunningOptions {
    std::vector<std::string> by;
    OptionValue operations; ///< required: a list of tables
};

const OptionTable<RunningOptions>& running_options();

/// The spec `o` describes, or nullopt after reporting what is wrong to `ctx`.
std::optional<RunningSpec> make_spec(BuildContext& ctx, const RunningOptions& o);

} // namespace conveyor::plugins::running
