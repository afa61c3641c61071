#include "json_write.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/core/work_pool.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/flush_schedule.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "conveyor/stage/split_sink.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace conveyor::plugins::json {

namespace {

/// Hand a serialised chunk to the file once it is this big, so one huge batch does not need
/// its whole text in memory.
constexpr std::size_t kChunk = 1 << 20;

constexpr std::string_view kSinkName = "json.write";

std::string_view format_name(JsonFormat format) {
    return format == JsonFormat::Jsonl ? "jsonl" : "records";
}

/// `"key":` for each column of a schema, escaped once per schema (json::KeyCache).
using Keys = std::vector<std::string>;

/// How records are written: the same bytes whichever thread encodes them.
struct Encoding {
    JsonFormat format = JsonFormat::Jsonl;
    bool pretty = false;

    /// Appends row `r` of `batch`; `first`: no record precedes it in the output.
    void append(std::string& buf, const Batch& batch, std::size_t r, const Keys& keys,
                bool first) const {
        const std::span<const Value> row = batch.row(r);
        if (format == JsonFormat::Jsonl) {
            append_compact(buf, row, keys);
            buf.push_back('\n');
            return;
        }
        buf.append(first ? "[\n" : ",\n");
        if (pretty) {
            buf.append("  ");
            conveyor::json::append_record_pretty(buf, batch.schema(), row, 2, 1);
        } else {
            append_compact(buf, row, keys);
        }
    }

    static void append_compact(std::string& buf, std::span<const Value> row, const Keys& keys) {
        conveyor::json::append_record_compact(buf, row, keys);
    }
};

/// A batch encoded on a worker: its text and how many records it holds.
struct Encoded {
    std::string text;
    std::size_t rows = 0;
    std::uint64_t replaced = 0; ///< sequences that are not UTF-8, written as U+FFFD
};

class JsonWriteOperator final : public Operator {
public:
    /// `pool`: encode batches on the run's workers (a batch mode run with more than one).
    JsonWriteOperator(OutputFile file, const JsonWriteConfig& config, bool streaming,
                      StageMetrics* metrics, WorkPool* pool)
        : file_(std::move(file)), encoding_{config.format,
                                            config.pretty && config.format == JsonFormat::Records},
          metrics_(metrics), append_(config.writing.append),
          flush_each_batch_(streaming || config.writing.append),
          schedule_(FlushSchedule::for_sink(config.writing.flush_interval_ms, config.writing.append,
                                            config.writing.fsync_interval_ms)) {
        // Two batches a worker in flight: the next one encodes while one is written.
        if (pool && !flush_each_batch_) jobs_.emplace(*pool, 2 * pool->size());
    }

    /// Records are written as they arrive, whatever input they come from: under `dag` that is
    /// one input after another in the order listed; the streaming executors interleave them.
    /// Nothing is held back beyond the batches being encoded, so memory stays bounded.
    Status push(std::size_t /*port*/, Batch&& batch, Emitter& /*out*/) override {
        const std::size_t rows = batch.rows();
        ++since_checkpoint_;
        Status s = write(std::move(batch));
        // As csv.write: a batch that fails does not reach the output, so all its records
        // failed and records in = out + failed.
        if (!s && metrics_) metrics_->records_failed.fetch_add(rows, std::memory_order_relaxed);
        return s;
    }

    Status finish(Emitter& /*out*/) override {
        CONVEYOR_TRY(write_encoded(true));
        if (replaced_ > 0)
            warn_at_end(metrics_, "json.write", conveyor::json::replacement_warning(replaced_));
        if (encoding_.format == JsonFormat::Records) buf_.append(any_ ? "\n]\n" : "[]\n");
        CONVEYOR_TRY(flush());
        return file_.commit();
    }

    void abort() noexcept override { file_.abort(); }
    Status suspend() override {
        CONVEYOR_TRY(write_encoded(true));
        CONVEYOR_TRY(flush());
        std::string().swap(buf_);
        return file_.suspend();
    }
    [[nodiscard]] std::optional<FlushSchedule::Clock::time_point> timer() const override {
        if (!flush_each_batch_) return std::nullopt;
        return schedule_.next(file_.buffered() > 0);
    }
    Status on_timer(Emitter& /*out*/) override {
        return conveyor::write_out(schedule_, file_, FlushSchedule::Clock::now());
    }
    /// path = "-" and the reader closed standard output (`| head`).
    [[nodiscard]] bool satisfied() const noexcept override { return file_.reader_gone(); }

    /// Files only (OpenedStage::checkpoints). See json_write.hpp for the text.
    Result<std::string> checkpoint(const Checkpoint& cp) override {
        CONVEYOR_TRY(write_encoded(true));
        // A checkpoint waits for every batch handed to the workers: when they come after
        // every batch or so, nothing overlaps and a hand-off only costs, so encode here.
        encode_here_ = since_checkpoint_ < 2;
        since_checkpoint_ = 0;
        CONVEYOR_TRY(flush());
        auto at =
            conveyor::checkpoint_out(schedule_, file_, cp.durable, FlushSchedule::Clock::now());
        if (!at) return std::move(at).error();
        std::string state = "\"format\":";
        conveyor::json::append_string(state, format_name(encoding_.format));
        state += encoding_.pretty ? ",\"pretty\":true" : ",\"pretty\":false";
        state += any_ ? ",\"array_open\":true" : ",\"array_open\":false";
        return sink_checkpoint_text(kSinkName, file_.path(), append_, *at, state);
    }

    /// Carries on after a checkpoint (read_resume_state) whose output `file_` was adopted from.
    void restore(bool array_open) { any_ = array_open; }

private:
    Status write(Batch&& batch) {
        if (since_checkpoint_ > 2) encode_here_ = false; // checkpoints are rare again
        if (jobs_ && !encode_here_) return encode_on_workers(std::move(batch));
        CONVEYOR_TRY(write_encoded(true)); // what the workers still have goes first
        return write_batch(batch);
    }

    Status write_batch(const Batch& batch) {
        if (batch.empty()) return {};
        const Keys& keys = *keys_.of(batch.schema_ref());
        const std::uint64_t replaced_before = conveyor::json::replaced_on_this_thread();
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            encoding_.append(buf_, batch, r, keys, !any_);
            any_ = true;
            if (buf_.size() >= kChunk) CONVEYOR_TRY(flush());
        }
        replaced_ += conveyor::json::replaced_on_this_thread() - replaced_before;
        CONVEYOR_TRY(flush());
        if (!flush_each_batch_) return {};
        return conveyor::write_out(schedule_, file_, FlushSchedule::Clock::now());
    }

    /// Writes what the workers have encoded, in order, then hands `batch` to them (waiting for
    /// the oldest when the window is full).
    Status encode_on_workers(Batch&& batch) {
        if (batch.empty()) return {};
        std::shared_ptr<const Keys> keys = keys_.of(batch.schema_ref());
        const bool first = !any_;
        any_ = true;
        CONVEYOR_TRY(write_encoded(false));
        jobs_->submit([b = std::move(batch), keys = std::move(keys), enc = encoding_, first] {
            Encoded e;
            e.rows = b.rows();
            const std::uint64_t replaced_before = conveyor::json::replaced_on_this_thread();
            for (std::size_t r = 0; r < b.rows(); ++r)
                enc.append(e.text, b, r, *keys, first && r == 0);
            e.replaced = conveyor::json::replaced_on_this_thread() - replaced_before;
            return e;
        });
        return {};
    }

    /// Writes the encoded batches in order: every one (`all`), or those done and, while the
    /// window is full, the oldest (encoding it here if no worker has started it).
    Status write_encoded(bool all) {
        if (!jobs_) return {};
        while (!jobs_->empty() && (all || jobs_->full() || jobs_->front_done())) {
            Encoded e = jobs_->take();
            replaced_ += e.replaced;
            const std::size_t n = e.text.size();
            Status s = file_.write_and_clear(e.text);
            if (!s) {
                // The batch never reaches the output (its push was counted as written).
                if (metrics_) metrics_->records_failed.fetch_add(e.rows, std::memory_order_relaxed);
                return s;
            }
            if (metrics_) metrics_->bytes_written.fetch_add(n, std::memory_order_relaxed);
        }
        return {};
    }

    Status flush() {
        if (buf_.empty()) return {};
        const std::size_t n = buf_.size();
        CONVEYOR_TRY(file_.write_and_clear(buf_));
        if (metrics_) metrics_->bytes_written.fetch_add(n, std::memory_order_relaxed);
        return {};
    }

    OutputFile file_;
    Encoding encoding_;
    StageMetrics* metrics_;
    bool append_;
    bool flush_each_batch_;
    FlushSchedule schedule_;
    bool any_ = false; ///< a record was written (or handed to the workers)
    std::string buf_;
    conveyor::json::KeyCache keys_;
    std::optional<OrderedJobs<Encoded>> jobs_;
    std::size_t since_checkpoint_ = 0; ///< batches pushed since the last checkpoint
    bool encode_here_ = false;         ///< checkpoints come too often for the workers to help
    std::uint64_t replaced_ = 0;       ///< sequences that are not UTF-8, written as U+FFFD
};

/// The writer's state in a checkpoint: whether the array has an element (the next one needs a
/// separator, finish() closes it with "\n]"). Fails when the checkpoint is of another format.
Result<bool> read_resume_state(const SinkResume& resume, const JsonWriteConfig& config) {
    auto format = resume.get_string("format");
    if (!format) return std::move(format).error();
    auto pretty = resume.get_bool("pretty");
    if (!pretty) return std::move(pretty).error();
    const bool pretty_now = config.pretty && config.format == JsonFormat::Records;
    if (*format != format_name(config.format) || *pretty != pretty_now)
        return resume.error("the checkpoint was taken with format \"" + *format + "\"" +
                            (*pretty ? " and pretty = true" : "") +
                            ", which this stage no longer has");
    return resume.get_bool("array_open");
}

class JsonWriteStage final : public Stage {
public:
    explicit JsonWriteStage(JsonWriteConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (config_.split) // one writer per file, each this stage aimed at that file
            return open_split_stage(*config_.split, config_.writing.append, ctx,
                                    split_file_writer<JsonWriteStage>(config_));
        const bool to_file = config_.path != "-";
        if (ctx.resume && !to_file)
            return fail(ErrorKind::Runtime, "standard output cannot be resumed from a checkpoint",
                        "<stdout>");
        // Everything in the text is checked before the output is adopted: a failure after that
        // would delete it.
        std::optional<SinkResume> resume;
        bool array_open = false;
        if (ctx.resume) {
            auto parsed =
                SinkResume::parse(kSinkName, *ctx.resume, config_.path, config_.writing.append);
            if (!parsed) return std::move(parsed).error();
            auto state = read_resume_state(*parsed, config_);
            if (!state) return std::move(state).error();
            array_open = *state;
            resume = std::move(*parsed);
        }
        auto file = open_sink_output(config_.path, config_.writing, resume ? &*resume : nullptr,
                                     ctx.run, !config_.split_member);
        if (!file.ok()) return std::move(file).error();
        // A device or FIFO is written directly: nothing a resumed run could take up again.
        const bool checkpoints = to_file && !file->is_special();
        // Batches are encoded on the run's workers when it has more than one, for a file
        // (standard output and devices are written as batches come, one at a time).
        WorkPool* pool = ctx.run ? ctx.run->work_pool : nullptr;
        if (!checkpoints || config_.split_member || !pool || pool->size() < 2) pool = nullptr;
        auto op = std::make_unique<JsonWriteOperator>(
            std::move(*file), config_, ctx.mode == ExecutionMode::Streaming, ctx.metrics, pool);
        if (resume) op->restore(array_open);
        OpenedStage opened(std::unique_ptr<Operator>(std::move(op)), nullptr);
        opened.checkpoints = checkpoints;
        return opened;
    }

private:
    JsonWriteConfig config_;
};

} // namespace

std::unique_ptr<Stage> make_json_write(JsonWriteConfig config) {
    return std::make_unique<JsonWriteStage>(std::move(config));
}

} // namespace conveyor::plugins::json
