// route.apply: sends each record to the named outputs whose condition it meets
// (inputs = ["router.big"] downstream), the rest to the output `unmatched`.

#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/expression.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <cctype>
#include <set>

namespace conveyor::plugins::route {

namespace {

constexpr std::string_view kUnmatched = "unmatched";

enum class Mode : std::uint8_t { First, All };

struct Route {
    std::string name;
    expr::Expression condition;
};

/// Evaluates every route's condition over a whole batch, then emits one batch per output
/// that got records (output k + 1 for route k, the last for `unmatched`), each in input order.
class RouteOperator final : public Operator {
public:
    RouteOperator(const std::vector<Route>& routes, Mode mode, StageErrors* errors)
        : mode_(mode), errors_(errors) {
        for (const Route& r : routes)
            evaluators_.emplace_back(r.condition);
        picks_.resize(routes.size() + 1);
    }

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const std::size_t rows = batch.rows();
        const std::size_t outputs = picks_.size();
        for (auto& p : picks_)
            p.assign(rows, 0);
        for (expr::Evaluator& e : evaluators_)
            e.bind(batch.schema_ref());
        Arena scratch; // strings made while testing; nothing of it is kept
        std::vector<std::size_t> counts(outputs, 0);
        for (std::size_t r = 0; r < rows; ++r) {
            const auto row = batch.row(r);
            bool matched = false;
            bool failed = false;
            for (std::size_t k = 0; k < evaluators_.size(); ++k) {
                const std::optional<bool> pass = evaluators_[k].test(row, scratch);
                if (!pass) {
                    failed = true;
                    Error e(ErrorKind::Data, evaluators_[k].error());
                    if (!errors_) return fail(std::move(e));
                    CONVEYOR_TRY(errors_->record_failed(batch.schema(), row, std::move(e)));
                    break;
                }
                if (!*pass) continue;
                matched = true;
                picks_[k][r] = 1;
                ++counts[k];
                if (mode_ == Mode::First) break;
            }
            if (failed) {
                // A record error: the record goes to no output at all.
                for (std::size_t k = 0; k < evaluators_.size(); ++k)
                    if (picks_[k][r]) {
                        picks_[k][r] = 0;
                        --counts[k];
                    }
                continue;
            }
            if (!matched) {
                picks_[outputs - 1][r] = 1;
                ++counts[outputs - 1];
            }
        }
        // Where the whole batch goes to one output (and nowhere else), it goes as it is.
        std::size_t only = outputs;
        std::size_t total = 0;
        for (std::size_t k = 0; k < outputs; ++k) {
            total += counts[k];
            if (counts[k] == rows && rows != 0) only = k;
        }
        if (total != rows) only = outputs;
        if (only != outputs) {
            out.emit_to(static_cast<std::uint32_t>(only + 1), std::move(batch));
            return {};
        }
        for (std::size_t k = 0; k < outputs; ++k) {
            if (counts[k] == 0) continue;
            Batch part(batch.schema_ref(), counts[k]);
            part.share_storage_of(batch);
            for (std::size_t r = 0; r < rows; ++r)
                if (picks_[k][r]) part.append_row(batch.row(r), batch.lineage(r));
            out.emit_to(static_cast<std::uint32_t>(k + 1), std::move(part));
        }
        return {};
    }

private:
    Mode mode_;
    StageErrors* errors_;
    std::vector<expr::Evaluator> evaluators_;
    std::vector<std::vector<std::uint8_t>> picks_; ///< per output: which rows go there
};

class RouteStage final : public Stage {
public:
    RouteStage(std::vector<Route> routes, Mode mode) : routes_(std::move(routes)), mode_(mode) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed)
            for (const Route& r : routes_)
                if (auto d = r.condition.check_fields(*in))
                    return fail(ErrorKind::Config,
                                "routes." + r.name + ": " + d->render(r.condition.text()));
        OpenedStage opened(std::make_unique<RouteOperator>(routes_, mode_, ctx.errors), in);
        opened.fixed_schema = fixed;
        opened.checkpoints = true; // stateless: a checkpoint marker just passes on
        return opened;
    }

    [[nodiscard]] std::vector<NamedOutput> named_outputs() const override {
        std::vector<NamedOutput> out;
        for (const Route& r : routes_)
            out.push_back({r.name, "records for which '" + r.condition.text() + "' is true"});
        out.push_back({std::string(kUnmatched), "records that meet no route's condition"});
        return out;
    }
    [[nodiscard]] bool has_main_output() const override { return false; }

private:
    std::vector<Route> routes_;
    Mode mode_;
};

struct RouteOptions {
    StringPairs routes;
    Mode mode = Mode::First;
};

const OptionTable<RouteOptions>& route_options() {
    static const auto table =
        OptionTable<RouteOptions>()
            .add("routes", &RouteOptions::routes,
                 {.description = "Output name = condition, in order, e.g. { big = \"amount >= "
                                 "1000\", eu = \"country in ['DE', 'FR']\" }. Downstream stages "
                                 "read an output as inputs = [\"<this stage>.<name>\"]; records "
                                 "that meet no condition go to the output 'unmatched'.",
                  .required = true,
                  .example = "{ big = \"amount >= 1000\" }"})
            .add_choice("mode", &RouteOptions::mode, {{"first", Mode::First}, {"all", Mode::All}},
                        {.description = "first: each record goes to the first route whose "
                                        "condition it meets; all: to every such route (a copy "
                                        "each)."});
    return table;
}

bool valid_output_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    return true;
}

std::unique_ptr<Stage> build_route(BuildContext& ctx, const RouteOptions& o) {
    if (o.routes.empty()) {
        ctx.error("routes", "'routes' is empty: give at least one, e.g. routes = { big = "
                            "\"amount >= 1000\" }");
        return nullptr;
    }
    std::vector<Route> routes;
    std::set<std::string> names;
    for (const auto& [name, text] : o.routes) {
        if (!valid_output_name(name)) {
            ctx.error("routes", "route name '" + name +
                                    "' may only hold letters, digits, '_' and '-' (it is read "
                                    "as inputs = [\"<stage>." +
                                    name + "\"])");
            return nullptr;
        }
        if (name == kUnmatched) {
            ctx.error("routes", "'unmatched' is the output of records that meet no route: "
                                "name this route otherwise");
            return nullptr;
        }
        if (!names.insert(name).second) {
            ctx.error("routes", "route '" + name + "' is given twice");
            return nullptr;
        }
        auto e = expr::Expression::compile(text);
        if (!e) {
            ctx.error("routes", "routes." + name + ": " + e.error().message);
            return nullptr;
        }
        if (e->type() != expr::Type::Bool && e->type() != expr::Type::Any &&
            e->type() != expr::Type::Null) {
            ctx.error("routes", "routes." + name +
                                    ": a route needs a condition (true or false); this "
                                    "expression gives a " +
                                    std::string(expr::to_string(e->type())));
            return nullptr;
        }
        routes.push_back({name, std::move(*e)});
    }
    return std::make_unique<RouteStage>(std::move(routes), o.mode);
}

FunctionDescriptor route_apply() {
    FunctionDescriptor fn;
    fn.name = "route.apply";
    fn.keeps_lineage = true;
    fn.role = StageRole::Transform;
    fn.summary = "Send records to named outputs by condition";
    fn.description =
        "Sends each record to named outputs by condition: `routes = { big = \"amount >= 1000\", "
        "eu = \"country in ['DE', 'FR']\" }`. With mode = \"first\" (the default) a record goes "
        "to the first route it meets, with \"all\" to every one; records that meet none go to "
        "the output `unmatched`. Downstream stages read an output with inputs = "
        "[\"<stage>.<route>\"] (a plain inputs = [\"<stage>\"] is a load error: this stage has "
        "only named outputs). Records keep their input order within each output. A record a "
        "condition fails on (a failed cast) is a record error that follows the error strategy.";
    fn.options = route_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(route_options(), build_route);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::route

namespace conveyor::plugins {

void register_route(Registry& registry) {
    registry.add("route.apply", route::route_apply);
}

} // namespace conveyor::plugins
