#include "json_read.hpp"
#include "conveyor/core/ascii.hpp"

#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/io/followed_file.hpp"
#include "conveyor/io/input_file.hpp"
#include "conveyor/stage/following_source.hpp"
#include "conveyor/obs/metrics.hpp"
#include "json_batch_builder.hpp"
#include "json_splitter.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace conveyor::plugins::json {

namespace {


std::string_view kind_name(Kind k) {
    switch (k) {
    case Kind::Array:
        return "an array";
    case Kind::String:
        return "a string";
    case Kind::Bool:
        return "a boolean";
    case Kind::Null:
        return "null";
    case Kind::Int:
    case Kind::Double:
        return "a number";
    default:
        return "not an object";
    }
}

class JsonReadOperator final : public SourceOperator {
public:
    JsonReadOperator(JsonSplitter splitter, JsonFormat format, std::size_t batch_size,
                     bool streaming, StageErrors* errors)
        : splitter_(std::move(splitter)), errors_(errors), format_(format),
          batch_size_(std::max<std::size_t>(batch_size, 1)), streaming_(streaming) {}

    /// Reads the first record (open() reports its keys as the initial schema); nullptr for an
    /// input without records.
    Result<SchemaRef> prime() {
        Result<std::optional<Value>> first = read_record(true);
        if (!first.ok()) return std::move(first).error();
        if (!*first) return SchemaRef{};
        const bool added = builder_.add(**first);
        (void)added; // the first record of a batch always fits
        return BatchBuilder::keys_of(**first);
    }

    Result<bool> next(Emitter& out) override {
        while (builder_.rows() < batch_size_) {
            if (carried_) {
                const bool added = builder_.add(*carried_);
                (void)added; // a fresh batch takes any record
                carried_.reset();
                continue;
            }
            if (finished_) break;
            // Streaming: hand on what is complete rather than wait for a full batch.
            const bool allow_read = !streaming_ || builder_.rows() == 0;
            Result<std::optional<Value>> record = read_record(allow_read);
            if (!record.ok()) {
                // The records before the failure are good: they go on if the run does.
                if (builder_.rows() > 0) out.emit(builder_.build(false));
                return std::move(record).error();
            }
            if (!*record) break;
            if (!builder_.add(**record)) {
                carried_ = **record;
                break;
            }
        }
        if (builder_.rows() > 0) out.emit(builder_.build(carried_.has_value()));
        return !finished_ || carried_.has_value();
    }

private:
    /// The next record parsed into the batch arena; nullopt at the end (finished_ set) or when
    /// reading was not allowed and nothing is buffered.
    Result<std::optional<Value>> read_record(bool allow_read) {
        for (;;) {
            std::string_view text;
            Result<JsonSplitter::Status> st = splitter_.next(text, allow_read);
            if (!st.ok()) return std::move(st).error();
            if (*st == JsonSplitter::Status::End) finished_ = true;
            if (*st != JsonSplitter::Status::Record) return std::optional<Value>{};

            conveyor::json::ParseError pe;
            Result<Value> v = parser_.parse(text, builder_.arena(), &pe);
            std::optional<Error> bad;
            if (!v.ok()) {
                bad = located(text, pe).error;
            } else if (v->kind() != Kind::Object) {
                const JsonSplitter::Position at = splitter_.locate(text.data());
                bad = Error(ErrorKind::Data,
                            std::string("expected a JSON object on each line, found ") +
                                std::string(kind_name(v->kind())),
                            splitter_.display_name() + ":" + std::to_string(at.line));
            }
            if (!bad) return std::optional<Value>{*v};
            // The error strategy decides: fail the stage, or leave the record out (into the
            // dead-letter queue with its text and position) and go on.
            if (!errors_) return *bad;
            Status handled = errors_->raw_failed(text, std::move(*bad));
            if (!handled) return std::move(handled).error();
        }
    }

    /// A record's parse error in the file's terms.
    Failure located(std::string_view text, const conveyor::json::ParseError& pe) {
        const JsonSplitter::Position start = splitter_.locate(text.data());
        if (format_ == JsonFormat::Jsonl) {
            // "events.jsonl:17: <what> (column C)"
            return fail(ErrorKind::Data, pe.message + " (column " + std::to_string(pe.column) + ")",
                        splitter_.display_name() + ":" + std::to_string(start.line));
        }
        const std::uint64_t line = start.line + pe.line - 1;
        const std::uint64_t column = pe.line == 1 ? start.column + pe.column - 1 : pe.column;
        return fail(ErrorKind::Data, pe.message,
                    splitter_.display_name() + ":" + std::to_string(line) + ":" +
                        std::to_string(column));
    }

    JsonSplitter splitter_;
    StageErrors* errors_ = nullptr;
    JsonFormat format_;
    std::size_t batch_size_;
    bool streaming_;
    conveyor::json::Parser parser_;
    BatchBuilder builder_;
    std::optional<Value> carried_; ///< the record that starts the next batch
    bool finished_ = false;
};

class JsonReadStage final : public Stage {
public:
    explicit JsonReadStage(JsonReadConfig config) : config_(std::move(config)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        if (config_.follow) {
            auto followed = FollowedFile::open(config_.path, ctx.run, {});
            if (!followed) return std::move(followed).error();
            OpenContext source_ctx = ctx; // a source has no inputs: nothing to dangle
            source_ctx.input_schemas = {};
            source_ctx.input_schemas_fixed = {};
            FollowingSource::Factory make = [format = config_.format, source_ctx,
                                             block = config_.block_size](InputFile segment,
                                                                         std::size_t) {
                return Result<std::unique_ptr<SourceOperator>>(
                    make_json_source(std::move(segment), format, source_ctx, block));
            };
            return OpenedStage(std::unique_ptr<SourceOperator>(std::make_unique<FollowingSource>(
                                   std::move(followed).value(), std::move(make))),
                               nullptr);
        }
        Result<InputFile> file = InputFile::open(config_.path, ctx.run);
        if (!file.ok()) return std::move(file).error();
        if (ctx.metrics) ctx.metrics->bytes_total.store(file->size().value_or(0)); // progress
        if (ctx.mode == ExecutionMode::Streaming && !file->size()) {
            // A pipe in streaming mode: do not wait for the first record while the run starts.
            return OpenedStage(
                make_json_source(std::move(*file), config_.format, ctx, config_.block_size),
                nullptr);
        }
        auto op = std::make_unique<JsonReadOperator>(
            JsonSplitter(std::move(*file), config_.format, config_.block_size, ctx.metrics),
            config_.format, ctx.batch_size, ctx.mode == ExecutionMode::Streaming, ctx.errors);
        Result<SchemaRef> schema = op->prime();
        if (!schema.ok()) return std::move(schema).error();
        return OpenedStage(std::unique_ptr<SourceOperator>(std::move(op)), std::move(*schema));
    }

private:
    JsonReadConfig config_;
};

} // namespace

JsonFormat default_format_for(std::string_view path) {
    return iends_with(path, ".jsonl") || iends_with(path, ".ndjson") ? JsonFormat::Jsonl
                                                                         : JsonFormat::Records;
}

JsonFormat parse_format(std::string_view name) {
    return name == "jsonl" ? JsonFormat::Jsonl : JsonFormat::Records;
}

std::unique_ptr<SourceOperator> make_json_source(InputFile file, JsonFormat format,
                                                 const OpenContext& ctx, std::size_t block_size) {
    return std::make_unique<JsonReadOperator>(
        JsonSplitter(std::move(file), format, block_size, ctx.metrics), format, ctx.batch_size,
        ctx.mode == ExecutionMode::Streaming, ctx.errors);
}

std::unique_ptr<Stage> make_json_read(JsonReadConfig config) {
    return std::make_unique<JsonReadStage>(std::move(config));
}

} // namespace conveyor::plugins::json
