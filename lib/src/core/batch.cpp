#include "conveyor/core/batch.hpp"

#include <algorithm>
#include <cstring>

namespace conveyor {

Batch::Batch(SchemaRef schema, std::size_t reserve_rows)
    : schema_(std::move(schema)), width_(schema_ ? schema_->size() : 0) {
    if (reserve_rows) values_.reserve(reserve_rows * width_);
}

Batch Batch::clone() {
    if (!schema_) {
        Batch b = checkpoint_marker(checkpoint_);
        b.infos_ = infos_;
        return b;
    }
    freeze_arena();
    Batch b(schema_);
    b.rows_ = rows_;
    b.values_ = values_;
    b.owners_ = owners_;
    b.payload_bytes_ = payload_bytes_;
    b.checkpoint_ = checkpoint_;
    b.output_ = output_;
    b.shows_schema_ = shows_schema_;
    b.infos_ = infos_;
    b.lineage_ = lineage_;
    return b;
}

void Batch::retain_rows(std::span<const std::uint8_t> keep) {
    assert(keep.size() == rows_);
    std::size_t out = 0;
    const bool ids = !lineage_.empty();
    for (std::size_t r = 0; r < rows_; ++r) {
        if (!keep[r]) continue;
        if (out != r && width_)
            std::memcpy(values_.data() + out * width_, values_.data() + r * width_,
                        width_ * sizeof(Value));
        if (ids) lineage_[out] = lineage_[r];
        ++out;
    }
    if (rows_) payload_bytes_ = payload_bytes_ * out / rows_;
    rows_ = out;
    values_.resize(out * width_);
    if (ids) lineage_.resize(out);
}

void Batch::truncate(std::size_t n) {
    if (n >= rows_) return;
    if (rows_) payload_bytes_ = payload_bytes_ * n / rows_;
    rows_ = n;
    values_.resize(n * width_);
    if (!lineage_.empty()) lineage_.resize(n);
}

void Batch::remap_columns(SchemaRef schema, std::span<const std::size_t> source_column) {
    const std::size_t new_width = schema ? schema->size() : 0;
    assert(source_column.size() == new_width);
    std::vector<Value> out(rows_ * new_width);
    for (std::size_t r = 0; r < rows_; ++r) {
        const Value* src = values_.data() + r * width_;
        Value* dst = out.data() + r * new_width;
        for (std::size_t c = 0; c < new_width; ++c)
            dst[c] = source_column[c] == npos ? Value::absent() : src[source_column[c]];
    }
    values_ = std::move(out);
    schema_ = std::move(schema);
    width_ = new_width;
}

Arena& Batch::arena() {
    if (!arena_) arena_ = std::make_shared<Arena>();
    return *arena_;
}

void Batch::keep_alive(std::shared_ptr<const void> owner) {
    if (!owner) return;
    if (std::find(owners_.begin(), owners_.end(), owner) == owners_.end())
        owners_.push_back(std::move(owner));
}

void Batch::share_storage_of(Batch& other) {
    if (&other == this) return;
    other.freeze_arena();
    for (auto& o : other.owners_)
        keep_alive(o);
}

void Batch::freeze_arena() {
    if (!arena_) return;
    owners_.push_back(std::static_pointer_cast<const void>(std::move(arena_)));
    arena_.reset();
}

} // namespace conveyor
