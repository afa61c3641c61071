#include "conveyor/recordio/line_source.hpp"

#include "conveyor/obs/metrics.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace conveyor::recordio {

namespace {

class LineSource final : public SourceOperator {
public:
    LineSource(InputFile file, const OpenContext& ctx, std::size_t block_size, std::size_t max_line)
        : file_(std::move(file)), schema_(line_schema()),
          batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          streaming_(ctx.mode == ExecutionMode::Streaming), metrics_(ctx.metrics),
          block_size_(std::max<std::size_t>(block_size, 16)), max_line_(max_line) {}

    Result<bool> next(Emitter& out) override {
        if (done_) return false;
        Batch batch(schema_, std::min<std::size_t>(batch_size_, 1024));
        kept_ = false;
        std::size_t consumed = 0;
        while (batch.rows() < batch_size_) {
            const char* const base = block_.get();
            const void* nl = pos_ < end_ ? std::memchr(base + pos_, '\n', end_ - pos_) : nullptr;
            if (nl) {
                const std::size_t at =
                    static_cast<std::size_t>(static_cast<const char*>(nl) - base);
                add_line(batch, pos_, at);
                consumed += at + 1 - pos_;
                pos_ = at + 1;
                ++line_;
                continue;
            }
            if (eof_) {
                // The last line has no line end: a record, unless a stop cut the input short.
                if (pos_ < end_ && !file_.interrupted()) {
                    add_line(batch, pos_, end_);
                    consumed += end_ - pos_;
                }
                pos_ = end_;
                done_ = true;
                break;
            }
            // Streaming: what has arrived goes out now rather than when a batch fills.
            if (streaming_ && !batch.empty()) break;
            Result<bool> more = refill();
            if (!more) return std::move(more).error();
        }
        batch.set_payload_bytes(consumed);
        if (!batch.empty()) out.emit(std::move(batch));
        return !done_;
    }

private:
    void add_line(Batch& batch, std::size_t from, std::size_t to) {
        if (to > from && block_[to - 1] == '\r') --to; // CRLF
        if (!kept_) {
            batch.keep_alive(block_);
            kept_ = true;
        }
        batch.append_row()[0] = Value::string(std::string_view(block_.get() + from, to - from));
    }

    /// Reads more input after the incomplete line at [pos_, end_), moving that line to the
    /// start of a fresh block when the current one is full (batches still view the old one).
    Result<bool> refill() {
        const std::size_t partial = end_ - pos_;
        if (partial > max_line_)
            return fail(
                ErrorKind::Data,
                fmt::format("line is longer than {} MiB (no line break found)", max_line_ >> 20),
                fmt::format("{}:{}", file_.display_name(), line_));
        if (!block_ || cap_ - end_ < block_size_ / 4) {
            const std::size_t cap = std::max(block_size_, 2 * partial);
            std::shared_ptr<char[]> fresh(new char[cap]);
            if (partial) std::memcpy(fresh.get(), block_.get() + pos_, partial);
            block_ = std::move(fresh);
            cap_ = cap;
            pos_ = 0;
            end_ = partial;
            kept_ = false; // the batch being filled must keep the new block alive too
        }
        Result<std::size_t> n = file_.read(std::span<char>(block_.get() + end_, cap_ - end_));
        if (!n) return std::move(n).error();
        if (*n == 0) {
            eof_ = true;
            return false;
        }
        end_ += *n;
        if (metrics_) metrics_->bytes_read.fetch_add(*n, std::memory_order_relaxed);
        return true;
    }

    InputFile file_;
    SchemaRef schema_;
    std::size_t batch_size_;
    bool streaming_;
    StageMetrics* metrics_;
    std::size_t block_size_;
    std::size_t max_line_;

    std::shared_ptr<char[]> block_;
    std::size_t cap_ = 0;
    std::size_t pos_ = 0; ///< start of the first line not yet returned
    std::size_t end_ = 0; ///< end of the bytes read into the block
    std::uint64_t line_ = 1;
    bool kept_ = false; ///< the batch being filled keeps block_ alive
    bool eof_ = false;
    bool done_ = false;
};

} // namespace

SchemaRef line_schema() {
    static const SchemaRef schema = make_schema({"line"});
    return schema;
}

std::unique_ptr<SourceOperator> make_line_source(InputFile file, const OpenContext& ctx,
                                                 std::size_t block_size, std::size_t max_line) {
    return std::make_unique<LineSource>(std::move(file), ctx, block_size, max_line);
}

} // namespace conveyor::recordio
