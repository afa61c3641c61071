#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/registry/registry.hpp"

#include <string>
#include <unordered_map>

namespace conveyor::plugins::flatten {

namespace {

enum class Arrays : std::uint8_t { Keep, Index };

/// flatten.apply's options.
struct FlattenOptions {
    std::string separator = ".";
    Arrays arrays = Arrays::Keep;
    std::vector<std::string> columns;
};

const OptionTable<FlattenOptions>& flatten_options() {
    static const auto table =
        OptionTable<FlattenOptions>()
            .add("separator", &FlattenOptions::separator,
                 {.description = "Joins a parent's name to a child's: user.address.city"})
            .add_choice("arrays", &FlattenOptions::arrays,
                        {{"keep", Arrays::Keep}, {"index", Arrays::Index}},
                        {.description = "\"keep\" leaves arrays as values; \"index\" flattens "
                                        "them too, into fields named by position (tags.0, "
                                        "tags.1, ...)"})
            .add("columns", &FlattenOptions::columns,
                 {.description = "Only these top-level fields are flattened (default: all)",
                  .example = "[\"user\", \"order\"]"});
    return table;
}

/// Turns nested objects into fields named by their path, a batch at a time. The output schema
/// is the union of the flattened names in the order first seen; consecutive batches with the
/// same names share one schema object, so downstream per-schema caches stay warm.
class FlattenOperator final : public Operator {
public:
    FlattenOperator(const FlattenOptions& options, StageErrors* errors)
        : options_(options), errors_(errors) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        const Schema& in = batch.schema();
        const std::size_t rows = batch.rows();
        flatten_top_.assign(in.size(), options_.columns.empty());
        for (const std::string& c : options_.columns)
            if (auto i = in.find(c)) flatten_top_[*i] = true;

        names_.clear();
        index_.clear();
        cells_.clear();
        row_start_.assign(1, 0);
        for (std::size_t r = 0; r < rows; ++r) {
            const auto row = batch.row(r);
            const std::size_t first = cells_.size();
            bool ok = true;
            for (std::size_t c = 0; c < in.size() && ok; ++c) {
                if (row[c].is_absent()) continue;
                path_ = in.name(c);
                ok = flatten_top_[c] ? add_nested(row[c], first) : add(row[c], first);
            }
            if (!ok) {
                cells_.resize(first);
                Error e(ErrorKind::Data, "flattening gives the field '" + collision_ +
                                             "' twice (a field already has that name)");
                if (!errors_) return fail(std::move(e));
                if (Status st = errors_->record_failed(in, row, std::move(e)); !st) return st;
            }
            row_start_.push_back(cells_.size());
        }

        if (names_ != last_names_ || !last_schema_) {
            last_names_ = names_;
            last_schema_ = make_schema(names_);
        }
        Batch result(last_schema_, rows);
        result.share_storage_of(batch);
        for (std::size_t r = 0; r < rows; ++r) {
            if (row_start_[r] == row_start_[r + 1] && !has_fields(batch.row(r))) {
                result.append_row(); // a record without fields stays a record
                continue;
            }
            if (row_start_[r] == row_start_[r + 1]) continue; // failed above
            auto dst = result.append_row();
            for (std::size_t k = row_start_[r]; k < row_start_[r + 1]; ++k)
                dst[cells_[k].first] = cells_[k].second;
        }
        result.set_payload_bytes(batch.payload_bytes());
        if (result.rows() > 0) out.emit(std::move(result));
        return {};
    }

private:
    static bool has_fields(std::span<const Value> row) {
        for (const Value& v : row)
            if (!v.is_absent()) return true;
        return false;
    }

    /// Records value `v` under the current path; false on a name the record already used.
    bool add(const Value& v, std::size_t first) {
        auto [it, fresh] = index_.try_emplace(path_, names_.size());
        if (fresh) names_.push_back(path_);
        for (std::size_t k = first; k < cells_.size(); ++k) {
            if (cells_[k].first == it->second) {
                collision_ = path_;
                return false;
            }
        }
        cells_.emplace_back(it->second, v);
        return true;
    }

    bool add_nested(const Value& v, std::size_t first) {
        const bool object = v.kind() == Kind::Object && !v.as_object().empty();
        const bool array =
            options_.arrays == Arrays::Index && v.kind() == Kind::Array && !v.as_array().empty();
        if (!object && !array) return add(v, first);
        const std::size_t base = path_.size();
        if (object) {
            for (const Member& m : v.as_object()) {
                path_.resize(base);
                path_ += options_.separator;
                path_ += m.key;
                if (!add_nested(m.value, first)) return false;
            }
        } else {
            const auto items = v.as_array();
            for (std::size_t i = 0; i < items.size(); ++i) {
                path_.resize(base);
                path_ += options_.separator;
                path_ += std::to_string(i);
                if (!add_nested(items[i], first)) return false;
            }
        }
        path_.resize(base);
        return true;
    }

    const FlattenOptions& options_;
    StageErrors* errors_;
    std::vector<bool> flatten_top_;
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<std::pair<std::size_t, Value>> cells_; ///< (output column, value) per row
    std::vector<std::size_t> row_start_;
    std::string path_;
    std::string collision_;
    std::vector<std::string> last_names_;
    SchemaRef last_schema_;
};

class FlattenStage final : public Stage {
public:
    explicit FlattenStage(FlattenOptions options) : options_(std::move(options)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        // The output fields depend on the data, so downstream stages cannot know them early.
        OpenedStage opened(std::make_unique<FlattenOperator>(options_, ctx.errors), nullptr);
        opened.checkpoints = true; // stateless
        return opened;
    }

private:
    FlattenOptions options_;
};

std::unique_ptr<Stage> build_flatten(BuildContext& ctx, FlattenOptions o) {
    if (o.separator.empty()) {
        ctx.error("separator", "'separator' cannot be empty: user and address would run "
                               "together as useraddress");
        return nullptr;
    }
    return std::make_unique<FlattenStage>(std::move(o));
}

} // namespace

} // namespace conveyor::plugins::flatten

namespace conveyor::plugins {

/// flatten.apply's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor flatten_apply_descriptor() {
    FunctionDescriptor fn;
    fn.name = "flatten.apply";
    fn.role = StageRole::Transform;
    fn.summary = "Turn nested objects into fields named by their path";
    fn.description =
        "Replaces each nested object by one field per leaf, named by its path joined with "
        "`separator` ({\"user\": {\"address\": {\"city\": \"Oslo\"}}} becomes "
        "{\"user.address.city\": \"Oslo\"}), so nested JSON can be written as CSV. Arrays stay "
        "values unless arrays = \"index\" (then tags: [\"a\", \"b\"] becomes tags.0 and "
        "tags.1). Empty objects and arrays stay as they are. `columns` limits flattening to "
        "some top-level fields. Output fields are the union over a batch's records in the "
        "order first seen; a record that would get one name twice (a field literally named "
        "\"a.b\" beside an object a with a member b) is a record error.";
    fn.options = flatten::flatten_options().specs();
    fn.factory = bind_options(flatten::flatten_options(), flatten::build_flatten);
    return fn;
}

void register_flatten(Registry& registry) {
    registry.add("flatten.apply", flatten_apply_descriptor);
}

} // namespace conveyor::plugins
