// gather.apply: the fan-in of parallel branches, per record. Its inputs are branches that
// descend from one fan-out stage through 1:1 transforms (the loader checks and records it);
// the run numbers the fan-out's records (lineage ids) and feeds them to the gather as well,
// which waits for each record's answers as its policy says and emits them as one record.

#include "conveyor/obs/metrics.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "gather_operator.hpp"

#include <algorithm>

namespace conveyor::plugins::gather {

namespace {

constexpr std::size_t kMaxBranches = 63;

struct GatherOptions {
    Policy policy = Policy::All;
    std::optional<std::int64_t> quorum;
    std::vector<std::string> priority;
    std::optional<std::int64_t> timeout_ms;
    std::optional<std::int64_t> max_failures;
    MergeMode merge = MergeMode::Nest;
    std::optional<std::string> report_field;
    bool ordered = false;
};

const OptionTable<GatherOptions>& gather_options() {
    static const auto table =
        OptionTable<GatherOptions>()
            .add_choice("policy", &GatherOptions::policy,
                        {{"all", Policy::All},
                         {"quorum", Policy::Quorum},
                         {"any", Policy::Any},
                         {"priority", Policy::Priority}},
                        {.description =
                             "When a record may go: \"all\" when every branch answered, "
                             "\"quorum\" when `quorum` branches answered (waiting for the rest "
                             "until the deadline), \"any\" as soon as one answered, \"priority\" "
                             "with the answer of the first branch in `priority` that did not "
                             "fail."})
            .add("quorum", &GatherOptions::quorum,
                 {.description = "policy = \"quorum\": how many branches must answer.",
                  .min = 1,
                  .example = "2"})
            .add("priority", &GatherOptions::priority,
                 {.description = "Branches (from `inputs`) in order of preference: policy = "
                                 "\"priority\" takes the first that answered; merge = \"flat\" "
                                 "lets earlier ones win a clash. Unlisted inputs follow, in "
                                 "`inputs` order.",
                  .example = "[\"primary\", \"fallback\"]"})
            .add("timeout_ms", &GatherOptions::timeout_ms,
                 {.description = "How long a record may wait for its branches (from when it "
                                 "left the fan-out); at the deadline it goes if its policy is "
                                 "met, else it is a record error. Unset: until every branch "
                                 "answered or passed it. Under executor = \"dag\" branches are "
                                 "complete before the gather runs, so it never applies.",
                  .min = 1,
                  .unit = OptionUnit::Milliseconds,
                  .example = "300"})
            .add("max_failures", &GatherOptions::max_failures,
                 {.description = "Failed or timed-out branches a record may have and still go "
                                 "(the partial-failure budget). Default: 0 for \"all\", the "
                                 "inputs beyond the quorum for \"quorum\", all but one for "
                                 "\"any\" and \"priority\".",
                  .min = 0})
            .add_choice("merge", &GatherOptions::merge,
                        {{"nest", MergeMode::Nest}, {"flat", MergeMode::Flat}},
                        {.description = "\"nest\": each branch's record under its input's name "
                                        "(null when it did not answer); \"flat\": every "
                                        "branch's fields in one record, earlier branches by "
                                        "priority winning a clash."})
            .add("report_field", &GatherOptions::report_field,
                 {.description = "Adds a field with {arrived, failed, timed_out}: the branches "
                                 "in each state (and, for policy = \"priority\", `chosen`).",
                  .example = "\"gather\""})
            .add("ordered", &GatherOptions::ordered,
                 {.description = "Emit records in the fan-out's order (a record waits for the "
                                 "ones before it) instead of as they complete."});
    return table;
}

class GatherStage final : public Stage {
public:
    explicit GatherStage(GatherSettings settings) : settings_(std::move(settings)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const std::size_t branches = settings_.policy.branches;
        if (ctx.input_schemas.size() != branches + 1)
            return Error(ErrorKind::Internal,
                         "gather.apply opened without the edge from its fan-out", {},
                         std::string(ctx.stage_id));
        GatherCounters counters;
        if (ctx.metrics) {
            obs::ExtraMetrics& extra = ctx.metrics->extra();
            constexpr std::string_view kName = "conveyor_gather_records_total";
            constexpr std::string_view kHelp =
                "Records of a gather.apply stage by outcome: emitted with every branch "
                "(complete), emitted without some (partial), failed by the policy (failed), "
                "failed with a branch timed out (timed_out)";
            counters.complete =
                &extra.counter(kName, kHelp, {{"outcome", "complete"}}, obs::ShownIn::Summary);
            counters.partial =
                &extra.counter(kName, kHelp, {{"outcome", "partial"}}, obs::ShownIn::Summary);
            counters.failed =
                &extra.counter(kName, kHelp, {{"outcome", "failed"}}, obs::ShownIn::Summary);
            counters.timed_out =
                &extra.counter(kName, kHelp, {{"outcome", "timed_out"}}, obs::ShownIn::Summary);
        }
        auto op = std::make_unique<GatherOperator>(
            settings_, ctx.batch_size, ctx.errors, counters, !ctx.inputs_complete, &Clock::now,
            ctx.mode == ExecutionMode::Batch ? ctx.run : nullptr);
        SchemaRef schema;
        if (settings_.merge.mode == MergeMode::Nest) {
            std::vector<std::string> fields(settings_.merge.names->begin(),
                                            settings_.merge.names->end());
            if (settings_.merge.report_field) fields.push_back(*settings_.merge.report_field);
            schema = make_schema(std::move(fields));
        }
        OpenedStage opened(std::unique_ptr<Operator>(std::move(op)), schema);
        opened.fixed_schema = settings_.merge.mode == MergeMode::Nest;
        opened.interleave_inputs = true;
        // Once every input has brought a checkpoint marker, every record before it has been
        // answered or passed by every branch (the LineageMarks come before the marker), so
        // nothing before it is still held: the stage keeps no state across checkpoints.
        opened.checkpoints = true;
        return opened;
    }

private:
    GatherSettings settings_;
};

std::unique_ptr<Stage> build_gather(BuildContext& ctx, const GatherOptions& o) {
    const std::span<const std::string> inputs = ctx.inputs();
    const std::size_t n = inputs.size();
    auto list_inputs = [&] {
        std::string s;
        for (std::size_t i = 0; i < n; ++i)
            s += (i ? ", " : "") + inputs[i];
        return s;
    };
    if (n > kMaxBranches) {
        ctx.error("policy", "gather.apply joins at most " + std::to_string(kMaxBranches) +
                                " branches, but 'inputs' lists " + std::to_string(n));
        return nullptr;
    }
    GatherSettings s;
    s.policy.policy = o.policy;
    s.policy.branches = n;
    if (o.policy == Policy::Quorum) {
        if (!o.quorum) {
            ctx.error("policy", "policy = \"quorum\" needs `quorum`, the number of branches "
                                "that must answer (e.g. quorum = 2)");
        } else if (static_cast<std::size_t>(*o.quorum) > n) {
            ctx.error("quorum", "quorum = " + std::to_string(*o.quorum) + " is more than the " +
                                    std::to_string(n) + " inputs (" + list_inputs() + ")");
        } else {
            s.policy.quorum = static_cast<std::size_t>(*o.quorum);
        }
    } else if (o.quorum) {
        ctx.error("quorum", "`quorum` applies to policy = \"quorum\" only (policy is \"" +
                                std::string(to_string(o.policy)) + "\")");
    }
    for (std::size_t i = 0; i < o.priority.size(); ++i) {
        const std::string& p = o.priority[i];
        const auto at = std::find(inputs.begin(), inputs.end(), p);
        if (at == inputs.end()) {
            ctx.error("priority",
                      "priority names '" + p +
                          "', which is not an input of this stage (inputs: " + list_inputs() + ")");
            continue;
        }
        if (std::find(o.priority.begin(), o.priority.begin() + static_cast<std::ptrdiff_t>(i), p) !=
            o.priority.begin() + static_cast<std::ptrdiff_t>(i)) {
            ctx.error("priority", "priority names '" + p + "' twice");
            continue;
        }
        s.policy.order.push_back(static_cast<std::size_t>(at - inputs.begin()));
    }
    for (std::size_t b = 0; b < n; ++b)
        if (std::find(s.policy.order.begin(), s.policy.order.end(), b) == s.policy.order.end())
            s.policy.order.push_back(b);
    std::size_t default_failures = 0;
    if (o.policy == Policy::Quorum)
        default_failures = n - std::min(n, s.policy.quorum);
    else if (o.policy == Policy::Any || o.policy == Policy::Priority)
        default_failures = n == 0 ? 0 : n - 1;
    s.policy.max_failures =
        o.max_failures ? static_cast<std::size_t>(*o.max_failures) : default_failures;
    if (o.report_field) {
        if (o.report_field->empty())
            ctx.error("report_field", "report_field must name a field (e.g. \"gather\")");
        else if (o.merge == MergeMode::Nest &&
                 std::find(inputs.begin(), inputs.end(), *o.report_field) != inputs.end())
            ctx.error("report_field", "report_field \"" + *o.report_field +
                                          "\" is also the name a branch nests under; pick "
                                          "another name");
    }
    if (o.timeout_ms) s.timeout = std::chrono::milliseconds(*o.timeout_ms);
    s.ordered = o.ordered;
    s.merge.mode = o.merge;
    s.merge.names = std::make_shared<const std::vector<std::string>>(inputs.begin(), inputs.end());
    s.merge.order = s.policy.order;
    s.merge.report_field = o.report_field;
    s.merge.report_chosen = o.policy == Policy::Priority;
    if (ctx.failed()) return nullptr;
    return std::make_unique<GatherStage>(std::move(s));
}

FunctionDescriptor gather_apply() {
    FunctionDescriptor fn;
    fn.name = "gather.apply";
    fn.role = StageRole::Transform;
    fn.gathers = true;
    fn.summary = "Join the parallel branches of each record back into one (all, quorum, any, "
                 "priority; deadlines)";
    fn.description =
        "The fan-in of a fan-out, per record: its inputs are branches that start at one stage "
        "(the fan-out) and pass only through 1:1 transforms (filter, map, select, rename, "
        "route, validate, json.extract, limit, http.fetch). Each record leaving the fan-out is "
        "numbered; the gather waits for what each branch makes of it and, as `policy` says, "
        "emits one record with the branches' answers (`merge`), or fails it (a record error, "
        "following the stage's error strategy; its dead letter is the record as it left the "
        "fan-out). A branch that drops or fails a record counts as failed for it at once; one "
        "that has not answered by the deadline (`timeout_ms`) as timed out. A record waiting "
        "for a slow branch holds back the fan-out (bounded by channel_buffer_size), never "
        "memory without bound.";
    fn.options = gather_options().specs();
    fn.min_inputs = 2;
    fn.max_inputs = kMaxBranches;
    fn.factory = bind_options(gather_options(), build_gather);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::gather

namespace conveyor::plugins {

void register_gather(Registry& registry) {
    registry.add("gather.apply", gather::gather_apply);
}

} // namespace conveyor::plugins
