#include "aggregator.hpp"

#include "conveyor/format/json_writer.hpp"

#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace conveyor::plugins::aggregate {

namespace {

constexpr std::string_view kStart = "window_start";
constexpr std::string_view kEnd = "window_end";

std::string_view kind_name(Kind k) {
    switch (k) {
    case Kind::String:
        return "a string";
    case Kind::Bool:
        return "a boolean";
    case Kind::Array:
        return "an array";
    case Kind::Object:
        return "an object";
    default:
        return "not a number";
    }
}

} // namespace

namespace {

/// `name` as a path of two steps or more (`user.country`), or nullopt.
std::optional<expr::FieldPath> path_of(const std::string& name) {
    auto p = expr::FieldPath::parse(name);
    if (!p || p->steps().size() < 2) return std::nullopt;
    return std::move(*p);
}

} // namespace

Aggregator::FieldRef Aggregator::field_ref(const Schema& s, const std::string& name,
                                           const std::optional<expr::FieldPath>& path) const {
    FieldRef f;
    f.column = s.find(name);
    if (!f.column && path) {
        f.path = &*path;
        f.where = expr::resolve(*path, s);
    }
    return f;
}

Aggregator::Aggregator(AggregateSpec spec) : spec_(std::move(spec)) {
    for (const std::string& k : spec_.group_by)
        key_paths_.push_back(path_of(k));
    if (spec_.value_column) value_path_ = path_of(*spec_.value_column);
    std::vector<std::string> names = spec_.group_by;
    names.push_back(spec_.output_column);
    names.emplace_back(kStart);
    names.emplace_back(kEnd);
    out_schema_ = make_schema(std::move(names));
}

Aggregator::Window& Aggregator::window_for(const Value& start) {
    // Records of one window come together; sliding windows keep a few open at once.
    for (auto it = windows_.rbegin(); it != windows_.rend(); ++it)
        if (json_equal((*it)->start, start)) return **it;
    auto w = std::make_unique<Window>();
    w->start = copy_into(*w->arena, start);
    windows_.push_back(std::move(w));
    return *windows_.back();
}

Status Aggregator::fold(Acc& acc, const Value& v, std::string_view column, Arena& arena) {
    if (spec_.operation == Operation::Count) {
        if (!spec_.value_column || !v.is_null()) ++acc.count;
        return {};
    }
    if (v.is_null()) return {}; // like SQL: nothing to add
    if (!v.is_number()) {
        std::string shown = json::to_string(v);
        if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
        return fail(ErrorKind::Data,
                    fmt::format("value_column '{}' is {} ({}), not a number; filter such records "
                                "out before aggregate.stream",
                                column, shown, kind_name(v.kind())));
    }
    ++acc.count;
    const double d = v.as_double();
    acc.dsum += d;
    // Past a double's range the sum is infinity, which no writer can show (it would be null).
    if (!std::isfinite(acc.dsum) &&
        (spec_.operation == Operation::Sum || spec_.operation == Operation::Avg))
        return fail(ErrorKind::Data,
                    fmt::format("the {} of value_column '{}' overflows a double (it is beyond "
                                "about 1.8e308) at {}, so it cannot be written as a number",
                                spec_.operation == Operation::Sum ? "sum" : "average", column,
                                json::to_string(v)));
    if (v.kind() == Kind::Int && acc.int_only) {
        if (__builtin_add_overflow(acc.isum, v.as_int(), &acc.isum)) acc.int_only = false;
    } else {
        acc.int_only = false;
    }
    if (spec_.operation == Operation::Min || spec_.operation == Operation::Max) {
        const bool better = acc.best.is_absent() ||
                            (spec_.operation == Operation::Min ? d < acc.best_d : d > acc.best_d);
        if (better) {
            acc.best = copy_into(arena, v); // the input batch goes away; its text with it
            acc.best_d = d;
        }
    }
    return {};
}

Value Aggregator::result(const Acc& acc) const {
    switch (spec_.operation) {
    case Operation::Count:
        return Value::integer(acc.count);
    case Operation::Sum:
        if (acc.count == 0) return Value::null();
        return acc.int_only ? Value::integer(acc.isum) : Value::real(acc.dsum);
    case Operation::Avg:
        if (acc.count == 0) return Value::null();
        return Value::real(acc.dsum / static_cast<double>(acc.count));
    case Operation::Min:
    case Operation::Max:
        return acc.best.is_absent() ? Value::null() : acc.best;
    }
    return Value::null();
}

void Aggregator::emit(Window& w, const Value& end, std::vector<Batch>& out) {
    if (w.groups.empty()) return;
    Batch b(out_schema_, w.groups.size());
    b.keep_alive(w.arena);
    const Value end_copy = copy_into(*w.arena, end);
    const std::size_t keys = spec_.group_by.size();
    for (const Group& g : w.groups) {
        std::span<Value> row = b.append_row();
        for (std::size_t k = 0; k < keys; ++k)
            row[k] = g.key[k];
        row[keys] = result(g.acc);
        row[keys + 1] = w.start;
        row[keys + 2] = end_copy;
    }
    out.push_back(std::move(b));
}

Status Aggregator::push(const Batch& batch, std::vector<Batch>& /*out*/) {
    if (batch.empty()) return {};
    const Columns& c = columns_.get(batch.schema_ref(), [this](const Schema& s) {
        Columns cols;
        cols.start = s.find(kStart);
        cols.end = s.find(kEnd);
        if (spec_.value_column) cols.value = field_ref(s, *spec_.value_column, value_path_);
        for (std::size_t k = 0; k < spec_.group_by.size(); ++k)
            cols.keys.push_back(field_ref(s, spec_.group_by[k], key_paths_[k]));
        return cols;
    });
    if (!c.start)
        return fail(ErrorKind::Data,
                    "aggregate.stream takes the records of window.apply, which carry "
                    "'window_start' and mark where each window closes; this input has no "
                    "'window_start' field (put a window.apply stage before it)");
    Window* last = nullptr;
    const std::string_view column = spec_.value_column ? *spec_.value_column : std::string_view();
    for (std::size_t r = 0; r < batch.rows(); ++r) {
        if (interrupt_ && (r & 0xFFFu) == 0xFFFu && interrupt_())
            return fail(ErrorKind::Cancelled, "cancelled");
        const std::span<const Value> row = batch.row(r);
        const Value& start = row[*c.start];
        Window& w = last && json_equal(last->start, start) ? *last : window_for(start);
        last = &w;
        key_.clear();
        for (const FieldRef& k : c.keys)
            encode_key(key_, k.get(row));
        auto [it, inserted] = w.index.try_emplace(key_, w.groups.size());
        if (inserted) {
            Group g;
            g.key.reserve(c.keys.size());
            // A missing key field groups with null (they encode the same) and shows as null.
            for (const FieldRef& k : c.keys) {
                const Value v = k.get(row);
                g.key.push_back(!v.is_absent() ? copy_into(*w.arena, v) : Value::null());
            }
            w.groups.push_back(std::move(g));
        }
        const Value v = c.value.get(row);
        CONVEYOR_TRY(fold(w.groups[it->second].acc, v, column, *w.arena));
    }
    return {};
}

void Aggregator::close(const WindowClosed& closed, std::vector<Batch>& out) {
    for (auto it = windows_.begin(); it != windows_.end(); ++it) {
        if (!json_equal((*it)->start, closed.start)) continue;
        emit(**it, closed.end, out);
        windows_.erase(it);
        return;
    }
}

void Aggregator::finish(std::vector<Batch>& out) {
    for (auto& w : windows_) {
        if (interrupt_ && interrupt_()) break;
        emit(*w, Value::null(), out);
    }
    windows_.clear();
}

} // namespace conveyor::plugins::aggregate
