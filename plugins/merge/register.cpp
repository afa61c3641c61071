#include "conveyor/core/per_schema.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>

namespace conveyor::plugins::merge {

namespace {

/// For one input schema: the output schema and where each output field comes from.
struct Mapping {
    SchemaRef schema;
    std::vector<std::size_t> source;    ///< Batch::npos: not in this input -> null
    std::vector<std::uint8_t> in_union; ///< field belongs to the union (absent -> null)
};

/// Concatenates its inputs. Every record gets the union of the inputs' fields (known when the
/// stage opens, in input order then field order): fields an input lacks become null. Fields
/// that show up later in a record and are not in the union are kept, after the union's.
class MergeOperator final : public Operator {
public:
    explicit MergeOperator(SchemaRef union_schema) : union_(std::move(union_schema)) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const Mapping& m =
            mappings_.get(batch.schema_ref(), [&](const Schema& in) { return map(in); });
        const std::size_t rows = batch.rows();
        const std::size_t width = m.schema->size();
        Batch merged(m.schema, rows);
        merged.share_storage_of(batch);
        for (std::size_t r = 0; r < rows; ++r) {
            auto src = batch.row(r);
            auto dst = merged.append_row();
            for (std::size_t c = 0; c < width; ++c) {
                const std::size_t s = m.source[c];
                Value v = s == Batch::npos ? Value::absent() : src[s];
                if (v.is_absent() && m.in_union[c]) v = Value::null();
                dst[c] = v;
            }
        }
        merged.set_payload_bytes(batch.payload_bytes());
        out.emit(std::move(merged));
        return {};
    }

private:
    Mapping map(const Schema& in) const {
        Mapping m;
        std::vector<std::string> names;
        if (union_) {
            for (std::size_t i = 0; i < union_->size(); ++i) {
                names.push_back(union_->name(i));
                m.source.push_back(in.find(union_->name(i)).value_or(Batch::npos));
                m.in_union.push_back(1);
            }
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (union_ && union_->find(in.name(i))) continue;
            names.push_back(in.name(i));
            m.source.push_back(i);
            m.in_union.push_back(0);
        }
        m.schema =
            union_ && names.size() == union_->size() ? union_ : make_schema(std::move(names));
        return m;
    }

    SchemaRef union_;
    PerSchema<Mapping> mappings_;
};

class MergeStage final : public Stage {
public:
    Result<OpenedStage> open(const OpenContext& ctx) const override {
        std::vector<std::string> names;
        bool fixed = !ctx.input_schemas.empty();
        for (std::size_t p = 0; p < ctx.input_schemas.size(); ++p) {
            const SchemaRef& s = ctx.input_schemas[p];
            fixed = fixed && p < ctx.input_schemas_fixed.size() && ctx.input_schemas_fixed[p];
            if (!s) continue;
            for (const std::string& n : s->names())
                if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
        }
        SchemaRef u = names.empty() ? nullptr : make_schema(std::move(names));
        OpenedStage opened(std::make_unique<MergeOperator>(u), u);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless: the executor aligns the markers of the inputs
        return opened;
    }
};

FunctionDescriptor merge_apply() {
    FunctionDescriptor fn;
    fn.name = "merge.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Concatenate several inputs into one stream of records";
    fn.description =
        "Passes on every record of every input. Under executor = \"dag\" the inputs come one "
        "after another in the order listed; under \"channel\" and \"async\" records come from "
        "whichever input has them. Every record gets the union of the inputs' fields (input "
        "order, then field order); a field an input does not have is null.";
    fn.min_inputs = 1;
    fn.max_inputs = kUnboundedInputs;
    fn.factory = [](BuildContext&) -> std::unique_ptr<Stage> {
        return std::make_unique<MergeStage>();
    };
    return fn;
}

} // namespace

} // namespace conveyor::plugins::merge

namespace conveyor::plugins {

void register_merge(Registry& registry) {
    registry.add("merge.apply", merge::merge_apply);
}

} // namespace conveyor::plugins
