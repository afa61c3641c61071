// sample.apply: a random sample of the input. `fraction`: each record is kept with that
// probability (Bernoulli), passed on as it comes. `count`: exactly that many records (or all,
// when fewer come) chosen uniformly (reservoir sampling, Vitter's algorithm R), put out at the
// end in input order. `seed` makes either reproducible.

#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/option/option_table.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace conveyor::plugins::sample {

namespace {

struct SampleSpec {
    std::optional<double> fraction;
    std::optional<std::uint64_t> count;
    std::optional<std::uint64_t> seed;
};

std::mt19937_64 rng_for(const SampleSpec& spec) {
    if (spec.seed) return std::mt19937_64(*spec.seed);
    std::random_device rd;
    return std::mt19937_64((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
}

class BernoulliOperator final : public Operator {
public:
    BernoulliOperator(const SampleSpec& spec, StageMetrics* metrics)
        : rng_(rng_for(spec)), fraction_(*spec.fraction), metrics_(metrics) {}

    Status push(std::size_t, Batch&& batch, Emitter& out) override {
        keep_.resize(batch.rows());
        std::size_t kept = 0;
        for (auto& k : keep_) {
            k = unit_(rng_) < fraction_ ? 1 : 0;
            kept += k;
        }
        if (metrics_)
            metrics_->records_filtered.fetch_add(batch.rows() - kept, std::memory_order_relaxed);
        if (kept == 0) return {};
        if (kept != batch.rows()) batch.retain_rows(keep_);
        out.emit(std::move(batch));
        return {};
    }

private:
    std::mt19937_64 rng_;
    std::uniform_real_distribution<double> unit_{0.0, 1.0};
    double fraction_;
    StageMetrics* metrics_;
    std::vector<std::uint8_t> keep_;
};

/// A record held by the reservoir, with its own copy of the values it points to.
struct Held {
    std::uint64_t seq = 0;
    SchemaRef schema;
    std::vector<Value> row;
    std::shared_ptr<Arena> arena;
};

class ReservoirOperator final : public Operator {
public:
    ReservoirOperator(const SampleSpec& spec, std::size_t batch_size, StageMetrics* metrics)
        : rng_(rng_for(spec)), count_(*spec.count),
          batch_size_(std::max<std::size_t>(batch_size, 1)), metrics_(metrics) {}

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        for (std::size_t r = 0; r < batch.rows(); ++r, ++seen_) {
            if (held_.size() < count_) {
                held_.emplace_back();
                hold(held_.back(), batch, r);
                continue;
            }
            // Record number seen_ (0-based) replaces a held one with probability count/(seen+1).
            const std::uint64_t j = std::uniform_int_distribution<std::uint64_t>(0, seen_)(rng_);
            if (j < count_) hold(held_[j], batch, r);
        }
        return {};
    }

    Status finish(Emitter&) override {
        std::sort(held_.begin(), held_.end(),
                  [](const Held& a, const Held& b) { return a.seq < b.seq; });
        if (metrics_)
            metrics_->records_filtered.fetch_add(seen_ - held_.size(), std::memory_order_relaxed);
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        std::optional<Batch> cur;
        std::size_t n = 0;
        while (next_ < held_.size() && n < batch_size_) {
            Held& h = held_[next_];
            if (cur && cur->schema_ref() != h.schema) break;
            if (!cur) cur.emplace(h.schema, batch_size_);
            cur->keep_alive(h.arena);
            cur->append_row(h.row);
            ++next_;
            ++n;
        }
        if (cur) out.emit(std::move(*cur));
        return next_ < held_.size();
    }

private:
    void hold(Held& h, const Batch& batch, std::size_t r) {
        h.seq = seen_;
        h.schema = batch.schema_ref();
        const auto row = batch.row(r);
        h.arena = std::make_shared<Arena>(256);
        h.row.resize(row.size());
        for (std::size_t c = 0; c < row.size(); ++c)
            h.row[c] = copy_into(*h.arena, row[c]);
    }

    std::mt19937_64 rng_;
    std::uint64_t count_;
    std::size_t batch_size_;
    StageMetrics* metrics_;
    std::uint64_t seen_ = 0;
    std::vector<Held> held_;
    std::size_t next_ = 0;
};

class SampleStage final : public Stage {
public:
    explicit SampleStage(SampleSpec spec) : spec_(spec) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        std::unique_ptr<Operator> op;
        if (spec_.fraction)
            op = std::make_unique<BernoulliOperator>(spec_, ctx.metrics);
        else
            op = std::make_unique<ReservoirOperator>(spec_, ctx.batch_size, ctx.metrics);
        OpenedStage opened(std::move(op), in);
        opened.fixed_schema = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        // A resumed run would draw other numbers: no checkpoints.
        opened.checkpoints = false;
        return opened;
    }

private:
    SampleSpec spec_;
};

struct SampleOptions {
    std::optional<double> fraction;
    std::optional<std::int64_t> count;
    std::optional<std::int64_t> seed;
};

const OptionTable<SampleOptions>& sample_options() {
    static const auto table =
        OptionTable<SampleOptions>()
            .add("fraction", &SampleOptions::fraction,
                 {.description = "Keep each record with this probability (0 to 1), passing "
                                 "records on as they come. Exactly one of fraction and count.",
                  .min = 0,
                  .max = 1,
                  .example = "0.1"})
            .add("count", &SampleOptions::count,
                 {.description = "Keep exactly this many records (all of them when fewer "
                                 "come), chosen uniformly; they go out at the end of the input, "
                                 "in input order. Memory: the records kept.",
                  .min = 0,
                  .max = 100000000})
            .add("seed", &SampleOptions::seed,
                 {.description = "Seed of the random numbers: the same seed and input give the "
                                 "same sample. Without it every run differs.",
                  .min = 0});
    return table;
}

std::unique_ptr<Stage> build_sample(BuildContext& ctx, const SampleOptions& o) {
    if (o.fraction.has_value() == o.count.has_value()) {
        ctx.error(o.fraction ? "count" : "fraction",
                  "give exactly one of 'fraction' (keep each record with that probability) and "
                  "'count' (keep that many records)");
        return nullptr;
    }
    if (o.count && ctx.global().shard) {
        // Each shard would keep `count` of its own share: N shards, N times as many.
        ctx.error("count", "sample.apply with count samples the whole input, and a sharded run "
                           "gives each shard a share (each would keep " +
                               std::to_string(*o.count) +
                               " records): use fraction, or run it on the finalized output, or "
                               "without --shard");
        return nullptr;
    }
    SampleSpec spec;
    spec.fraction = o.fraction;
    if (o.count) spec.count = static_cast<std::uint64_t>(*o.count);
    if (o.seed) spec.seed = static_cast<std::uint64_t>(*o.seed);
    return std::make_unique<SampleStage>(spec);
}

FunctionDescriptor sample_apply() {
    FunctionDescriptor fn;
    fn.name = "sample.apply";
    fn.role = StageRole::Transform;
    fn.summary = "A random sample: a fraction of the records, or exactly N of them";
    fn.description =
        "fraction = 0.1 keeps each record with probability 0.1 (a Bernoulli sample, streamed). "
        "count = 1000 keeps 1000 records chosen uniformly from the whole input (reservoir "
        "sampling), put out at the end in input order; it holds those records only. seed = 42 "
        "gives the same sample on every run of the same input. Records left out are counted "
        "as filtered.";
    fn.options = sample_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = 1;
    fn.factory = bind_options(sample_options(), build_sample);
    return fn;
}

} // namespace

} // namespace conveyor::plugins::sample

namespace conveyor::plugins {

void register_sample(Registry& registry) {
    registry.add("sample.apply", sample::sample_apply);
}

} // namespace conveyor::plugins
