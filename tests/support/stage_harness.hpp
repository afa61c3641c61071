#pragma once

// Driving single stages by hand in plugin tests: build through the registry as a pipeline
// would, open with a chosen mode, run a source or feed an operator, render records as JSON
// lines. Also a pipe pair for stdin tests (the run's stdin_fd).

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/emitter.hpp"
#include "conveyor/stage/stage.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace conveyor::test {

inline const Registry& builtin_registry() {
    static const Registry r = [] {
        Registry reg;
        register_builtin_plugins(reg);
        return reg;
    }();
    return r;
}

/// The declared defaults overridden by `given`, as the loader produces them.
inline Options options_for(const FunctionDescriptor& fn,
                           const std::map<std::string, OptionValue>& given) {
    Options o;
    for (const OptionSpec& spec : fn.options)
        if (!spec.default_value.is_null()) o.set(spec.name, spec.default_value, {}, false);
    for (const auto& [k, v] : given)
        o.set(k, v, SourceLocation{"test.toml", 1, 1}, true);
    return o;
}

struct BuiltStage {
    std::unique_ptr<Stage> stage;
    Diagnostics diagnostics;
    [[nodiscard]] std::string errors() const { return diagnostics.to_string(); }
};

/// A TOML table of strings as the loader gives it (`columns = { a = "b" }`), in order.
inline OptionValue string_table(const std::vector<std::pair<std::string, std::string>>& pairs) {
    OptionValue::Table t;
    for (const auto& [k, v] : pairs)
        t.emplace_back(k, OptionValue(v));
    return OptionValue(std::move(t));
}

/// A TOML array of strings.
inline OptionValue string_list(const std::vector<std::string>& items) {
    OptionValue::List l;
    for (const std::string& s : items)
        l.emplace_back(s);
    return OptionValue(std::move(l));
}

/// Opens `stage` with one input whose records have `fields`: a fixed schema (CSV) by default,
/// else one that may change (JSON).
inline Result<OpenedStage> open_over(const Stage& stage, std::vector<std::string> fields,
                                     bool fixed = true) {
    const SchemaRef schema = make_schema(std::move(fields));
    const bool fixed_flag[] = {fixed};
    OpenContext ctx;
    ctx.stage_id = "t";
    ctx.input_schemas = std::span<const SchemaRef>(&schema, 1);
    ctx.input_schemas_fixed = fixed_flag;
    return stage.open(ctx);
}

/// Runs `function`'s factory (from `registry`, all built-in plugins by default).
inline BuiltStage build_stage(const std::string& function,
                              const std::map<std::string, OptionValue>& given,
                              ExecutionMode mode = ExecutionMode::Batch,
                              const Registry* registry = nullptr) {
    const Registry& reg = registry ? *registry : builtin_registry();
    BuiltStage b;
    const FunctionDescriptor* fn = reg.find(function);
    EXPECT_NE(fn, nullptr) << function;
    if (!fn) return b;
    const Options options = options_for(*fn, given);
    GlobalSpec global;
    global.execution_mode = mode;
    BuildContext ctx("stage", options, global, b.diagnostics);
    b.stage = fn->factory(ctx);
    return b;
}

/// Compact JSON per record, one per line (absent fields left out); a record emitted on named
/// output k (Emitter::emit_to) is prefixed "[k] ". Batch metadata follows its batch's records
/// as a line of its own, marked so it cannot pass for a record:
/// `@window_closed {"window_start":S,"window_end":E}`.
inline std::string jsonl(const std::vector<Batch>& batches) {
    std::string out;
    for (const Batch& b : batches) {
        for (std::size_t r = 0; r < b.rows(); ++r) {
            if (b.output() != 0) out += "[" + std::to_string(b.output()) + "] ";
            json::append_record(out, b.schema(), b.row(r));
            out.push_back('\n');
        }
        for (const BatchInfo& info : b.infos()) {
            if (const auto* mark = std::get_if<LineageMark>(&info)) {
                out += "@lineage_mark " + std::to_string(mark->through) + "\n";
                continue;
            }
            const auto& closed = std::get<WindowClosed>(info);
            out += "@window_closed {\"window_start\":";
            json::append_value(out, closed.start);
            out += ",\"window_end\":";
            json::append_value(out, closed.end);
            out += "}\n";
        }
    }
    return out;
}

/// A batch of JSON objects (one schema: the union of their keys in first-seen order).
inline Batch batch_from_json(const std::vector<std::string>& objects) {
    auto arena = std::make_shared<Arena>();
    json::Parser parser;
    std::vector<Value> parsed;
    std::vector<std::string> names;
    for (const std::string& text : objects) {
        auto v = parser.parse(text, *arena);
        EXPECT_TRUE(v.ok()) << text;
        if (!v.ok()) continue;
        parsed.push_back(*v);
        for (const Member& m : v->as_object())
            if (std::find(names.begin(), names.end(), m.key) == names.end())
                names.emplace_back(m.key);
    }
    SchemaRef schema = make_schema(names);
    Batch b(schema);
    b.keep_alive(arena);
    for (const Value& obj : parsed) {
        std::span<Value> row = b.append_row();
        for (const Member& m : obj.as_object())
            row[*schema->find(m.key)] = m.value;
    }
    return b;
}

/// Builds `function` with `options`, opens it (one input, schema unknown), pushes one batch of
/// `records` (JSON objects) and finishes it, as an executor does: what it emits, as JSON lines.
/// `metrics` (optional) receives its counters.
inline std::string transform_jsonl(const std::string& function,
                                   const std::map<std::string, OptionValue>& options,
                                   const std::vector<std::string>& records,
                                   StageMetrics* metrics = nullptr) {
    auto built = build_stage(function, options);
    EXPECT_TRUE(built.stage) << built.errors();
    if (!built.stage) return "BUILD FAILED";
    OpenContext ctx;
    ctx.stage_id = "t";
    ctx.metrics = metrics;
    auto opened = built.stage->open(ctx);
    EXPECT_TRUE(opened);
    if (!opened) return "OPEN FAILED";
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    EXPECT_TRUE(op->push(0, batch_from_json(records), out));
    EXPECT_TRUE(op->finish(out));
    return jsonl(out.take());
}

/// What a stage that may hold its input emits, as JSON lines: `function` built with `options`,
/// opened with `batch_size`, `memory_budget` and `spill_dir` (one input, schema unknown), each
/// group of `batches` (JSON objects) pushed as a batch, then finished and drained with
/// finish_more() as an executor does. A failure comes back as "ERROR: " and its message.
inline std::string drained_jsonl(const std::string& function,
                                 const std::map<std::string, OptionValue>& options,
                                 const std::vector<std::vector<std::string>>& batches,
                                 std::size_t batch_size, std::uint64_t memory_budget = 0,
                                 const std::string& spill_dir = {}) {
    auto built = build_stage(function, options);
    EXPECT_TRUE(built.stage) << built.errors();
    if (!built.stage) return "BUILD FAILED: " + built.errors();
    OpenContext ctx;
    ctx.stage_id = "t";
    ctx.batch_size = batch_size;
    ctx.memory_budget = memory_budget;
    ctx.spill_dir = spill_dir;
    auto opened = built.stage->open(ctx);
    EXPECT_TRUE(opened);
    if (!opened) return "OPEN FAILED";
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    for (const auto& records : batches)
        if (Status st = op->push(0, batch_from_json(records), out); !st)
            return "ERROR: " + st.error().message;
    if (Status st = op->finish(out); !st) return "ERROR: " + st.error().message;
    for (;;) {
        Result<bool> more = op->finish_more(out);
        if (!more) return "ERROR: " + more.error().message;
        if (!*more) break;
    }
    return jsonl(out.take());
}

/// A pipe whose read end a run uses as stdin; the test writes and closes the write end.
class StdinPipe {
public:
    StdinPipe() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        read_ = fds[0];
        write_ = fds[1];
    }
    ~StdinPipe() {
        close_write();
        if (read_ >= 0) ::close(read_);
    }
    StdinPipe(const StdinPipe&) = delete;
    StdinPipe& operator=(const StdinPipe&) = delete;
    [[nodiscard]] int read_fd() const noexcept { return read_; }
    void write(const std::string& s) const {
        EXPECT_EQ(::write(write_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    }
    void close_write() {
        if (write_ >= 0) ::close(write_);
        write_ = -1;
    }

private:
    int read_ = -1;
    int write_ = -1;
};

/// An opened source and a way to call it batch by batch.
struct OpenSource {
    std::optional<OpenedStage> opened;
    std::optional<Error> error;
    SourceOperator* op = nullptr;
    CollectingEmitter out;

    /// One next() call; the batches it emitted as JSON lines. `more` tells whether it said
    /// more may follow.
    std::string step(bool* more = nullptr) {
        Result<bool> r = op->next(out);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
        if (more) *more = r.ok() && *r;
        return jsonl(out.take());
    }
    /// next() until the end; everything as JSON lines, or the error's text.
    std::string drain(std::size_t max_calls = 100000) {
        std::string all;
        for (std::size_t i = 0; i < max_calls; ++i) {
            Result<bool> r = op->next(out);
            all += jsonl(out.take());
            if (!r.ok()) return all + "ERROR " + r.error().to_string();
            if (!*r) return all;
        }
        ADD_FAILURE() << "source does not end";
        return all;
    }
};

inline std::unique_ptr<OpenSource> open_source(const Stage& stage, RunContext& run,
                                               ExecutionMode mode, std::size_t batch_size = 1024) {
    auto s = std::make_unique<OpenSource>();
    OpenContext ctx;
    ctx.stage_id = "src";
    ctx.batch_size = batch_size;
    ctx.mode = mode;
    ctx.run = &run;
    Result<OpenedStage> o = stage.open(ctx);
    if (!o) {
        s->error = o.error();
        return s;
    }
    s->opened.emplace(std::move(o).value());
    auto* src = std::get_if<std::unique_ptr<SourceOperator>>(&s->opened->op);
    EXPECT_TRUE(src != nullptr);
    if (src) s->op = src->get();
    return s;
}

} // namespace conveyor::test
