// join.apply: a hash join of two inputs. One side (the right, by default) is the build side:
// held in a hash table by key; the other is probed against it as it comes, so output follows
// the probe side's order. Probe records that come before the build side has ended wait.
// Beyond the stage's share of [global] memory_limit it becomes a grace hash join: both sides
// go to hash partitions in the spill directory, each pair of partitions is joined at the end,
// and the results are merged back into probe order.

#include "join_operator.hpp"

#include "conveyor/core/key_table.hpp"
#include "conveyor/core/per_schema.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/spill.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/expr/operand.hpp"
#include "conveyor/format/value_key.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/recordio/csv_typing.hpp"
#include "join_shape.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <unordered_map>

namespace conveyor::plugins::join {

namespace {

constexpr std::size_t kPartitions = 16;

/// The integer text `s` spells plainly ("42", "-7": CSV's integer, recordio's
/// classify_number), as a number; nullopt for other text ("007", "-0", "+1", "1e3", " 1",
/// "2.50"). A join key given as such text matches that number: the expressions' `==` says
/// "42" == 42, and ids read from CSV (numbers) met the same ids JSON gave as text nowhere, a
/// join that kept nothing with exit 0. Decimal text stays text: two texts such as "1.10" and
/// "1.1" (versions, codes) are different keys, which reading both as numbers would have made
/// one.
std::optional<Value> plain_integer(std::string_view s) {
    std::int64_t n = 0;
    switch (recordio::csv::classify_number(s, &n)) {
    case recordio::csv::NumberShape::Integer:
        return Value::integer(n);
    case recordio::csv::NumberShape::Decimal:
        return std::nullopt;
    case recordio::csv::NumberShape::None:
        break;
    }
    // Past int64 (a 20-digit id, which csv.read keeps as text): its digits, the key the same
    // number read from JSON has (encode_key), so the two still meet.
    const std::string_view digits = s.substr(!s.empty() && s[0] == '-' ? 1 : 0);
    if (digits.size() < 19 || digits[0] == '0') return std::nullopt;
    for (const char c : digits)
        if (c < '0' || c > '9') return std::nullopt;
    return Value::number_text(s);
}

/// The first key of results put out after every probe record (unmatched build records).
constexpr std::int64_t kAtEnd = std::numeric_limits<std::int64_t>::max();

/// Output rows, either to batches for the emitter (sharing the inputs' storage) or to a
/// result run (grace mode), keyed for the merge back into probe order.
class Output {
public:
    Output(std::size_t batch_size) : batch_size_(batch_size) {}

    /// Where rows go: a run (grace mode) or `pending` batches.
    void to_run(spill::RunWriter* run) { run_ = run; }

    /// Starts a row of `schema`; `keys` order it in a run. Its values must stay valid: the
    /// caller shares the storage they point to (share()/keep()).
    std::span<Value> row(const SchemaRef& schema, std::int64_t a, std::int64_t b) {
        key_[0] = Value::integer(a);
        key_[1] = Value::integer(b);
        if (cur_ && (cur_->schema_ref() != schema || cur_->rows() >= batch_size_)) flush();
        if (!cur_) {
            cur_.emplace(schema, run_ ? 1 : batch_size_);
            ++generation_;
        }
        return cur_->append_row();
    }
    /// The row just started is complete.
    Status done() {
        if (!run_) return {};
        Status st = run_->add(key_, cur_->schema(), cur_->row(cur_->rows() - 1));
        cur_->truncate(0);
        return st;
    }
    /// Makes the current batch co-own `b`'s storage; `id` names `b` among the batches rows
    /// come from (0 the probe batch, k + 1 the build table's batch k).
    void share(Batch& b, std::size_t id) {
        if (run_) return; // rows are written out at once
        if (id >= marks_.size()) marks_.resize(id + 1, 0);
        if (marks_[id] == generation_) return;
        marks_[id] = generation_;
        cur_->share_storage_of(b);
    }
    void flush() {
        if (cur_ && cur_->rows() && !run_) ready_.push_back(std::move(*cur_));
        cur_.reset();
    }
    [[nodiscard]] bool ready_empty() const noexcept { return ready_.empty(); }
    /// Emits what is complete.
    void emit(Emitter& out) {
        flush();
        for (Batch& b : ready_)
            out.emit(std::move(b));
        ready_.clear();
    }

private:
    std::size_t batch_size_;
    spill::RunWriter* run_ = nullptr;
    std::optional<Batch> cur_;
    std::vector<std::uint64_t> marks_; ///< per source id: the generation it was shared in
    std::uint64_t generation_ = 0;     ///< one per output batch
    std::vector<Batch> ready_;
    Value key_[2];
};

/// The build side in memory: its batches, and by key the rows of each key in input order.
struct BuildTable {
    struct Ref {
        std::uint32_t batch;
        std::uint32_t row;
    };
    std::vector<Batch> batches;
    std::vector<std::int64_t> batch_seq;   ///< build sequence number of each batch's row 0
    std::vector<std::uint32_t> batch_base; ///< index in rows of each batch's row 0
    /// Per row, its build sequence number, when rows of a batch are not consecutive (read
    /// back from a partition); empty otherwise (batch_seq + row).
    std::vector<std::int64_t> row_seq;
    std::vector<Ref> rows;
    std::vector<std::uint32_t> next; ///< next row of the same key, or none
    std::vector<std::uint8_t> matched;
    KeyTable keys;                                              ///< key -> slot
    std::vector<std::pair<std::uint32_t, std::uint32_t>> heads; ///< per slot: first, last row
    std::uint64_t bytes = 0;
    static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

    void clear() { *this = BuildTable(); }
};

class JoinOperator final : public Operator {
public:
    JoinOperator(const JoinSpec& spec, const OpenContext& ctx)
        : spec_(spec), left_reader_(spec.left_keys), right_reader_(spec.right_keys),
          batch_size_(std::max<std::size_t>(ctx.batch_size, 1)),
          budget_(ctx.memory_budget ? ctx.memory_budget : std::uint64_t{256} << 20),
          stage_(ctx.stage_id), files_(ctx.spill_dir.empty() ? ".conveyor/spill" : ctx.spill_dir,
                                       stage_, ctx.run ? &ctx.run->temp_files() : nullptr),
          errors_(ctx.errors), out_(batch_size_) {
        values_.resize(spec.left_keys.size());
        if (ctx.input_schemas.size() == 2) {
            side_schema_[0] = ctx.input_schemas[0];
            side_schema_[1] = ctx.input_schemas[1];
        }
    }

    Status push(std::size_t port, Batch&& batch, Emitter& out) override {
        if (batch.empty()) return {};
        if (!side_schema_[port]) side_schema_[port] = batch.schema_ref();
        if (port == spec_.build_port()) {
            if (grace_) return partition(port, batch);
            CONVEYOR_TRY(build(std::move(batch)));
            if (table_.bytes + pending_bytes_ > budget_) return start_grace();
            return {};
        }
        if (grace_) return partition(port, batch);
        if (!build_done_) {
            pending_bytes_ += batch.memory_bytes();
            pending_.push_back(std::move(batch));
            if (table_.bytes + pending_bytes_ > budget_) return start_grace();
            return {};
        }
        CONVEYOR_TRY(probe(batch));
        out_.emit(out);
        return {};
    }

    Status input_done(std::size_t port, Emitter& out) override {
        if (port != spec_.build_port() || build_done_) return {};
        build_done_ = true;
        if (grace_) return {};
        for (Batch& b : pending_) {
            CONVEYOR_TRY(probe(b));
            out_.emit(out);
        }
        pending_.clear();
        pending_bytes_ = 0;
        return {};
    }

    Status finish(Emitter& out) override {
        if (!grace_) {
            // A probe side that ended before the build side (both ended now).
            for (Batch& b : pending_) {
                CONVEYOR_TRY(probe(b));
                out_.emit(out);
            }
            pending_.clear();
            return {};
        }
        Result<std::vector<std::string>> build_paths = build_parts_->close();
        if (!build_paths) return std::move(build_paths).error().in_stage(stage_);
        Result<std::vector<std::string>> probe_paths = probe_parts_->close();
        if (!probe_paths) return std::move(probe_paths).error().in_stage(stage_);
        build_parts_.reset();
        probe_parts_.reset();
        std::vector<std::string> results;
        for (std::size_t p = 0; p < kPartitions; ++p) {
            Result<std::string> r = join_partition((*build_paths)[p], (*probe_paths)[p]);
            if (!r) return std::move(r).error().in_stage(stage_);
            if (!r->empty()) results.push_back(std::move(*r));
        }
        const spill::Merger::Compare in_probe_order = [](const Value* a, const Value* b) {
            for (int k = 0; k < 2; ++k)
                if (a[k].as_int() != b[k].as_int()) return a[k].as_int() < b[k].as_int() ? -1 : 1;
            return 0;
        };
        // As many readers at once as fit the budget (a tiny one merges in passes).
        if (Status st =
                spill::merge_down(files_, results, 2, in_probe_order, spill::fan_in_for(budget_));
            !st)
            return std::move(st).error().in_stage(stage_);
        auto merger = spill::Merger::open(results, 2, in_probe_order);
        if (!merger) return std::move(merger).error().in_stage(stage_);
        merger_ = std::move(*merger);
        return {};
    }

    Result<bool> finish_more(Emitter& out) override {
        if (merger_) {
            Result<bool> more = spill::emit_merged(merger_, batch_size_, out, files_);
            if (!more) return std::move(more).error().in_stage(stage_);
            return *more;
        }
        // Build records the probe side did not match (or did, for a semi join built on the
        // left), a batch of the table at a time.
        if (!at_end_wanted()) return false;
        while (end_batch_ < table_.batches.size()) {
            CONVEYOR_TRY(emit_unmatched_build(table_, end_batch_++, 0));
            if (!out_.ready_empty()) break;
        }
        out_.emit(out);
        return end_batch_ < table_.batches.size();
    }

    void abort() noexcept override {
        merger_.reset();
        build_parts_.reset();
        probe_parts_.reset();
        files_.remove_all();
    }

private:
    /// Build records that go out after the probe side: unmatched right ones (right, full),
    /// or, built on the left, the left ones semi/anti/left/full want.
    [[nodiscard]] bool at_end_wanted() const {
        if (!spec_.build_left) return spec_.keep_right();
        return spec_.keep_left() || spec_.left_only();
    }

    expr::OperandReader& reader(std::size_t port) {
        return port == 0 ? left_reader_ : right_reader_;
    }

    /// The key of `row` (from input `port`) into key_: false when it has a null part (it
    /// matches nothing) or reading it failed (a record error, reported).
    Result<bool> key_of(std::size_t port, const Schema& schema, std::span<const Value> row,
                        Arena& arena, bool report = true) {
        expr::OperandReader& rd = reader(port);
        if (!rd.read(row, arena, values_.data())) {
            if (!report) return false;
            Error e(ErrorKind::Data, (port == 0 ? "left key " : "right key ") + rd.error());
            if (!errors_) return std::move(e).in_stage(stage_);
            CONVEYOR_TRY(errors_->record_failed(schema, row, std::move(e)));
            return false;
        }
        key_.clear();
        for (const Value& v : values_) {
            if (v.is_null()) return false; // as in SQL, null keys never match
            const std::optional<Value> n =
                v.kind() == Kind::String ? plain_integer(v.as_string()) : std::nullopt;
            encode_key(key_, n ? *n : v);
        }
        return true;
    }

    Status build(Batch&& batch) {
        CONVEYOR_TRY(build_into(table_, std::move(batch), build_seq_));
        build_seq_ += static_cast<std::int64_t>(table_.batches.back().rows());
        return {};
    }

    /// `report`: a key that cannot be read is a record error (false when it was reported
    /// already, reading back a partition).
    /// `seqs`: each row's sequence number, when they are not seq0, seq0 + 1, ...
    Status build_into(BuildTable& t, Batch&& batch, std::int64_t seq0, bool report = true,
                      const std::int64_t* seqs = nullptr) {
        if (seqs) t.row_seq.insert(t.row_seq.end(), seqs, seqs + batch.rows());
        const auto b = static_cast<std::uint32_t>(t.batches.size());
        reader(spec_.build_port()).bind(batch.schema_ref());
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            const auto i = static_cast<std::uint32_t>(t.rows.size());
            t.rows.push_back({b, static_cast<std::uint32_t>(r)});
            t.next.push_back(BuildTable::kNone);
            t.matched.push_back(0);
            Result<bool> k =
                key_of(spec_.build_port(), batch.schema(), batch.row(r), batch.arena(), report);
            if (!k) return std::move(k).error();
            if (!*k) continue;
            const auto [slot, inserted] = t.keys.insert(key_);
            if (inserted) {
                t.heads.emplace_back(i, i);
                t.bytes += key_.size() + 32;
            } else {
                t.next[t.heads[slot].second] = i;
                t.heads[slot].second = i;
            }
        }
        t.bytes += batch.memory_bytes() + batch.rows() * (sizeof(BuildTable::Ref) + 5);
        t.batch_seq.push_back(seq0);
        t.batch_base.push_back(b == 0 ? 0 : t.batch_base.back() + t.batches.back().rows());
        t.batches.push_back(std::move(batch));
        return {};
    }

    const JoinShape& shape(const SchemaRef& left, const SchemaRef& right) {
        if (last_shape_ && last_shape_->left == left && last_shape_->right == right)
            return last_shape_->shape;
        auto& s = shapes_[{left.get(), right.get()}];
        if (!s.shape.schema) {
            // The schemas are kept: their addresses stay theirs while the key is here.
            s.left = left;
            s.right = right;
            s.shape =
                make_shape(*left, *right, spec_.shared_keys, spec_.left_suffix, spec_.right_suffix);
        }
        last_shape_ = &s;
        return s.shape;
    }

    SchemaRef side_schema(std::size_t port) {
        if (!side_schema_[port]) side_schema_[port] = make_schema({});
        return side_schema_[port];
    }

    /// Joins the rows of a probe batch with the build table; `seq0` numbers its rows (for
    /// ordering results in grace mode).
    Status probe(Batch& batch, std::int64_t seq0 = 0) { return probe_with(table_, batch, seq0); }

    /// Row r's sequence number: seqs[r] when given, else seq0 + r.
    Status probe_with(BuildTable& t, Batch& batch, std::int64_t seq0,
                      const std::int64_t* seqs = nullptr) {
        const std::size_t pp = spec_.probe_port();
        reader(pp).bind(batch.schema_ref());
        const std::size_t rows = batch.rows();
        // First every key and its hash, prefetching where it sits in the table; then the
        // lookups, prefetching the first matching build row; then the output. The cache
        // misses of a batch overlap instead of coming one after another.
        probe_keys_.clear();
        key_ends_.resize(rows);
        hashes_.resize(rows);
        has_key_.resize(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            Result<bool> k = key_of(pp, batch.schema(), batch.row(r), batch.arena());
            if (!k) return std::move(k).error();
            has_key_[r] = *k ? 1 : 0;
            if (*k) {
                probe_keys_ += key_;
                hashes_[r] = KeyTable::hash_of(key_);
                t.keys.prefetch(hashes_[r]);
            }
            key_ends_[r] = probe_keys_.size();
        }
        first_match_.resize(rows);
        for (std::size_t r = 0; r < rows; ++r) {
            std::uint32_t m = BuildTable::kNone;
            if (has_key_[r]) {
                const std::size_t from = r ? key_ends_[r - 1] : 0;
                const std::string_view key =
                    std::string_view(probe_keys_).substr(from, key_ends_[r] - from);
                if (const auto slot = t.keys.find(key, hashes_[r])) {
                    m = t.heads[*slot].first;
                    const BuildTable::Ref& ref = t.rows[m];
                    __builtin_prefetch(t.batches[ref.batch].row(ref.row).data());
                }
            }
            first_match_[r] = m;
        }
        for (std::size_t r = 0; r < rows; ++r) {
            const auto row = batch.row(r);
            std::uint32_t m = first_match_[r];
            const std::int64_t seq = seqs ? seqs[r] : seq0 + static_cast<std::int64_t>(r);
            std::int64_t n = 0;
            if (spec_.left_only() && !spec_.build_left) {
                // semi / anti, probing with the left: the left record, once.
                if ((m != BuildTable::kNone) == (spec_.type == JoinType::Semi)) {
                    std::span<Value> o = out_.row(batch.schema_ref(), seq, 0);
                    std::copy(row.begin(), row.end(), o.begin());
                    out_.share(batch, 0);
                    CONVEYOR_TRY(out_.done());
                }
                continue;
            }
            for (; m != BuildTable::kNone; m = t.next[m]) {
                t.matched[m] = 1;
                if (spec_.left_only()) continue; // built on the left: put out at the end
                const std::uint32_t bi = t.rows[m].batch;
                Batch& bb = t.batches[bi];
                emit_pair(batch, row, bb, bi, bb.row(t.rows[m].row), seq, n++);
                CONVEYOR_TRY(out_.done());
            }
            const bool keep_unmatched = spec_.build_left ? spec_.keep_right() : spec_.keep_left();
            if (n == 0 && keep_unmatched && !spec_.left_only()) {
                emit_one_sided(pp, batch, 0, row, seq);
                CONVEYOR_TRY(out_.done());
            }
        }
        return {};
    }

    /// A probe row and a build row as one output row.
    void emit_pair(Batch& pb, std::span<const Value> prow, Batch& bb, std::uint32_t bi,
                   std::span<const Value> brow, std::int64_t seq, std::int64_t n) {
        const Batch& lb = spec_.build_left ? bb : pb;
        const Batch& rb = spec_.build_left ? pb : bb;
        const auto lrow = spec_.build_left ? brow : prow;
        const auto rrow = spec_.build_left ? prow : brow;
        const JoinShape& s = shape(lb.schema_ref(), rb.schema_ref());
        std::span<Value> o = out_.row(s.schema, seq, n);
        s.fill(lrow, rrow, o);
        out_.share(pb, 0);
        out_.share(bb, std::size_t{bi} + 1);
    }

    /// A record of one side only, the other side's fields null.
    /// `id`: b's name for Output::share.
    void emit_one_sided(std::size_t port, Batch& b, std::size_t id, std::span<const Value> row,
                        std::int64_t a, std::int64_t n = 0) {
        if (spec_.left_only()) {
            std::span<Value> o = out_.row(b.schema_ref(), a, n);
            std::copy(row.begin(), row.end(), o.begin());
        } else {
            const SchemaRef l = port == 0 ? b.schema_ref() : side_schema(0);
            const SchemaRef r = port == 1 ? b.schema_ref() : side_schema(1);
            const JoinShape& s = shape(l, r);
            std::span<Value> o = out_.row(s.schema, a, n);
            s.fill(port == 0 ? row : std::span<const Value>(),
                   port == 1 ? row : std::span<const Value>(), o);
        }
        out_.share(b, id);
    }

    /// The build records of table batch `i` that go out after the probe side.
    Status emit_unmatched_build(BuildTable& t, std::size_t i, std::int64_t) {
        Batch& b = t.batches[i];
        const std::size_t base = t.batch_base[i];
        for (std::size_t r = 0; r < b.rows(); ++r) {
            const bool matched = t.matched[base + r] != 0;
            bool wanted;
            if (spec_.type == JoinType::Semi)
                wanted = matched;
            else
                wanted = !matched; // anti, and the unmatched of left/right/full
            if (!wanted) continue;
            const std::int64_t seq = t.row_seq.empty()
                                         ? t.batch_seq[i] + static_cast<std::int64_t>(r)
                                         : t.row_seq[base + r];
            emit_one_sided(spec_.build_port(), b, i + 1, b.row(r), kAtEnd, seq);
            CONVEYOR_TRY(out_.done());
        }
        return {};
    }

    /// Over the share: every record from now on, and those held, goes to partitions.
    Status start_grace() {
        grace_ = true;
        build_parts_.emplace(files_, kPartitions);
        probe_parts_.emplace(files_, kPartitions);
        spdlog::info("stage '{}': build side beyond its memory share ({}): grace hash join "
                     "through {}",
                     stage_, obs::human_bytes(budget_), files_.dir());
        BuildTable held = std::move(table_);
        table_.clear();
        const std::int64_t next_build = build_seq_;
        build_seq_ = 0;
        for (Batch& b : held.batches)
            CONVEYOR_TRY(partition(spec_.build_port(), b, false));
        build_seq_ = next_build;
        std::vector<Batch> pending = std::move(pending_);
        pending_.clear();
        pending_bytes_ = 0;
        for (Batch& b : pending)
            CONVEYOR_TRY(partition(spec_.probe_port(), b));
        return {};
    }

    /// Writes the rows of `batch` (from `port`) to that side's partitions, by key. Rows with
    /// no key (null) go to partition 0: they match nothing but may still go out.
    Status partition(std::size_t port, Batch& batch, bool report = true) {
        const bool is_build = port == spec_.build_port();
        spill::Partitions& parts = is_build ? *build_parts_ : *probe_parts_;
        std::int64_t& seq = is_build ? build_seq_ : probe_seq_;
        reader(port).bind(batch.schema_ref());
        for (std::size_t r = 0; r < batch.rows(); ++r, ++seq) {
            Result<bool> k = key_of(port, batch.schema(), batch.row(r), batch.arena(), report);
            if (!k) return std::move(k).error();
            if (!*k) {
                // A failed key was reported (and the record left out) unless the key is null.
                if (!null_key(port, batch, r)) continue;
                key_.clear();
            }
            Status st =
                parts.add(*k ? parts.partition_of(key_) : 0, seq, batch.schema(), batch.row(r));
            if (!st) return std::move(st).error().in_stage(stage_);
        }
        return {};
    }

    /// True when row r's key could be read and has a null part (not a failed read).
    bool null_key(std::size_t port, Batch& batch, std::size_t r) {
        return reader(port).read(batch.row(r), batch.arena(), values_.data());
    }

    /// Joins build partition `bpath` with probe partition `ppath` into a result run ("" when
    /// there is nothing).
    Result<std::string> join_partition(const std::string& bpath, const std::string& ppath) {
        BuildTable t;
        if (!bpath.empty())
            CONVEYOR_TRY(spill::read_batches(
                bpath, batch_size_, [&](Batch& b, std::span<const std::int64_t> seqs) {
                    return build_into(t, std::move(b), seqs[0], false, seqs.data());
                }));
        Result<spill::RunWriter> w = files_.create();
        if (!w) return std::move(w).error();
        out_.to_run(&*w);
        if (!ppath.empty())
            CONVEYOR_TRY(spill::read_batches(ppath, batch_size_,
                                             [&](Batch& b, std::span<const std::int64_t> seqs) {
                                                 return probe_with(t, b, 0, seqs.data());
                                             }));
        if (at_end_wanted())
            for (std::size_t i = 0; i < t.batches.size(); ++i)
                CONVEYOR_TRY(emit_unmatched_build(t, i, 0));
        out_.flush();
        out_.to_run(nullptr);
        CONVEYOR_TRY(w->close());
        if (!bpath.empty()) files_.remove(bpath);
        if (!ppath.empty()) files_.remove(ppath);
        return w->path();
    }

    const JoinSpec& spec_;
    expr::OperandReader left_reader_;
    expr::OperandReader right_reader_;
    std::size_t batch_size_;
    std::uint64_t budget_;
    std::string stage_;
    spill::Files files_;
    StageErrors* errors_;
    Output out_;

    SchemaRef side_schema_[2];
    struct ShapeEntry {
        SchemaRef left;
        SchemaRef right;
        JoinShape shape;
    };
    std::map<std::pair<const Schema*, const Schema*>, ShapeEntry> shapes_;
    const ShapeEntry* last_shape_ = nullptr;
    std::string key_;
    std::vector<Value> values_;
    // A probe batch's keys (back to back), their ends, hashes, whether each has one, and
    // the first build row each matches.
    std::string probe_keys_;
    std::vector<std::size_t> key_ends_;
    std::vector<std::uint64_t> hashes_;
    std::vector<std::uint8_t> has_key_;
    std::vector<std::uint32_t> first_match_;

    BuildTable table_;
    bool build_done_ = false;
    std::int64_t build_seq_ = 0;
    std::int64_t probe_seq_ = 0;
    std::vector<Batch> pending_;
    std::uint64_t pending_bytes_ = 0;
    std::size_t end_batch_ = 0;

    bool grace_ = false;
    std::optional<spill::Partitions> build_parts_;
    std::optional<spill::Partitions> probe_parts_;
    std::unique_ptr<spill::Merger> merger_;
};

} // namespace

std::unique_ptr<Operator> make_join_operator(const JoinSpec& spec, const OpenContext& ctx) {
    return std::make_unique<JoinOperator>(spec, ctx);
}

} // namespace conveyor::plugins::join
