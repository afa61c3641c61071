#pragma once

// limit.apply with from = "end" (`mlr tail`): the last `count` records, before the last
// `offset`, of the whole input or of each group of `by`, in input order. It holds the records
// that may still be among them: without `by` the last count + offset, with it as many per
// group, but a record stays while an older one of another group is still held. Beyond the
// stage's memory share (may_hold_records) everything held and everything after it goes to a
// spill file with its group and its number in the group, and the records of the tails are
// read back from it at the end.

#include "conveyor/expr/operand.hpp"
#include "conveyor/stage/stage.hpp"

#include <cstdint>
#include <memory>
#include <span>

namespace conveyor::plugins::limit {

std::unique_ptr<Operator> make_tail_operator(std::span<const expr::Operand> by, std::uint64_t count,
                                             std::uint64_t offset, const OpenContext& ctx);

} // namespace conveyor::plugins::limit
