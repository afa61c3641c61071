#include "window_engine.hpp"

#include <algorithm>

namespace conveyor::plugins::window {

namespace {

/// Floor division (toward minus infinity), for window numbers of negative times.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

bool is_window_field(std::string_view name) noexcept {
    return name == kStartField || name == kEndField;
}

} // namespace

WindowEngine::WindowEngine(WindowSpec spec, DropHandler on_drop)
    : spec_(std::move(spec)), on_drop_(std::move(on_drop)) {
    if (spec_.type == WindowType::Tumbling) spec_.slide = spec_.size;
}

const WindowEngine::Mapping& WindowEngine::mapping(const SchemaRef& in_schema) {
    return mappings_.get(in_schema, [](const Schema& s) {
        Mapping m;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (is_window_field(s.name(i))) continue; // replaced by this window's
            names.push_back(s.name(i));
            m.source.push_back(i);
        }
        m.start = names.size();
        m.end = m.start + 1;
        names.emplace_back(kStartField);
        names.emplace_back(kEndField);
        m.source.resize(names.size(), Batch::npos);
        m.out_schema = make_schema(std::move(names));
        return m;
    });
}

Batch& WindowEngine::sink_batch(Sink& sink, const SchemaRef& in_schema) {
    std::vector<Batch>& out = *sink.out;
    if (sink.index == SIZE_MAX || sink.in_schema != in_schema) {
        out.emplace_back(mapping(in_schema).out_schema);
        sink.index = out.size() - 1;
        sink.in_schema = in_schema;
        sink.owners.clear();
    }
    return out[sink.index];
}

void WindowEngine::make_bounds(Window& w) const {
    if (spec_.by_count) {
        w.vstart = Value::integer(w.start);
        w.vend = Value::integer(w.end);
        return;
    }
    w.text = std::make_shared<std::string>(format_rfc3339(w.start));
    const std::size_t split = w.text->size();
    if (spec_.type != WindowType::Session) *w.text += format_rfc3339(w.end);
    w.vstart = Value::string(std::string_view(w.text->data(), split));
    w.vend = spec_.type == WindowType::Session
                 ? Value::null()
                 : Value::string(std::string_view(w.text->data() + split, w.text->size() - split));
}

WindowEngine::Window& WindowEngine::open_window(std::int64_t start, std::int64_t end,
                                                std::map<std::int64_t, Window>::iterator& hint) {
    if (hint != open_.end() && hint->first == start) return (hint++)->second;
    Window w;
    w.start = start;
    w.end = end;
    make_bounds(w);
    return open_.emplace_hint(hint, start, std::move(w))->second;
}

bool WindowEngine::tick() {
    // Asking on every row would cost more than the row; 4096 rows take well under a
    // millisecond.
    if (!interrupted_ && interrupt_ && (++ticks_ & 0xFFFu) == 0 && interrupt_())
        interrupted_ = true;
    return interrupted_;
}

bool WindowEngine::placeable(std::int64_t t) const noexcept {
    if (t < kMinTimeMs || t > kMaxTimeMs) return false;
    std::int64_t last_end = 0;
    if (spec_.type == WindowType::Session)
        return !__builtin_add_overflow(t, spec_.gap, &last_end) && last_end <= kMaxTimeMs;
    // The windows holding t start in (t - size, t], on multiples of slide.
    std::int64_t before = 0;
    std::int64_t first_start = 0;
    if (__builtin_sub_overflow(t, spec_.size, &before) ||
        __builtin_mul_overflow(floor_div(before, spec_.slide) + 1, spec_.slide, &first_start) ||
        first_start < kMinTimeMs)
        return false;
    const std::int64_t last_start = floor_div(t, spec_.slide) * spec_.slide; // in (t - slide, t]
    return !__builtin_add_overflow(last_start, spec_.size, &last_end) && last_end <= kMaxTimeMs;
}

void WindowEngine::emit_row(Batch& in, std::size_t row, const Window& w, Sink& sink) {
    Batch& b = sink_batch(sink, in.schema_ref());
    const void* in_id = &in;
    if (sink.owners.insert(in_id).second) b.share_storage_of(in);
    if (w.text && sink.owners.insert(w.text.get()).second) b.keep_alive(w.text);
    const Mapping& m = mapping(in.schema_ref());
    const std::span<const Value> src = in.row(row);
    std::span<Value> dst = b.append_row();
    for (std::size_t c = 0; c < m.start; ++c)
        dst[c] = src[m.source[c]];
    dst[m.start] = w.vstart;
    dst[m.end] = w.vend;
    tick();
}

void WindowEngine::emit_marker(const Window& w, Sink& sink) {
    // The close follows the rows before it: it rides on the last output batch (which is then
    // complete: later rows start a new one), or alone. Never a record (typed metadata).
    WindowClosed info{w.vstart, w.vend, w.text};
    std::vector<Batch>& out = *sink.out;
    if (!out.empty() && out.back().checkpoint_id() == 0)
        out.back().add_info(std::move(info));
    else
        out.push_back(Batch::info_only(std::move(info)));
    sink.index = SIZE_MAX;
    sink.in_schema = nullptr;
    sink.owners.clear();
    tick();
}

void WindowEngine::close_front(Sink& sink) {
    Window w = std::move(open_.begin()->second);
    open_.erase(open_.begin());
    if (spec_.by_count && w.end > records_) {
        w.end = records_; // the input ended inside this window
        make_bounds(w);
    }
    if (spec_.type == WindowType::Session && !spec_.by_count) {
        // The session's end is known now: its last record's time + gap.
        w.text = std::make_shared<std::string>(format_rfc3339(w.start) + format_rfc3339(w.end));
        const std::size_t split = format_rfc3339(w.start).size();
        w.vstart = Value::string(std::string_view(w.text->data(), split));
        w.vend = Value::string(std::string_view(w.text->data() + split, w.text->size() - split));
    }
    emit_marker(w, sink);
}

void WindowEngine::close_until(std::int64_t t, Sink& sink) {
    while (!interrupted_ && !open_.empty() && open_.begin()->second.end <= t)
        close_front(sink);
}

void WindowEngine::close_all(Sink& sink) {
    while (!interrupted_ && !open_.empty())
        close_front(sink);
}

void WindowEngine::place(Batch& in, std::size_t row, std::int64_t t, Sink& sink) {
    if (spec_.by_count) {
        // Windows [k*slide, k*slide + size) holding record number t.
        const std::int64_t hi = floor_div(t, spec_.slide);
        const std::int64_t lo =
            std::max<std::int64_t>(0, floor_div(t - spec_.size, spec_.slide) + 1);
        auto hint = open_.lower_bound(lo * spec_.slide);
        for (std::int64_t k = lo; k <= hi && !interrupted_; ++k) {
            const std::int64_t start = k * spec_.slide; // at most t
            std::int64_t end = 0;
            if (__builtin_add_overflow(start, spec_.size, &end)) end = INT64_MAX; // never ends
            emit_row(in, row, open_window(start, end, hint), sink);
        }
        ++records_;
        close_until(records_, sink);
        return;
    }
    // Callers checked placeable(t): t, t + gap and every window bound below are within
    // [kMinTimeMs, kMaxTimeMs], so nothing here overflows.
    close_until(t, sink); // in time order: windows that ended by t are over
    if (interrupted_) return;
    if (spec_.type == WindowType::Session) {
        auto hint = open_.end();
        Window& w = open_.empty() ? open_window(t, t + spec_.gap, hint) : open_.begin()->second;
        w.end = std::max(w.end, t + spec_.gap);
        emit_row(in, row, w, sink);
        return;
    }
    // The windows holding t: those starting in (t - size, t] on multiples of slide, at most
    // kMaxWindowsPerRecord of them, found from the first one on.
    const std::int64_t hi = floor_div(t, spec_.slide);
    const std::int64_t lo = floor_div(t - spec_.size, spec_.slide) + 1;
    auto hint = open_.lower_bound(lo * spec_.slide);
    for (std::int64_t k = lo; k <= hi && !interrupted_; ++k) {
        const std::int64_t start = k * spec_.slide;
        emit_row(in, row, open_window(start, start + spec_.size, hint), sink);
    }
}

void WindowEngine::push(Batch&& batch, std::int64_t now, std::vector<Batch>& out) {
    if (spec_.time_field) {
        push_event_time(std::move(batch), out);
        return;
    }
    if (interrupted_) return;
    Sink sink{&out};
    if (spec_.by_count) {
        for (std::size_t r = 0; r < batch.rows() && !interrupted_; ++r)
            place(batch, r, records_, sink);
        return;
    }
    close_until(now, sink);
    if (!placeable(now)) {
        // Only a clock far off (a test's) gets here: the records cannot be given windows.
        for (std::size_t r = 0; r < batch.rows(); ++r) {
            ++out_of_range_;
            if (on_drop_) on_drop_(Drop::OutOfRange, batch, r, now, 0);
        }
        return;
    }
    for (std::size_t r = 0; r < batch.rows() && !interrupted_; ++r)
        place(batch, r, now, sink);
}

void WindowEngine::push_event_time(Batch&& batch, std::vector<Batch>& out) {
    if (batch.empty() || interrupted_) return;
    const std::optional<std::size_t> col = batch.schema().find(*spec_.time_field);
    held_.push_back(HeldBatch{std::move(batch), 0});
    const std::uint64_t id = held_base_ + held_.size() - 1;
    Batch& b = held_.back().batch;
    for (std::size_t r = 0; r < b.rows(); ++r) {
        const Value v = col ? b.at(r, *col) : Value::absent();
        const Timestamp read = read_timestamp(v, spec_.epoch_unit);
        if (read.status == Timestamp::Status::NotATime) {
            ++untimed_;
            if (on_drop_) on_drop_(Drop::NoTimestamp, b, r, 0, watermark_.value_or(0));
            continue;
        }
        if (read.status == Timestamp::Status::OutOfRange || !placeable(read.ms)) {
            ++out_of_range_;
            if (on_drop_) on_drop_(Drop::OutOfRange, b, r, read.ms, watermark_.value_or(0));
            continue;
        }
        const std::optional<std::int64_t> ts = read.ms;
        if (watermark_ && *ts < *watermark_) {
            ++late_;
            if (on_drop_) on_drop_(Drop::Late, b, r, *ts, *watermark_);
            continue;
        }
        heap_.push(Held{*ts, seq_++, id, static_cast<std::uint32_t>(r)});
        ++held_.back().pending;
        // The watermark moves record by record, so which records are late does not depend on
        // how the input was cut into batches.
        if (!max_ts_ || *ts > *max_ts_) {
            max_ts_ = *ts;
            std::int64_t wm = 0; // ts is in range; a lateness beyond it saturates
            if (__builtin_sub_overflow(*ts, spec_.allowed_lateness, &wm)) wm = INT64_MIN;
            if (!watermark_ || wm > *watermark_) watermark_ = wm;
        }
    }
    if (held_.back().pending == 0) held_.pop_back();
    if (heap_.size() > spec_.max_held) {
        // Too much held: move the watermark up to the oldest records so they go on now.
        ++forced_;
        std::vector<Held> keep;
        while (heap_.size() > spec_.max_held / 2) {
            keep.push_back(heap_.top());
            heap_.pop();
        }
        const std::int64_t forced = keep.back().ts;
        for (const Held& h : keep)
            heap_.push(h);
        if (!watermark_ || forced > *watermark_) watermark_ = forced;
    }
    if (watermark_) release(*watermark_, false, out);
}

void WindowEngine::release(std::int64_t up_to, bool all, std::vector<Batch>& out) {
    if (interrupted_) return;
    Sink sink{&out};
    // Records at the watermark itself go too: later records may tie with them but never
    // come before them, and windows ending there close only below.
    while (!interrupted_ && !heap_.empty() && (all || heap_.top().ts <= up_to)) {
        const Held h = heap_.top();
        heap_.pop();
        HeldBatch& hb = held_[h.batch - held_base_];
        place(hb.batch, h.row, h.ts, sink);
        --hb.pending;
    }
    if (all)
        close_all(sink);
    else
        close_until(up_to, sink);
    while (!held_.empty() && held_.front().pending == 0) {
        held_.pop_front();
        ++held_base_;
    }
}

void WindowEngine::advance(std::int64_t now, std::vector<Batch>& out) {
    if (spec_.time_field || spec_.by_count || interrupted_) return;
    Sink sink{&out};
    close_until(now, sink);
}

void WindowEngine::finish(std::vector<Batch>& out) {
    if (spec_.time_field) {
        release(0, true, out);
        return;
    }
    Sink sink{&out};
    close_all(sink);
}

std::optional<std::int64_t> WindowEngine::next_deadline() const {
    if (spec_.time_field || spec_.by_count || open_.empty() || interrupted_) return std::nullopt;
    return open_.begin()->second.end;
}

} // namespace conveyor::plugins::window
