// join.apply's definition: its options, the checks of its keys against the inputs' fields,
// and its registration. The join itself is join_operator.cpp.

#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"
#include "join_operator.hpp"
#include "join_shape.hpp"

#include <fmt/format.h>

namespace conveyor::plugins::join {

namespace {

class JoinStage final : public Stage {
public:
    explicit JoinStage(JoinSpec spec) : spec_(std::move(spec)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        SchemaRef l = ctx.input_schemas.size() > 0 ? ctx.input_schemas[0] : nullptr;
        SchemaRef r = ctx.input_schemas.size() > 1 ? ctx.input_schemas[1] : nullptr;
        const auto fixed = [&](std::size_t i) {
            return ctx.input_schemas_fixed.size() > i && ctx.input_schemas_fixed[i];
        };
        if (l && fixed(0))
            for (const expr::Operand& k : spec_.left_keys)
                if (auto why = k.check(*l))
                    return fail(
                        ErrorKind::Config,
                        std::string(spec_.shared_keys.empty() ? "left_on: " : "on (left input): ") +
                            *why);
        if (r && fixed(1))
            for (const expr::Operand& k : spec_.right_keys)
                if (auto why = k.check(*r))
                    return fail(ErrorKind::Config,
                                std::string(spec_.shared_keys.empty() ? "right_on: "
                                                                      : "on (right input): ") +
                                    *why);
        SchemaRef out;
        bool out_fixed = false;
        if (spec_.left_only()) {
            out = l;
            out_fixed = fixed(0);
        } else if (l && r && fixed(0) && fixed(1)) {
            out =
                make_shape(*l, *r, spec_.shared_keys, spec_.left_suffix, spec_.right_suffix).schema;
            out_fixed = true;
        }
        OpenedStage opened(make_join_operator(spec_, ctx), out);
        opened.fixed_schema = out_fixed;
        opened.checkpoints = false; // the build side is not part of a checkpoint
        return opened;
    }

private:
    JoinSpec spec_;
};

struct JoinOptions {
    std::vector<std::string> on;
    std::vector<std::string> left_on;
    std::vector<std::string> right_on;
    JoinType type = JoinType::Inner;
    std::vector<std::string> suffixes = {"", "_right"};
    std::string build = "right";
};

const OptionTable<JoinOptions>& join_options() {
    static const auto table =
        OptionTable<JoinOptions>()
            .add("on", &JoinOptions::on,
                 {.description = "The key field(s), named alike in both inputs; written once in "
                                 "the output. Or give left_on and right_on.",
                  .example = "\"customer_id\""})
            .add("left_on", &JoinOptions::left_on,
                 {.description = "The key field(s) of the left input (the first of `inputs`), "
                                 "paths and expressions allowed."})
            .add("right_on", &JoinOptions::right_on,
                 {.description = "The key field(s) of the right input, as many as left_on."})
            .add_choice("type", &JoinOptions::type,
                        {{"inner", JoinType::Inner},
                         {"left", JoinType::Left},
                         {"right", JoinType::Right},
                         {"full", JoinType::Full},
                         {"semi", JoinType::Semi},
                         {"anti", JoinType::Anti}},
                        {.description = "inner: matching pairs; left/right/full: also the "
                                        "records of that side (both) without a match, the other "
                                        "side's fields null; semi: left records with a match; "
                                        "anti: left records without one."})
            .add("suffixes", &JoinOptions::suffixes,
                 {.description = "Added to non-key field names both inputs have: [left, right]."})
            .add("build", &JoinOptions::build,
                 {.description = "The input held in memory: \"right\" (default) or \"left\". "
                                 "Build on the smaller one; output follows the other's order.",
                  .choices = {"left", "right"}});
    return table;
}

std::unique_ptr<Stage> build_join(BuildContext& ctx, const JoinOptions& o) {
    JoinSpec spec;
    spec.type = o.type;
    spec.build_left = o.build == "left";
    if (o.suffixes.size() != 2) {
        ctx.error("suffixes", "'suffixes' must hold two strings: [left, right]");
        return nullptr;
    }
    spec.left_suffix = o.suffixes[0];
    spec.right_suffix = o.suffixes[1];
    if (spec.left_suffix == spec.right_suffix) {
        ctx.error("suffixes", "the two suffixes must differ, or clashing names stay clashing");
        return nullptr;
    }
    if (!o.on.empty()) {
        if (!o.left_on.empty() || !o.right_on.empty()) {
            ctx.error("on", "give either 'on' or 'left_on' and 'right_on', not both");
            return nullptr;
        }
        for (const std::string& k : o.on) {
            spec.left_keys.push_back(expr::Operand::parse(k));
            spec.right_keys.push_back(expr::Operand::parse(k));
            spec.shared_keys.push_back(k);
        }
    } else {
        if (o.left_on.empty() || o.right_on.empty()) {
            ctx.error(o.left_on.empty() ? "left_on" : "right_on",
                      "join.apply needs its key: on = \"id\", or left_on and right_on");
            return nullptr;
        }
        if (o.left_on.size() != o.right_on.size()) {
            ctx.error("right_on", fmt::format("left_on names {} fields and right_on {}: give as "
                                              "many on each side",
                                              o.left_on.size(), o.right_on.size()));
            return nullptr;
        }
        for (const std::string& k : o.left_on)
            spec.left_keys.push_back(expr::Operand::parse(k));
        for (const std::string& k : o.right_on)
            spec.right_keys.push_back(expr::Operand::parse(k));
    }
    return std::make_unique<JoinStage>(std::move(spec));
}

FunctionDescriptor join_apply() {
    FunctionDescriptor fn;
    fn.name = "join.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Join two inputs on a key (inner, left, right, full, semi, anti)";
    fn.description =
        "Joins its two inputs (inputs = [\"left\", \"right\"]) on key fields: `on` for names "
        "both have, or left_on/right_on. Output records have the left fields, then the right "
        "ones (keys of `on` once; other names both have get `suffixes`). Null keys never "
        "match, as in SQL; 1 and 1.0 are one key, and so are 42 and the text \"42\" (text "
        "written as a plain integer, as CSV numbers and JSON ids given as text; \"007\" and "
        "decimal text such as \"1.10\" stay text); each left record meets every right record "
        "of its key. The right "
        "input is held in a hash table (build = \"left\" holds the left); output follows the "
        "other input's order, with unmatched held records (right/full joins) at the end. "
        "Beyond the stage's share of [global] memory_limit both inputs spill to hash "
        "partitions under state_dir/spill (a grace hash join) and the output keeps the same "
        "order. A run with a join takes no checkpoints: --resume reads both inputs again.";
    fn.options = join_options().specs();
    fn.min_inputs = 2;
    fn.max_inputs = 2;
    fn.needs_whole_input = true;
    fn.shard_key_options = {"on", "left_on", "right_on"};
    fn.factory = bind_options(join_options(), build_join);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::join

namespace conveyor::plugins {

void register_join(Registry& registry) {
    registry.add("join.apply", join::join_apply);
}

} // namespace conveyor::plugins