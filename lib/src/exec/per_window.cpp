#include "per_window.hpp"

#include "conveyor/format/value_key.hpp"
#include "conveyor/stage/emitter.hpp"

#include <algorithm>
#include <list>
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
          fixed_(new bool[ctx.input_schemas_fixed.size() + 1]()), spare_(std::move(first)) {
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
            Result<Operator*> op = window("");
            if (!op) return std::move(op).error();
            return (*op)->push(port, std::move(batch), out);
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
            Result<Operator*> op = window(key_);
            if (!op) return std::move(op).error();
            if (r == 0 && e == batch.rows()) return (*op)->push(port, std::move(batch), out);
            Batch part(batch.schema_ref(), e - r);
            part.share_storage_of(batch);
            for (std::size_t i = r; i < e; ++i)
                part.append_row(batch.row(i));
            CONVEYOR_TRY((*op)->push(port, std::move(part), out));
            r = e;
        }
        return {};
    }

    [[nodiscard]] bool consumes(const BatchInfo& info) const noexcept override {
        return std::holds_alternative<WindowClosed>(info);
    }

    Status on_info(const BatchInfo& info, Emitter& out) override {
        key_of(std::get<WindowClosed>(info).start, key_);
        if (auto it = index_.find(key_); it != index_.end()) {
            const auto w = it->second;
            index_.erase(it);
            Status s = drain(*w->op, out);
            windows_.erase(w);
            CONVEYOR_TRY(s);
        }
        out.emit(Batch::info_only(info));
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
    };

    static void key_of(const Value& v, std::string& key) {
        key.clear();
        if (!v.is_absent()) encode_key(key, v);
    }

    /// The instance of the window with key `key`, opened on its first record.
    Result<Operator*> window(const std::string& key) {
        if (auto it = index_.find(key); it != index_.end()) return it->second->op.get();
        std::unique_ptr<Operator> op = std::move(spare_);
        if (!op) {
            Result<OpenedStage> opened = stage_.open(ctx_);
            if (!opened) return std::move(opened).error();
            auto* o = std::get_if<std::unique_ptr<Operator>>(&opened->op);
            if (!o) return Error(ErrorKind::Internal, "a per-window stage must be an operator");
            op = std::move(*o);
        }
        windows_.push_back(Window{key, std::move(op)});
        const auto it = std::prev(windows_.end());
        index_.emplace(key, it);
        return it->op.get();
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
    std::unique_ptr<Operator> spare_; ///< opened and not given a window yet
    std::list<Window> windows_;       ///< open windows, in order of their first record
    std::unordered_map<std::string, std::list<Window>::iterator> index_;
    std::string key_;
    std::string next_key_;
};

} // namespace

std::unique_ptr<Operator> per_window(const Stage& stage, const OpenContext& ctx,
                                     std::unique_ptr<Operator> first) {
    return std::make_unique<PerWindow>(stage, ctx, std::move(first));
}

} // namespace conveyor::exec
