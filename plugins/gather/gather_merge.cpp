#include "gather_merge.hpp"

#include "conveyor/core/arena.hpp"

#include <algorithm>

namespace conveyor::plugins::gather {

namespace {

constexpr std::string_view kArrived = "arrived";
constexpr std::string_view kFailed = "failed";
constexpr std::string_view kTimedOut = "timed_out";
constexpr std::string_view kChosen = "chosen";

} // namespace

Merger::Merger(MergeSpec spec, std::size_t batch_rows)
    : spec_(std::move(spec)), batch_rows_(std::max<std::size_t>(1, batch_rows)) {
    if (spec_.mode == MergeMode::Nest) {
        std::vector<std::string> fields(spec_.names->begin(), spec_.names->end());
        if (spec_.report_field) fields.push_back(*spec_.report_field);
        nest_schema_ = make_schema(std::move(fields));
    }
}

Batch& Merger::batch_for(const SchemaRef& schema) {
    if (current_ && (current_->schema_ref() != schema || current_->rows() >= batch_rows_)) {
        done_.push_back(std::move(*current_));
        current_.reset();
    }
    if (!current_) {
        current_.emplace(schema, batch_rows_);
        shared_.clear();
        // The report's names and the nest field names point into these.
        current_->keep_alive(spec_.names);
    }
    return *current_;
}

void Merger::share(Batch& out, const Held& h) {
    if (std::find(shared_.begin(), shared_.end(), h.batch.get()) != shared_.end()) return;
    out.share_storage_of(*h.batch);
    // Nested records name their fields with the branch schema's strings.
    out.keep_alive(h.batch->schema_ref());
    shared_.push_back(h.batch.get());
}

Value Merger::nested(Batch& out, const Held& h) {
    share(out, h);
    const Schema& schema = h.batch->schema();
    const auto row = h.batch->row(h.row);
    std::uint32_t n = 0;
    for (const Value& v : row)
        n += v.is_absent() ? 0 : 1;
    Member* members = out.arena().allocate_array<Member>(n);
    std::uint32_t k = 0;
    for (std::size_t c = 0; c < row.size(); ++c)
        if (!row[c].is_absent()) members[k++] = Member{schema.name(c), row[c]};
    return Value::object(members, n);
}

Value Merger::report(Batch& out, std::span<const BranchState> states, std::size_t chosen) {
    const std::vector<std::string>& names = *spec_.names;
    Arena& arena = out.arena();
    auto list = [&](BranchState want) {
        std::uint32_t n = 0;
        for (BranchState s : states)
            n += s == want ? 1 : 0;
        Value* items = arena.allocate_array<Value>(n);
        std::uint32_t k = 0;
        for (std::size_t b = 0; b < states.size(); ++b)
            if (states[b] == want) items[k++] = Value::string(names[b]);
        return Value::array(items, n);
    };
    const bool with_chosen = spec_.report_chosen;
    Member* m = arena.allocate_array<Member>(with_chosen ? 4 : 3);
    m[0] = Member{kArrived, list(BranchState::Arrived)};
    m[1] = Member{kFailed, list(BranchState::Failed)};
    m[2] = Member{kTimedOut, list(BranchState::TimedOut)};
    if (with_chosen)
        m[3] =
            Member{kChosen, chosen < names.size() ? Value::string(names[chosen]) : Value::null()};
    return Value::object(m, with_chosen ? 4 : 3);
}

const Merger::FlatLayout& Merger::flat_layout(std::span<const Held> answers) {
    std::vector<SchemaRef>& key = key_;
    key.clear();
    for (std::size_t b : spec_.order)
        key.push_back(answers[b] ? answers[b].batch->schema_ref() : nullptr);
    auto it = flat_.find(key);
    if (it != flat_.end()) return it->second;
    FlatLayout layout;
    std::vector<std::string> fields;
    for (std::size_t i = 0; i < spec_.order.size(); ++i) {
        if (!key[i]) continue;
        const Schema& s = *key[i];
        for (std::size_t c = 0; c < s.size(); ++c) {
            auto f = std::find(fields.begin(), fields.end(), s.name(c));
            if (f == fields.end()) {
                fields.push_back(s.name(c));
                layout.sources.emplace_back();
                f = std::prev(fields.end());
            }
            layout.sources[static_cast<std::size_t>(f - fields.begin())].emplace_back(
                spec_.order[i], c);
        }
    }
    if (spec_.report_field &&
        std::find(fields.begin(), fields.end(), *spec_.report_field) == fields.end()) {
        fields.push_back(*spec_.report_field);
        layout.sources.emplace_back();
    }
    layout.schema = make_schema(std::move(fields));
    return flat_.emplace(key, std::move(layout)).first->second;
}

void Merger::add(std::span<const Held> answers, std::span<const BranchState> states,
                 std::size_t chosen) {
    if (spec_.mode == MergeMode::Nest) {
        Batch& out = batch_for(nest_schema_);
        const std::size_t n = answers.size();
        // Filled before the row is appended: nested() may grow the arena, not the rows.
        std::vector<Value>& values = values_;
        values.assign(nest_schema_->size(), Value::null());
        for (std::size_t b = 0; b < n; ++b)
            if (answers[b]) values[b] = nested(out, answers[b]);
        if (spec_.report_field) values[n] = report(out, states, chosen);
        out.append_row(values);
        return;
    }
    const FlatLayout& layout = flat_layout(answers);
    Batch& out = batch_for(layout.schema);
    std::vector<Value>& values = values_;
    values.assign(layout.schema->size(), Value::absent());
    for (std::size_t f = 0; f < layout.sources.size(); ++f) {
        for (const auto& [b, c] : layout.sources[f]) {
            const Value& v = answers[b].batch->at(answers[b].row, c);
            if (v.is_absent()) continue;
            share(out, answers[b]);
            values[f] = v;
            break;
        }
    }
    if (spec_.report_field) {
        const std::size_t f = *layout.schema->find(*spec_.report_field);
        values[f] = report(out, states, chosen);
    }
    out.append_row(values);
}

std::vector<Batch> Merger::take() {
    if (current_) {
        done_.push_back(std::move(*current_));
        current_.reset();
        shared_.clear();
    }
    return std::exchange(done_, {});
}

} // namespace conveyor::plugins::gather
