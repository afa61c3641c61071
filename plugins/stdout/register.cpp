#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/io/flush_schedule.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/csv_write.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/registry/sink_options.hpp"
#include "table.hpp"

#include <unistd.h>

namespace conveyor::plugins {

namespace {

/// `format`; Csv is written by csv.write's writer (LimitedCsvStage), never by StdoutOperator.
enum class Format { Table, Json, Jsonl, Csv };

/// Writes records to standard output, a batch at a time (flushed after each batch, so a
/// streaming run shows records as they come). A reader that goes away (`| head`) ends the
/// stage quietly: it takes no more input.
class StdoutOperator final : public Operator {
public:
    /// `stop_at_limit`: once `limit` records are shown the rest of the input is not read
    /// (an explicit limit, like head); without it the rest is counted (the table's total).
    StdoutOperator(OutputFile out, Format format, std::optional<std::size_t> limit,
                   bool stop_at_limit, std::chrono::milliseconds flush_interval,
                   StageMetrics* metrics, bool streaming)
        : out_(std::move(out)), format_(format), limit_(limit), stop_at_limit_(stop_at_limit),
          metrics_(metrics), streaming_(streaming),
          schedule_(flush_interval, std::nullopt, FlushSchedule::Clock::now()) {}

    [[nodiscard]] std::optional<FlushSchedule::Clock::time_point> timer() const override {
        return schedule_.next(out_.buffered() > 0);
    }
    Status on_timer(Emitter& /*out*/) override {
        return conveyor::write_out(schedule_, out_, FlushSchedule::Clock::now());
    }

    [[nodiscard]] bool satisfied() const noexcept override {
        return out_.reader_gone() || (stop_at_limit_ && limit_ && seen_ >= *limit_);
    }

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        if (out_.reader_gone()) return {};
        const std::size_t rows = batch.rows();
        std::size_t take = rows;
        if (limit_) take = std::min(rows, *limit_ > seen_ ? *limit_ - seen_ : 0);
        seen_ += rows;
        // Records past the limit are left out: the stage's output is what it showed.
        if (metrics_ && take < rows)
            metrics_->records_filtered.fetch_add(rows - take, std::memory_order_relaxed);
        if (take == 0) return {};
        if (format_ == Format::Table) {
            if (take < rows) batch.truncate(take);
            if (streaming_) {
                // A stream has no end to wait for: each batch is its own small table.
                std::vector<Batch> one;
                one.push_back(std::move(batch));
                buf_ = stdout_sink::render_table(one, take);
                return write_out();
            }
            table_.push_back(std::move(batch));
            return {};
        }
        const std::vector<std::string>& keys = *keys_.of(batch.schema_ref());
        const std::uint64_t replaced_before = json::replaced_on_this_thread();
        for (std::size_t r = 0; r < take; ++r) {
            if (format_ == Format::Json) buf_ += written_ ? ",\n" : "[\n";
            json::append_record_compact(buf_, batch.row(r), keys);
            if (format_ == Format::Jsonl) buf_ += '\n';
            ++written_;
        }
        replaced_ += json::replaced_on_this_thread() - replaced_before;
        return write_out();
    }

    Status finish(Emitter&) override {
        if (out_.reader_gone()) return {}; // `| head` has what it wanted
        if (replaced_ > 0)
            warn_at_end(metrics_, "stdout.write", json::replacement_warning(replaced_));
        if (format_ == Format::Table) {
            if (!streaming_) buf_ = stdout_sink::render_table(table_, seen_);
        } else if (format_ == Format::Json) {
            buf_ += written_ ? "\n]\n" : "[]\n";
        } else if (limit_ && seen_ > written_ && !stop_at_limit_) {
            spdlog::info("stdout.write: showed {} of {} records (limit = {})", written_, seen_,
                         *limit_);
        } else if (limit_ && stop_at_limit_ && written_ == *limit_) {
            spdlog::info("stdout.write: showed the first {} records (limit = {})", written_,
                         *limit_);
        }
        CONVEYOR_TRY(write_out());
        return out_.commit();
    }

    void abort() noexcept override { out_.abort(); }

private:
    /// Hands the rendered text on; it reaches the reader every batch, or every
    /// flush_interval_ms. A reader that went away (`| head`) is not an error.
    Status write_out() {
        const std::size_t n = buf_.size();
        CONVEYOR_TRY(out_.write_and_clear(buf_));
        CONVEYOR_TRY(conveyor::write_out(schedule_, out_, FlushSchedule::Clock::now()));
        if (metrics_ && !out_.reader_gone())
            metrics_->bytes_written.fetch_add(n, std::memory_order_relaxed);
        return {};
    }

    OutputFile out_;
    Format format_;
    std::optional<std::size_t> limit_;
    bool stop_at_limit_;
    StageMetrics* metrics_;
    std::string buf_;
    json::KeyCache keys_;
    std::size_t seen_ = 0;
    std::size_t written_ = 0;
    std::uint64_t replaced_ = 0; ///< sequences that are not UTF-8, written as U+FFFD
    bool streaming_;
    std::vector<Batch> table_;
    FlushSchedule schedule_;
};

constexpr std::size_t kDefaultTableRows = 100;

class StdoutStage final : public Stage {
public:
    StdoutStage(std::optional<Format> format, std::optional<std::size_t> limit,
                std::chrono::milliseconds flush_interval)
        : format_(format), limit_(limit), flush_interval_(flush_interval) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        auto out = OutputFile::create("-", ctx.run);
        if (!out) return std::move(out).error();
        const int fd = ctx.run ? ctx.run->stdout_fd : 1;
        // People get a table, programs get JSON lines. A stream never ends, and a table is
        // drawn at the end: streaming runs print JSON lines unless a table is asked for.
        const bool streaming = ctx.mode == ExecutionMode::Streaming;
        const Format f =
            format_.value_or(::isatty(fd) && !streaming ? Format::Table : Format::Jsonl);
        std::optional<std::size_t> limit = limit_;
        if (f == Format::Table && !limit && !streaming) limit = kDefaultTableRows;
        return OpenedStage(std::make_unique<StdoutOperator>(std::move(out).value(), f, limit,
                                                            limit_.has_value(), flush_interval_,
                                                            ctx.metrics, streaming),
                           nullptr);
    }

private:
    std::optional<Format> format_;
    std::optional<std::size_t> limit_;
    std::chrono::milliseconds flush_interval_;
};

/// format = "csv": csv.write's writer aimed at standard output, behind the same limit.
class LimitedCsvStage final : public Stage {
public:
    LimitedCsvStage(std::optional<std::size_t> limit, std::int64_t flush_interval_ms)
        : csv_(recordio::csv::make_csv_write_stage(csv_config(flush_interval_ms))), limit_(limit) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        auto opened = csv_->open(ctx);
        if (!opened || !limit_) return opened;
        auto& inner = std::get<std::unique_ptr<Operator>>(opened->op);
        return OpenedStage(std::make_unique<Limited>(std::move(inner), *limit_, ctx.metrics),
                           nullptr);
    }

private:
    class Limited final : public Operator {
    public:
        Limited(std::unique_ptr<Operator> inner, std::size_t limit, StageMetrics* metrics)
            : inner_(std::move(inner)), left_(limit), metrics_(metrics) {}
        Status push(std::size_t port, Batch&& batch, Emitter& out) override {
            // Records past the limit are left out: the stage's output is what it wrote.
            const std::size_t past = batch.rows() > left_ ? batch.rows() - left_ : 0;
            if (metrics_ && past > 0)
                metrics_->records_filtered.fetch_add(past, std::memory_order_relaxed);
            // A batch of no records still goes in: it may show the header (Batch::shows_schema).
            if (left_ == 0 && !batch.empty()) return {};
            if (past > 0) batch.truncate(left_);
            left_ -= batch.rows();
            return inner_->push(port, std::move(batch), out);
        }
        Status finish(Emitter& out) override { return inner_->finish(out); }
        void abort() noexcept override { inner_->abort(); }
        [[nodiscard]] bool satisfied() const noexcept override {
            return left_ == 0 || inner_->satisfied();
        }
        [[nodiscard]] std::optional<FlushSchedule::Clock::time_point> timer() const override {
            return inner_->timer();
        }
        Status on_timer(Emitter& out) override { return inner_->on_timer(out); }

    private:
        std::unique_ptr<Operator> inner_;
        std::size_t left_;
        StageMetrics* metrics_;
    };

    static recordio::csv::CsvWriteConfig csv_config(std::int64_t flush_interval_ms) {
        recordio::csv::CsvWriteConfig c;
        c.path = "-";
        c.writing.flush_interval_ms = flush_interval_ms;
        return c;
    }

    std::unique_ptr<Stage> csv_;
    std::optional<std::size_t> limit_;
};

/// stdout.write's options as a pipeline gives them; the initializers are the defaults.
struct StdoutOptions {
    /// nullopt: a table on a terminal (outside streaming runs), else JSON lines.
    std::optional<Format> format;
    std::optional<std::int64_t> limit;
    SinkWriting writing; ///< flush_interval_ms only
};

const OptionTable<StdoutOptions>& stdout_options() {
    static const auto table =
        OptionTable<StdoutOptions>()
            .add_choice("format", &StdoutOptions::format,
                        {{"table", Format::Table},
                         {"json", Format::Json},
                         {"jsonl", Format::Jsonl},
                         {"csv", Format::Csv}},
                        {.description = "table | json | jsonl | csv (default: table on a "
                                        "terminal, else jsonl)"})
            .add("limit", &StdoutOptions::limit,
                 {.description = "Print at most this many records, then take no more input "
                                 "(like head)",
                  .min = 0})
            .embed(&StdoutOptions::writing, sink_writing_options({}), {"flush_interval_ms"});
    return table;
}

std::unique_ptr<Stage> build_stdout(BuildContext&, const StdoutOptions& o) {
    std::optional<std::size_t> limit;
    if (o.limit) limit = static_cast<std::size_t>(*o.limit);
    const std::int64_t flush_ms = o.writing.flush_interval_ms;
    if (o.format == Format::Csv) return std::make_unique<LimitedCsvStage>(limit, flush_ms);
    return std::make_unique<StdoutStage>(o.format, limit, std::chrono::milliseconds(flush_ms));
}

} // namespace

/// stdout.write's descriptor, built when a pipeline first uses it (Registry).
static FunctionDescriptor stdout_write_descriptor() {
    FunctionDescriptor fn;
    fn.name = "stdout.write";
    fn.role = StageRole::Sink;
    fn.summary = "Print records to standard output (table, json, jsonl, csv)";
    fn.description =
        "Writes every record to standard output. `format` defaults to a table when standard "
        "output is a terminal and to JSON lines otherwise, so pipes get machine-readable "
        "output. A table shows the first `limit` records (default 100) and counts the rest; "
        "the other formats print everything unless `limit` is given. Inputs are concatenated. "
        "Each batch is written out as soon as it arrives (line-buffered; flush_interval_ms "
        "gathers writes instead), so with "
        "execution_mode = \"streaming\" records show as they come; there the default is JSON "
        "lines even on a terminal, and format = \"table\" prints one small table per batch.";
    fn.options = stdout_options().specs();
    fn.min_inputs = 1;
    fn.max_inputs = kUnboundedInputs;
    fn.factory = bind_options(stdout_options(), build_stdout);
    return fn;
}

void register_stdout(Registry& registry) {
    registry.add("stdout.write", stdout_write_descriptor);
}

} // namespace conveyor::plugins
