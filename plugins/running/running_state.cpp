#include "running_state.hpp"

#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/value_key.hpp"

#include <charconv>
#include <fmt/format.h>

namespace conveyor::plugins::running {

namespace {

std::optional<double> number_of(const Value& v) {
    if (v.is_number()) return v.as_double();
    if (!v.is_string() || v.as_string().empty()) return std::nullopt;
    double d = 0;
    const std::string_view s = v.as_string();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return d;
}

bool blank(const Value& v) {
    return v.is_null() || (v.is_string() && v.as_string().empty());
}

} // namespace

Kept Kept::of(const Value& v) {
    Kept k;
    if (v.kind() == Kind::String || v.kind() == Kind::Array || v.kind() == Kind::Object ||
        v.has_number_text()) {
        k.arena = std::make_shared<Arena>(64);
        k.v = copy_into(*k.arena, v);
    } else {
        k.v = v.is_absent() ? Value::null() : v;
    }
    return k;
}

RunningState::RunningState(const RunningSpec& spec, StageErrors* errors, std::string stage)
    : spec_(spec), reader_(spec.operands), errors_(errors), stage_(std::move(stage)) {
    values_.resize(spec.operands.size());
}

Status RunningState::compute(Batch& batch, const std::vector<Value>* leads) {
    const std::size_t n = spec_.operations.size();
    const ColumnLayout& layout = layouts_.get(
        batch.schema_ref(), [&](const Schema& in) { return layout_setting(in, spec_.outputs); });
    reader_.bind(batch.schema_ref());
    out_.assign(batch.rows() * n, Value::null());
    keep_.assign(batch.rows(), 1);
    std::size_t failed = 0;
    for (std::size_t r = 0; r < batch.rows(); ++r) {
        Status st =
            compute_row(batch, r, out_.data() + r * n, leads ? leads->data() + r * n : nullptr);
        if (st) continue;
        if (!errors_) return std::move(st).error().in_stage(stage_);
        CONVEYOR_TRY(errors_->record_failed(batch.schema(), batch.row(r), std::move(st).error()));
        keep_[r] = 0;
        ++failed;
    }
    layout.apply(batch);
    for (std::size_t r = 0; r < batch.rows(); ++r) {
        auto row = batch.row(r);
        for (std::size_t o = 0; o < n; ++o)
            row[layout.target[o]] = out_[r * n + o];
    }
    for (const auto& owner : storage_)
        batch.keep_alive(owner);
    storage_.clear();
    if (failed) batch.retain_rows(keep_);
    return {};
}

void RunningState::keep(const std::shared_ptr<Arena>& arena) {
    if (arena && (storage_.empty() || storage_.back() != arena)) storage_.push_back(arena);
}

Status RunningState::compute_row(Batch& batch, std::size_t r, Value* out, const Value* leads) {
    if (!reader_.read(batch.row(r), batch.arena(), values_.data()))
        return fail(ErrorKind::Data, reader_.error());
    // Checked before any state changes: a failed record counts nowhere.
    for (std::size_t o = 0; o < spec_.operations.size(); ++o) {
        const Operation& op = spec_.operations[o];
        if (op.op != Op::Sum && op.op != Op::Avg && op.op != Op::Ewma) continue;
        const Value& v = values_[spec_.input_of[o]];
        if (blank(v) || number_of(v)) continue;
        return fail(ErrorKind::Data, fmt::format("column '{}' holds {}, not a number",
                                                 op.input->text(), json::to_string(v)));
    }
    partition_key(spec_, values_, key_);
    auto [it, inserted] = partitions_.try_emplace(key_);
    std::vector<State>& states = it->second;
    if (inserted) states.resize(spec_.operations.size());
    for (std::size_t o = 0; o < spec_.operations.size(); ++o) {
        const Operation& op = spec_.operations[o];
        update(op, states[o], op.input ? values_[spec_.input_of[o]] : Value::absent(), out[o],
               leads ? &leads[o] : nullptr);
    }
    return {};
}

void RunningState::update(const Operation& op, State& s, const Value& v, Value& out,
                          const Value* lead) {
    switch (op.op) {
    case Op::RowNumber:
        out = Value::integer(++s.count);
        break;
    case Op::Count:
        if (!v.is_null()) ++s.count;
        out = Value::integer(s.count);
        break;
    case Op::Sum:
    case Op::Avg: {
        if (!blank(v)) {
            const std::optional<double> d = number_of(v); // checked above
            ++s.count;
            s.sum += *d;
            if (v.kind() == Kind::Int && s.int_only) {
                if (__builtin_add_overflow(s.isum, v.as_int(), &s.isum)) s.int_only = false;
            } else {
                s.int_only = false;
            }
        }
        if (op.op == Op::Sum)
            out = s.int_only ? Value::integer(s.isum) : Value::real(s.sum);
        else
            out = s.count ? Value::real(s.sum / static_cast<double>(s.count)) : Value::null();
        break;
    }
    case Op::Min:
    case Op::Max: {
        if (!v.is_null()) {
            bool better = s.best.v.is_absent();
            if (!better) {
                const auto a = number_of(v);
                const auto b = number_of(s.best.v);
                const int c = a && b ? (*a < *b   ? -1
                                        : *a > *b ? 1
                                                  : 0)
                                     : compare_values(key_value(v), key_value(s.best.v));
                better = op.op == Op::Min ? c < 0 : c > 0;
            }
            if (better) s.best = Kept::of(v);
        }
        out = s.best.v.is_absent() ? Value::null() : s.best.v;
        keep(s.best.arena);
        break;
    }
    case Op::Lag:
    case Op::Delta: {
        const std::size_t offset = op.op == Op::Lag ? op.offset : 1;
        if (s.history.size() >= offset) {
            const Kept& prev = s.history[s.history.size() - offset];
            if (op.op == Op::Lag) {
                out = prev.v;
                keep(prev.arena);
            } else {
                const auto a = number_of(v);
                const auto b = number_of(prev.v);
                std::int64_t d = 0;
                if (a && b) {
                    // Past int64 (9223372036854775807 after -9223372036854775808) a double, as
                    // Miller gives, not the integer it wrapped around to.
                    if (v.kind() == Kind::Int && prev.v.kind() == Kind::Int &&
                        !__builtin_sub_overflow(v.as_int(), prev.v.as_int(), &d))
                        out = Value::integer(d);
                    else
                        out = Value::real(*a - *b);
                }
            }
        }
        s.history.push_back(Kept::of(v));
        if (s.history.size() > offset) s.history.pop_front();
        break;
    }
    case Op::Ratio: {
        // This value over the previous one: null for the first, or when either is not a
        // number, or the previous one is 0.
        if (!s.history.empty()) {
            const auto a = number_of(v);
            const auto b = number_of(s.history.back().v);
            if (a && b && *b != 0) out = Value::real(*a / *b);
        }
        s.history.clear();
        s.history.push_back(Kept::of(v));
        break;
    }
    case Op::FromFirst: {
        // The change from the partition's first number (kept in best).
        const auto a = number_of(v);
        if (!a) break;
        if (s.best.v.is_absent()) s.best = Kept::of(v);
        const Value& first = s.best.v;
        std::int64_t d = 0;
        if (v.kind() == Kind::Int && first.kind() == Kind::Int &&
            !__builtin_sub_overflow(v.as_int(), first.as_int(), &d))
            out = Value::integer(d);
        else
            out = Value::real(*a - *number_of(first));
        break;
    }
    case Op::Ewma: {
        // s = alpha * v + (1 - alpha) * s, from the first number on; a blank passes.
        if (!blank(v)) {
            const double x = *number_of(v); // checked above
            s.sum = s.count == 0 ? x : op.alpha * x + (1 - op.alpha) * s.sum;
            ++s.count;
        }
        if (s.count) out = Value::real(s.sum);
        break;
    }
    case Op::Lead:
        out = lead ? *lead : Value::null();
        break;
    case Op::FillDown:
        // A blank (null, empty or missing) value takes the last one that was not.
        if (!blank(v)) {
            s.best = Kept::of(v);
            out = v;
        } else {
            out = s.best.v.is_absent() ? v : s.best.v;
            keep(s.best.arena);
        }
        break;
    }
}

} // namespace conveyor::plugins::running
