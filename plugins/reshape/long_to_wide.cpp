// reshape.long_to_wide: records that share the values of every field but key_column and
// value_column become one record, with a field per distinct key (named by its value) holding
// its value. Holds its input: groups in memory up to the stage's share of [global]
// memory_limit; beyond it every group so far (as the long records it stands for) and every
// later record go to hash partitions by group, each partition is grouped on its own at the end,
// and the results are merged back into the order of the groups' first records.

#include "conveyor/core/key_table.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/summary.hpp"
#include "reshape.hpp"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace conveyor::plugins::reshape {

namespace {

constexpr std::size_t kPartitions = 16;

/// The field name a key value gives: text as it is, numbers as written, booleans; nullopt for
/// null, lists and objects, which name nothing.
std::optional<std::string> field_name_of(const Value& v) {
    switch (v.kind()) {
    case Kind::String:
        return std::string(v.as_string());
    case Kind::Int:
        return std::to_string(v.as_int());
    case Kind::Double: {
        if (v.has_number_text()) return std::string(v.number_text());
        std::string s;
        json::append_double(s, v.as_double());
        return s;
    }
    case Kind::Bool:
        return std::string(v.as_bool() ? "true" : "false");
    default:
        return std::nullopt;
    }
}

/// Where the key and value are in records of one input schema, and the other fields.
struct Layout {
    std::optional<std::size_t> key;
    std::optional<std::size_t> value;
    std::vector<std::size_t> others;
};

/// One output record in the making: the other fields of its first record, and per key name
/// (LongToWideOperator::names_) the last value seen.
struct Group {
    std::int64_t first_seq = 0;
    std::uint32_t shape = 0; ///< the names of `others` (LongToWideOperator::shapes_)
    std::vector<Value> others;
    std::vector<Value> cells;
};

/// Groups in first-appearance order, their values deep-copied into an arena of their own.
struct Groups {
    KeyTable index;
    std::vector<Group> list;
    std::shared_ptr<Arena> arena = std::make_shared<Arena>();
    std::uint64_t value_bytes = 0;

    [[nodiscard]] std::uint64_t memory_bytes() const {
        return index.memory_bytes() + arena->used_bytes() + value_bytes +
               list.capacity() * sizeof(Group);
    }
};

class LongToWideOperator final : public Operator {
public:
    LongToWideOperator(const LongToWideOptions& options, const OpenContext& ctx)
        : options_(options), batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          stage_(ctx.stage_id), files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir,
                                       stage_, ctx.run ? &ctx.run->temp_files() : nullptr),
          errors_(ctx.errors) {}

    Status push(std::size_t, Batch&& batch, Emitter&) override {
        if (batch.empty()) return {};
        const Layout& l = layout_of(batch.schema_ref());
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const std::int64_t seq = seq_++;
            const auto row = batch.row(r);
            Result<std::optional<std::uint32_t>> name = name_slot(l, batch.schema(), row);
            if (!name) return std::move(name).error();
            if (!*name) continue; // a record error the strategy let go
            if (parts_) {
                CONVEYOR_TRY(spill_row(seq, batch.schema(), row, l));
                continue;
            }
            add(groups_, seq, batch.schema(), row, l, **name);
        }
        if (!parts_ && groups_.memory_bytes() > budget_) return start_spilling();
        return {};
    }

    Status finish(Emitter&) override {
        for (std::size_t s = 0; s < shapes_.size(); ++s) {
            std::vector<std::string> names = shapes_[s];
            for (const std::string& n : names_list_) {
                if (std::find(shapes_[s].begin(), shapes_[s].end(), n) != shapes_[s].end())
                    return Error(ErrorKind::Data,
                                 "key '" + n + "' (from " + options_.key_column +
                                     ") names a field that other records already have")
                        .in_stage(stage_);
                names.push_back(n);
            }
            wide_schemas_.push_back(make_schema(std::move(names)));
        }
        if (!parts_) return {};
        auto merger = spill::merge_partitions_in_sequence(
            files_, *parts_, budget_, [&](const std::string& p) { return group_partition(p); });
        parts_.reset();
        if (!merger) return std::move(merger).error().in_stage(stage_);
        merger_ = std::move(*merger);
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        if (next_group_ < groups_.list.size()) {
            emit_groups(out);
            return true;
        }
        if (!merger_) return false;
        Result<bool> more = spill::emit_merged(merger_, batch_size_, out, files_);
        if (!more) return std::move(more).error().in_stage(stage_);
        return *more;
    }

    void abort() noexcept override {
        merger_.reset();
        parts_.reset();
        files_.remove_all();
    }

private:
    [[nodiscard]] Layout layout_for(const Schema& s) const {
        Layout l;
        l.key = s.find(options_.key_column);
        l.value = s.find(options_.value_column);
        for (std::size_t i = 0; i < s.size(); ++i)
            if (i != l.key && i != l.value) l.others.push_back(i);
        return l;
    }

    const Layout& layout_of(const SchemaRef& schema) {
        return layouts_.get(schema, [&](const Schema& s) { return layout_for(s); });
    }

    /// The slot of the field name `row`'s key gives (a new name is added to names_); nullopt
    /// when the record cannot be reshaped and the stage's strategy let it go.
    Result<std::optional<std::uint32_t>> name_slot(const Layout& l, const Schema& schema,
                                                   std::span<const Value> row) {
        std::optional<std::string> name;
        std::string why;
        if (!l.key || row[*l.key].is_absent()) {
            why = "the record has no field '" + options_.key_column + "' (key_column)";
        } else if (!(name = field_name_of(row[*l.key]))) {
            why = "key_column '" + options_.key_column + "' is " +
                  (row[*l.key].is_null() ? "null" : "a list or an object") +
                  ": it cannot name a field";
        } else if (name->empty()) {
            why = "key_column '" + options_.key_column + "' is empty: it cannot name a field";
        } else {
            for (const std::size_t o : l.others)
                if (!row[o].is_absent() && schema.name(o) == *name)
                    why = "key '" + *name + "' (from " + options_.key_column +
                          ") names a field the record already has";
        }
        if (why.empty()) {
            const auto [slot, inserted] = names_.insert(*name);
            if (inserted) names_list_.push_back(std::move(*name));
            return std::optional<std::uint32_t>(slot);
        }
        Error e(ErrorKind::Data, std::move(why));
        if (!errors_) return std::move(e).in_stage(stage_);
        CONVEYOR_TRY(errors_->record_failed(schema, row, std::move(e)));
        return std::optional<std::uint32_t>();
    }

    /// The group key of `row`: its other fields' names and values.
    void group_key(const Schema& schema, std::span<const Value> row, const Layout& l) {
        key_.clear();
        for (const std::size_t o : l.others) {
            if (row[o].is_absent()) continue;
            const std::string_view name = schema.name(o);
            const auto n = static_cast<std::uint32_t>(name.size());
            key_.append(reinterpret_cast<const char*>(&n), sizeof n);
            key_.append(name);
            encode_key(key_, row[o]);
        }
    }

    std::uint32_t shape_of(const Schema& schema, std::span<const Value> row, const Layout& l) {
        std::vector<std::string> names;
        std::string key;
        for (const std::size_t o : l.others) {
            if (row[o].is_absent()) continue;
            names.emplace_back(schema.name(o));
            key.append(names.back());
            key.push_back('\0');
        }
        const auto [slot, inserted] = shape_index_.insert(key);
        if (inserted) shapes_.push_back(std::move(names));
        return slot;
    }

    void add(Groups& g, std::int64_t seq, const Schema& schema, std::span<const Value> row,
             const Layout& l, std::uint32_t name) {
        group_key(schema, row, l);
        const auto [slot, inserted] = g.index.insert(key_);
        if (inserted) {
            Group fresh;
            fresh.first_seq = seq;
            fresh.shape = shape_of(schema, row, l);
            for (const std::size_t o : l.others)
                if (!row[o].is_absent()) fresh.others.push_back(copy_into(*g.arena, row[o]));
            g.value_bytes += fresh.others.size() * sizeof(Value);
            g.list.push_back(std::move(fresh));
        }
        Group& group = g.list[slot];
        if (group.cells.size() <= name) {
            g.value_bytes += (name + 1 - group.cells.size()) * sizeof(Value);
            group.cells.resize(name + 1);
        }
        const Value v = l.value ? row[*l.value] : Value::null();
        group.cells[name] = v.is_absent() ? Value::null() : copy_into(*g.arena, v);
    }

    /// The wide record of `group` into row_ (every key name of the input, null where the group
    /// had none).
    const std::vector<Value>& wide_row(const Group& group) {
        row_.assign(group.others.begin(), group.others.end());
        for (std::size_t n = 0; n < names_list_.size(); ++n)
            row_.push_back(n < group.cells.size() && !group.cells[n].is_absent() ? group.cells[n]
                                                                                 : Value::null());
        return row_;
    }

    /// Emits up to batch_size held groups, one batch per run of groups of one shape.
    void emit_groups(Emitter& out) {
        const std::size_t end = std::min(groups_.list.size(), next_group_ + batch_size_);
        while (next_group_ < end) {
            const std::uint32_t shape = groups_.list[next_group_].shape;
            Batch b(wide_schemas_[shape], end - next_group_);
            b.keep_alive(groups_.arena);
            while (next_group_ < end && groups_.list[next_group_].shape == shape)
                b.append_row(wide_row(groups_.list[next_group_++]));
            out.emit(std::move(b));
        }
    }

    /// A record as the long record it is, into its group's partition.
    Status spill_row(std::int64_t seq, const Schema& schema, std::span<const Value> row,
                     const Layout& l) {
        group_key(schema, row, l);
        Status st = parts_->add(key_, seq, schema, row);
        if (!st) return std::move(st).error().in_stage(stage_);
        return {};
    }

    /// Over the share: each group held becomes the long records it stands for (the other
    /// fields, a key, its value; all with the group's first sequence number) in its partition,
    /// and every later record follows it there.
    Status start_spilling() {
        parts_.emplace(files_, kPartitions);
        spdlog::info("stage '{}': groups beyond its memory share ({}): records spilled to {}",
                     stage_, obs::human_bytes(budget_), files_.dir());
        std::vector<SchemaRef> long_schemas;
        for (const std::vector<std::string>& shape : shapes_) {
            std::vector<std::string> names = shape;
            names.push_back(options_.key_column);
            names.push_back(options_.value_column);
            long_schemas.push_back(make_schema(std::move(names)));
        }
        Arena names;
        for (std::uint32_t slot = 0; slot < groups_.list.size(); ++slot) {
            const Group& g = groups_.list[slot];
            const Schema& schema = *long_schemas[g.shape];
            const std::size_t partition = parts_->partition_of(groups_.index.key(slot));
            row_.assign(g.others.begin(), g.others.end());
            row_.resize(g.others.size() + 2);
            for (std::size_t n = 0; n < g.cells.size(); ++n) {
                if (g.cells[n].is_absent()) continue;
                row_[g.others.size()] = Value::string(names_list_[n]);
                row_[g.others.size() + 1] = g.cells[n];
                Status st = parts_->add(partition, g.first_seq, schema, row_);
                if (!st) return std::move(st).error().in_stage(stage_);
            }
        }
        groups_ = Groups{};
        return {};
    }

    /// One partition's groups, as a run of wide records keyed by their first sequence number
    /// (the partition's lines come in that order, so its groups do too).
    Result<std::string> group_partition(const std::string& path) {
        Groups part;
        CONVEYOR_TRY(spill::read_records(
            path, [&](std::int64_t seq, const SchemaRef& schema, std::span<const Value> row) {
                // Not cached per schema: the schemas of records read back are made afresh
                // whenever the field names change from one record to the next.
                const Layout l = layout_for(*schema);
                const std::optional<std::string> text =
                    l.key ? field_name_of(row[*l.key]) : std::nullopt;
                const auto name = text ? names_.find(*text) : std::nullopt;
                if (!name)
                    return Status(Error(ErrorKind::Internal,
                                        "spill file " + path + ": a record without a known key"));
                add(part, seq, *schema, row, l, *name);
                return Status();
            }));
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error();
        for (const Group& g : part.list) {
            const Value k = Value::integer(g.first_seq);
            CONVEYOR_TRY(
                w->add(std::span<const Value>(&k, 1), *wide_schemas_[g.shape], wide_row(g)));
        }
        CONVEYOR_TRY(w->close());
        files_.remove(path);
        return w->path();
    }

    const LongToWideOptions& options_;
    std::size_t batch_size_;
    std::uint64_t budget_;
    std::string stage_;
    spill::Files files_;
    StageErrors* errors_;

    PerSchema<Layout> layouts_;
    std::int64_t seq_ = 0;
    std::string key_;
    std::vector<Value> row_;
    KeyTable names_;                      ///< key names, in order of first appearance
    std::vector<std::string> names_list_; ///< the same, as text
    KeyTable shape_index_;                ///< the names of the other fields, per shape
    std::vector<std::vector<std::string>> shapes_;
    std::vector<SchemaRef> wide_schemas_; ///< per shape, at the end: its names, then names_
    Groups groups_;
    std::size_t next_group_ = 0;
    std::optional<spill::Partitions> parts_;
    std::unique_ptr<spill::Merger> merger_;
};

class LongToWideStage final : public Stage {
public:
    explicit LongToWideStage(LongToWideOptions options) : options_(std::move(options)) {}

    Result<OpenedStage> open(const OpenContext& ctx) const override {
        const SchemaRef in = ctx.input_schemas.empty() ? nullptr : ctx.input_schemas[0];
        const bool fixed = !ctx.input_schemas_fixed.empty() && ctx.input_schemas_fixed[0];
        if (in && fixed)
            for (const auto& [option, field] : {std::pair{"key_column", options_.key_column},
                                                std::pair{"value_column", options_.value_column}})
                if (!in->find(field))
                    return fail(ErrorKind::Config, std::string(option) + ": field '" + field +
                                                       "' is not in the input" +
                                                       did_you_mean(field, in->names()));
        // The fields come from the data: known only once the input has ended.
        OpenedStage opened(std::make_unique<LongToWideOperator>(options_, ctx), nullptr);
        opened.checkpoints = false; // the groups are not part of a checkpoint
        return opened;
    }

private:
    LongToWideOptions options_;
};

} // namespace

std::unique_ptr<Stage> make_long_to_wide(LongToWideOptions options) {
    return std::make_unique<LongToWideStage>(std::move(options));
}

} // namespace conveyor::plugins::reshape
