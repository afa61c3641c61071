#pragma once

#include "conveyor/core/batch.hpp"

#include <utility>
#include <vector>

namespace conveyor {

/// Where a synchronous operator puts its output. Emitting never blocks: the executor drains
/// the emitted batches into the stage's outputs (awaiting room downstream, which is where
/// backpressure happens) before it hands the operator more work. An operator therefore emits
/// at most what one call produces; sources produce one batch per call.
class Emitter {
public:
    virtual ~Emitter() = default;
    virtual void emit(Batch&& batch) = 0;
    /// Emits `batch` on the stage's named output `output` (1-based, in the order of
    /// Stage::named_outputs; 0 is the main output).
    void emit_to(std::uint32_t output, Batch&& batch) {
        batch.set_output(output);
        emit(std::move(batch));
    }
};

/// An Emitter that keeps what it is given, in order.
class CollectingEmitter final : public Emitter {
public:
    /// An empty batch is dropped unless it carries metadata or shows a schema
    /// (Batch::shows_schema), or the stage is handling such a batch (keep_empty): what it
    /// emits with no records then shows the schema of its output.
    void emit(Batch&& batch) override {
        if (batch.empty() && batch.infos().empty() && !batch.shows_schema()) {
            if (!keep_empty_ || !batch.schema_ref()) return;
            batch.set_shows_schema();
        }
        batches_.push_back(std::move(batch));
    }
    /// While set, empty batches with a schema are kept as showing it (see emit).
    void keep_empty(bool on) noexcept { keep_empty_ = on; }
    [[nodiscard]] bool empty() const noexcept { return batches_.empty(); }
    /// Records emitted and not yet taken.
    [[nodiscard]] std::size_t rows() const noexcept {
        std::size_t n = 0;
        for (const Batch& b : batches_)
            n += b.rows();
        return n;
    }
    std::vector<Batch> take() { return std::exchange(batches_, {}); }

private:
    std::vector<Batch> batches_;
    bool keep_empty_ = false;
};

} // namespace conveyor
