#include "conveyor/exec/run_source.hpp"

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/spill.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace conveyor {

namespace {

class RunSourceOperator final : public SourceOperator {
public:
    RunSourceOperator(std::unique_ptr<spill::RunReader> reader, std::size_t batch_size,
                      const RunContext* run)
        : reader_(std::move(reader)), batch_size_(std::max<std::size_t>(batch_size, 1)), run_(run) {
    }

    Result<bool> next(Emitter& out) override {
        // A graceful stop (SIGINT): what was emitted goes on, nothing more is read.
        if (run_ && run_->stop_requested()) return false;
        std::vector<Batch> batches;
        bool more = true;
        for (std::size_t n = 0; n < batch_size_; ++n) {
            Result<bool> got = reader_->next();
            if (!got) return std::move(got).error();
            if (!*got) {
                more = false;
                break;
            }
            rebuilder_.append(*reader_, batch_size_, batches);
        }
        rebuilder_.finish(batches);
        for (Batch& b : batches)
            out.emit(std::move(b));
        return more;
    }

private:
    std::unique_ptr<spill::RunReader> reader_;
    std::size_t batch_size_;
    const RunContext* run_;
    spill::RowShaper shaper_;
    spill::BatchRebuilder rebuilder_{shaper_};
};

class RunSource final : public Stage {
public:
    explicit RunSource(std::string path) : path_(std::move(path)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        auto reader = spill::RunReader::open(path_, 0);
        if (!reader) return std::move(reader).error();
        return OpenedStage(
            std::make_unique<RunSourceOperator>(std::move(*reader), ctx.batch_size, ctx.run),
            nullptr);
    }

private:
    std::string path_;
};

} // namespace

std::unique_ptr<Stage> make_run_source(std::string path) {
    return std::make_unique<RunSource>(std::move(path));
}

} // namespace conveyor
