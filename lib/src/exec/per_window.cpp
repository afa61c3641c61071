#include "per_window.hpp"

#include "conveyor/format/value_key.hpp"
#include "conveyor/stage/emitter.hpp"

#include <algorithm>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace conveyor::exec {

namespace {

class PerWindow final : public Operator {
public:
    PerWindow(const Stage& stage, const OpenContext& ctx, std::unique_ptr<Operator> first)
        : stage_(stage), ctx_(ctx), schemas_(ctx.input_schemas.begin(), ctx.input_schemas.end()),
          fixed_(new bool[ctx.input_schemas_fixed.size() + 1]()),
          ports_(std::max<std::size_t>(ctx.input_schemas.size(), 1)), ended_(ports_, 0),
          spare_(std::move(first)) {
        std::copy(ctx.input_schemas_fixed.begin(), ctx.input_schemas_fixed.end(), fixed_.get());
        // The copy's spans point at this object's copies: the executor's go with open_stages.
        ctx_.input_schemas = schemas_;
        ctx_.input_schemas_fixed =
            std::span<const bool>(fixed_.get(), ctx.input_schemas_fixed.size());
        ctx_.resume.reset(); // a window starts empty
    }

    Status push(std::size_t port, Batch&& batch, Emitter& out) override {
        const std::optional<std::size_t> col = batch.schema().find("window_start");
        if (!col || batch.rows() == 0) {
            Result<Window*> w = window("", out);
            if (!w) return std::move(w).error();
            return (*w)->op->push(port, std::move(batch), out);
        }
        // Runs of records of one window go to its instance as they are (usually the whole
        // batch: a tumbling window's records come together).
        std::size_t r = 0;
        while (r < batch.rows()) {
            key_of(batch.at(r, *col), key_);
            std::size_t e = r + 1;
            while (e < batch.rows()) {
                key_of(batch.at(e, *col), next_key_);
                if (next_key_ != key_) break;
                ++e;
            }
            Result<Window*> w = window(key_, out);
            if (!w) return std::move(w).error();
            Operator& op = *(*w)->op;
            if (r == 0 && e == batch.rows()) return op.push(port, std::move(batch), out);
            Batch part(batch.schema_ref(), e - r);
            part.share_storage_of(batch);
            for (std::size_t i = r; i < e; ++i)
                part.append_row(batch.row(i));
            CONVEYOR_TRY(op.push(port, std::move(part), out));
            r = e;
        }
        return {};
    }

    [[nodiscard]] bool consumes(const BatchInfo& info) const noexcept override {
        return std::holds_alternative<WindowClosed>(info);
    }

    Status on_info(std::size_t port, const BatchInfo& info, Emitter& out) override {
        key_of(std::get<WindowClosed>(info).start, key_);
        auto it = index_.find(key_);
        if (ports_ == 1) {
            if (it != index_.end()) CONVEYOR_TRY(close(it->second, out));
            out.emit(Batch::info_only(info));
            return {};
        }
        // Several inputs: the window may still get records on the others.
        Window* w = nullptr;
        if (it != index_.end()) {
            w = &*it->second;
        } else {
            Result<Window*> opened = window(key_, out);
            if (!opened) return std::move(opened).error();
            w = *opened;
        }
        if (!w->info) w->info = info;
        CONVEYOR_TRY(close_port(*w, port, out));
        if (complete(*w)) return close(index_.find(key_)->second, out);
        return {};
    }

    Status input_done(std::size_t port, Emitter& out) override {
        if (port >= ports_ || ended_[port]) return {};
        ended_[port] = 1;
        for (Window& w : windows_)
            CONVEYOR_TRY(close_port(w, port, out));
        if (ports_ == 1) return {};
        // Windows another input closed already are complete now; the others (records without
        // a window, windows no input closed) finish at the end of the input.
        for (auto w = windows_.begin(); w != windows_.end();) {
            const auto next = std::next(w);
            if (w->info && complete(*w)) CONVEYOR_TRY(close(w, out));
            w = next;
        }
        return {};
    }

    Status finish(Emitter& out) override {
        if (windows_.empty()) return {};
        return windows_.front().op->finish(out);
    }

    Result<bool> finish_more(Emitter& out) override {
        if (windows_.empty()) return false;
        Result<bool> more = windows_.front().op->finish_more(out);
        if (!more || *more) return more;
        index_.erase(windows_.front().key);
        windows_.pop_front();
        if (windows_.empty()) return false;
        CONVEYOR_TRY(windows_.front().op->finish(out));
        return true;
    }

    void abort() noexcept override {
        for (Window& w : windows_)
            w.op->abort();
        if (spare_) spare_->abort();
    }

private:
    struct Window {
        std::string key;
        std::unique_ptr<Operator> op;
        std::vector<char> closed;      ///< per input: closed this window (or ended)
        std::optional<BatchInfo> info; ///< its WindowClosed, sent on once every input closed it
    };
    using Windows = std::list<Window>;

    static void key_of(const Value& v, std::string& key) {
        key.clear();
        if (!v.is_absent()) encode_key(key, v);
    }

    /// The instance of the window with key `key`, opened on its first record (or, with several
    /// inputs, when one of them closes it first). Inputs that have ended are done for it.
    Result<Window*> window(const std::string& key, Emitter& out) {
        if (auto it = index_.find(key); it != index_.end()) return &*it->second;
        std::unique_ptr<Operator> op = std::move(spare_);
        if (!op) {
            Result<OpenedStage> opened = stage_.open(ctx_);
            if (!opened) return std::move(opened).error();
            auto* o = std::get_if<std::unique_ptr<Operator>>(&opened->op);
            if (!o) return Error(ErrorKind::Internal, "a per-window stage must be an operator");
            op = std::move(*o);
        }
        windows_.push_back(Window{key, std::move(op), std::vector<char>(ports_, 0), {}});
        const auto it = std::prev(windows_.end());
        index_.emplace(key, it);
        for (std::size_t p = 0; p < ports_; ++p)
            if (ended_[p]) CONVEYOR_TRY(close_port(*it, p, out));
        return &*it;
    }

    /// Input `port` has no more records for window `w`.
    static Status close_port(Window& w, std::size_t port, Emitter& out) {
        if (port >= w.closed.size() || w.closed[port]) return {};
        w.closed[port] = 1;
        return w.op->input_done(port, out);
    }

    [[nodiscard]] static bool complete(const Window& w) {
        return std::all_of(w.closed.begin(), w.closed.end(), [](char c) { return c != 0; });
    }

    /// The window's whole output, then (with several inputs) its WindowClosed; forgets it.
    Status close(Windows::iterator w, Emitter& out) {
        index_.erase(w->key);
        Status s = drain(*w->op, out);
        std::optional<BatchInfo> info = std::move(w->info);
        windows_.erase(w);
        CONVEYOR_TRY(std::move(s));
        if (ports_ > 1 && info) out.emit(Batch::info_only(std::move(*info)));
        return {};
    }

    /// The whole output of `op` at the end of its window.
    static Status drain(Operator& op, Emitter& out) {
        CONVEYOR_TRY(op.finish(out));
        for (;;) {
            Result<bool> more = op.finish_more(out);
            if (!more) return std::move(more).error();
            if (!*more) return {};
        }
    }

    const Stage& stage_;
    OpenContext ctx_;
    std::vector<SchemaRef> schemas_;
    std::unique_ptr<bool[]> fixed_;
    std::size_t ports_;
    std::vector<char> ended_;         ///< per input: it has ended
    std::unique_ptr<Operator> spare_; ///< opened and not given a window yet
    Windows windows_;                 ///< open windows, in order of their first record
    std::unordered_map<std::string, Windows::iterator> index_;
    std::string key_;
    std::string next_key_;
};

} // namespace

std::unique_ptr<Operator> per_window(const Stage& stage, const OpenContext& ctx,
                                     std::unique_ptr<Operator> first) {
    return std::make_unique<PerWindow>(stage, ctx, std::move(first));
}

} // namespace conveyor::exec
