#include "conveyor/stage/shard_filter.hpp"

#include "conveyor/core/fnv1a.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/stage/emitter.hpp"

#include <vector>

namespace conveyor {

namespace {

/// Passes on the rows of each batch that belong to the shard.
class ShardEmitter final : public Emitter {
public:
    ShardEmitter(const std::string& key, ShardId shard) : key_(key), shard_(shard) {}

    void bind(Emitter& out) noexcept { out_ = &out; }

    void emit(Batch&& batch) override {
        const std::optional<std::size_t> column = batch.schema().find(key_);
        keep_.assign(batch.rows(), 0);
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const Value v = column ? batch.at(r, *column) : Value::null();
            keep_[r] = shard_of_key(v, shard_.count) == shard_.index ? 1 : 0;
        }
        batch.retain_rows(keep_);
        out_->emit(std::move(batch));
    }

private:
    const std::string& key_;
    ShardId shard_;
    Emitter* out_ = nullptr;
    std::vector<std::uint8_t> keep_;
};

class ShardSource final : public SourceOperator {
public:
    ShardSource(std::unique_ptr<SourceOperator> source, std::string key, ShardId shard)
        : source_(std::move(source)), key_(std::move(key)), emitter_(key_, shard) {}

    Result<bool> next(Emitter& out) override {
        emitter_.bind(out);
        return source_->next(emitter_);
    }
    void abort() noexcept override { source_->abort(); }
    Result<std::string> checkpoint(const Checkpoint& cp) override {
        return source_->checkpoint(cp);
    }

private:
    std::unique_ptr<SourceOperator> source_;
    std::string key_;
    ShardEmitter emitter_;
};

} // namespace

std::uint32_t shard_of_key(const Value& key, std::uint32_t count) {
    thread_local std::string encoded;
    encoded.clear();
    encode_key(encoded, key);
    return static_cast<std::uint32_t>(fnv1a(encoded) % count);
}

std::unique_ptr<SourceOperator> keep_shard_records(std::unique_ptr<SourceOperator> source,
                                                   std::string key, ShardId shard) {
    return std::make_unique<ShardSource>(std::move(source), std::move(key), shard);
}

} // namespace conveyor
