#include "conveyor/recordio/csv_read.hpp"

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/io/file_glob.hpp"
#include "conveyor/io/followed_file.hpp"
#include "conveyor/io/record_ranges.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_dialect.hpp"
#include "conveyor/recordio/csv_read_operator.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "conveyor/stage/checkpoint_text.hpp"
#include "conveyor/stage/file_sequence.hpp"
#include "conveyor/stage/following_source.hpp"
#include "conveyor/stage/shard_filter.hpp"

#include <fmt/format.h>
#include <tuple>
#include <unordered_set>

namespace conveyor::recordio::csv {

namespace {

class CsvReadStage final : public Stage {
public:
    explicit CsvReadStage(CsvReadConfig config) : config_(std::move(config)) {}

    [[nodiscard]] bool can_probe() const override { return !config_.follow && config_.path != "-"; }

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (config_.follow) {
            if (ctx.resume) return cannot_resume(ctx);
            auto followed = FollowedFile::open(config_.path, ctx.run, {});
            if (!followed) return std::move(followed).error();
            auto state = std::make_shared<CsvFollowState>();
            OpenContext source_ctx = ctx; // a source has no inputs: nothing to dangle
            source_ctx.input_schemas = {};
            source_ctx.input_schemas_fixed = {};
            FollowingSource::Factory make = [config = config_, source_ctx, state](InputFile segment,
                                                                                  std::size_t) {
                return Result<std::unique_ptr<SourceOperator>>(
                    make_csv_source(std::move(segment), config, source_ctx, state));
            };
            // The header is read when the file has one: the schema is not known yet.
            return OpenedStage(std::unique_ptr<SourceOperator>(std::make_unique<FollowingSource>(
                                   std::move(followed).value(), std::move(make))),
                               nullptr);
        }
        if (is_glob(config_.path) || partition(Partition::Files)) return open_files(ctx);
        auto file = InputFile::open(config_.path, ctx.run);
        if (!file) return std::move(file).error();
        if (ctx.metrics) ctx.metrics->bytes_total.store(file->progress_size().value_or(0));
        // Only a regular file can be read again from a position; stdin cannot, even when it
        // is redirected from a file.
        const bool checkpoints = config_.path != "-" && file->seekable();
        if (ctx.resume && !checkpoints) return cannot_resume(ctx, file->compression());
        const bool rows = config_.shard && config_.shard->partition == Partition::Rows;
        if (rows) CONVEYOR_TRY(check_rows_partitionable(*file));
        if (ctx.mode == ExecutionMode::Streaming && !file->size()) {
            // A pipe in streaming mode: do not wait for the header while the run starts.
            return OpenedStage(make_csv_source(std::move(*file), config_, ctx), nullptr);
        }
        auto op = std::make_unique<CsvReadOperator>(config_, std::move(*file), ctx);
        CONVEYOR_TRY(op->start());
        // The header is read as in a fresh run (same schema), then reading goes on after the
        // records the interrupted run had emitted.
        if (ctx.resume) {
            Status resumed = op->resume(*ctx.resume);
            if (!resumed) return std::move(resumed).error().in_stage(ctx.stage_id);
        }
        if (rows) CONVEYOR_TRY(op->read_share(config_.shard->shard));
        // A regular file is parsed in chunks on the run's workers when it has more than one
        // (a pipe or a compressed file only reads in order).
        if (checkpoints && ctx.run && ctx.run->work_pool && ctx.run->work_pool->size() > 1)
            op->use_workers(*ctx.run->work_pool, config_.chunk_size);
        SchemaRef schema = op->schema();
        // An empty file has no header: no records and no columns to check names against (a
        // cron job's input is sometimes empty; that is not a mistake in the pipeline).
        const bool empty = schema->size() == 0;
        if (empty)
            spdlog::warn("stage '{}': {} is empty (no header, no records)", ctx.stage_id,
                         config_.path);
        std::unique_ptr<SourceOperator> source = std::move(op);
        if (config_.shard && config_.shard->partition == Partition::Hash)
            source =
                keep_shard_records(std::move(source), config_.shard->key, config_.shard->shard);
        OpenedStage opened(std::move(source), std::move(schema));
        // Every record has exactly the header's fields (ragged rows are padded or refused).
        opened.fixed_schema = !empty;
        opened.checkpoints = checkpoints;
        return opened;
    }

private:
    [[nodiscard]] bool partition(Partition p) const noexcept {
        return config_.shard && config_.shard->partition == p;
    }

    /// A glob (or partition = "files"): each file is read by a csv.read of that file alone, one
    /// after the other, so each has its own header (checked against the first file's), its
    /// own compression, error locations and checkpoint positions, and a regular file is still
    /// parsed in chunks on the workers (per file: a file's chunks never run into the next).
    Result<OpenedStage> open_files(const OpenContext& ctx) const {
        return open_sharded_files(config_.path, config_.shard, ctx,
                                  [config = config_](const std::string& p) {
                                      CsvReadConfig one = config;
                                      one.path = p;
                                      one.shard.reset();
                                      return make_csv_read_stage(std::move(one));
                                  });
    }

    /// Standard input, followed and compressed files take no checkpoints, so there is no
    /// position to resume from (a run that had one would not be resumed with them).
    [[nodiscard]] Failure cannot_resume(const OpenContext& ctx,
                                        Compression compressed = Compression::None) const {
        return fail(
            CheckpointText::not_resumable(config_.follow, config_.path, ctx.stage_id, compressed));
    }

    CsvReadConfig config_;
};

} // namespace

std::vector<std::string>
normalise_header(std::vector<std::string> names,
                 std::vector<std::pair<std::string, std::string>>* renamed) {
    // Every name the user wrote is reserved first, so neither a repeat's suffix nor an empty
    // cell's generated name can take a name that some column of the file has.
    std::unordered_set<std::string> taken;
    for (const std::string& name : names)
        if (!name.empty()) taken.insert(name);
    // `base_k` for the first k = 2, 3, ... that is free; taking it reserves it.
    auto next_free = [&taken](const std::string& base) {
        for (std::size_t k = 2;; ++k) {
            std::string candidate = fmt::format("{}_{}", base, k);
            if (taken.insert(candidate).second) return candidate;
        }
    };
    // Repeats of a written name, left to right: the first keeps it, later ones get a suffix.
    std::unordered_set<std::string> seen;
    for (std::string& name : names) {
        if (name.empty() || seen.insert(name).second) continue;
        std::string candidate = next_free(name);
        if (renamed) renamed->emplace_back(name, candidate);
        name = std::move(candidate);
    }
    // Empty cells last: `columnN` for position N, or `columnN_2`, ... when that is taken.
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!names[i].empty()) continue;
        std::string generated = fmt::format("column{}", i + 1);
        names[i] = taken.insert(generated).second ? std::move(generated) : next_free(generated);
    }
    return names;
}

std::unique_ptr<SourceOperator> make_csv_source(InputFile file, const CsvReadConfig& config,
                                                const OpenContext& ctx,
                                                std::shared_ptr<CsvFollowState> follow) {
    return std::make_unique<CsvReadOperator>(config, std::move(file), ctx, std::move(follow));
}

std::unique_ptr<Stage> make_csv_read_stage(CsvReadConfig config) {
    return std::make_unique<CsvReadStage>(std::move(config));
}

} // namespace conveyor::recordio::csv
