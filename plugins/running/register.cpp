// running.apply: running totals and neighbours, per partition (`by`) in input order: running
// sum, count, avg, min and max, the row number, the previous (lag) or next (lead) value and the
// change from the previous one (delta). It streams, holding one state per partition
// (running_state); with lead a record waits for the record `offset` ahead in its partition,
// and the records after it wait with it (output keeps input order), in memory up to the
// stage's share of [global] memory_limit and in spill files beyond it (lead_buffer). Options
// are read in running_spec, the operator is in running_stage.

#include "conveyor/registry/registry.hpp"
#include "running_spec.hpp"
#include "running_stage.hpp"

#include <algorithm>

namespace conveyor::plugins::running {

namespace {

std::unique_ptr<Stage> build_running(BuildContext& ctx, const RunningOptions& o) {
    const GlobalSpec& g = ctx.global();
    if (g.shard && !(g.partition == Partition::Hash &&
                     std::find(o.by.begin(), o.by.end(), g.partition_key) != o.by.end())) {
        // Each shard would start over at its first record: row_number from 1, lag null.
        ctx.error("operations",
                  "running.apply carries totals and neighbours from record to record, and a "
                  "sharded run gives each shard a share, each starting over at its first record "
                  "(row_number 1, lag null): give [global] partition = \"hash\" with key = one "
                  "of its by fields, or run it on the finalized output, or without --shard");
        return nullptr;
    }
    std::optional<RunningSpec> spec = make_spec(ctx, o);
    if (!spec) return nullptr;
    return std::make_unique<RunningStage>(std::move(*spec));
}

FunctionDescriptor running_apply() {
    FunctionDescriptor fn;
    fn.name = "running.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Running totals, row numbers, lag/lead, deltas and fill-down, per partition";
    fn.description =
        "Adds fields computed over the records so far, in input order, within each partition "
        "of `by`: running_sum, running_count (non-null values; without column, records), "
        "running_avg, running_min, running_max, row_number (1, 2, ...), lag (the value "
        "`offset` records back, null before), lead (the value `offset` records ahead, null "
        "at the end), delta (this value minus the previous one), ratio (this value divided by "
        "the previous one), from_first (this value minus the partition's first), ewma (an "
        "exponentially weighted moving average with weight `alpha`, default 0.5, for the newest "
        "value: `mlr step -a ewma -d 0.5`) and fill_down (the last value "
        "that was not null or empty, for blanks: `mlr fill-down -a`). Nulls are skipped by the "
        "running aggregates. It streams and holds one state per partition; with lead a record "
        "waits until the record `offset` ahead in its partition has come (or the input ends), "
        "and the records after it wait with it, since output keeps input order. The waiting "
        "records are held up to the stage's share of [global] memory_limit; beyond it they "
        "spill to state_dir/spill and are read back in order when their leads are known (the "
        "lead values of spilled records stay in memory).";
    fn.options = running_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(running_options(), build_running);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::running

namespace conveyor::plugins {

void register_running(Registry& registry) {
    registry.add("running.apply", running::running_apply);
}

} // namespace conveyor::plugins
