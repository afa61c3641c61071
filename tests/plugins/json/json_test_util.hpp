#pragma once

// Helpers shared by the json plugin tests: build stages through the registry (as a pipeline
// would), run a source to its end (support/source_run.hpp's loop), feed a sink.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/recordio/json_read.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/emitter.hpp"
#include "json_write.hpp"
#include "support/source_run.hpp"

#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace conveyor::plugins {
void register_json(Registry& registry);
}

namespace conveyor::plugins::json::test_util {

/// Validated options as the loader would produce them: given keys plus declared defaults.
inline Options make_options(const FunctionDescriptor& fn,
                            const std::map<std::string, OptionValue>& given) {
    Options o;
    for (const OptionSpec& spec : fn.options) {
        if (auto it = given.find(spec.name); it != given.end())
            o.set(spec.name, it->second, SourceLocation{"pipeline.toml", 3, 1}, true);
        else if (!spec.default_value.is_null())
            o.set(spec.name, spec.default_value, {}, false);
    }
    return o;
}

struct Built {
    std::unique_ptr<Stage> stage;
    Diagnostics diagnostics;
};

inline Built build(const std::string& function, const std::map<std::string, OptionValue>& given) {
    Registry registry;
    register_json(registry);
    const FunctionDescriptor* fn = registry.find(function);
    EXPECT_NE(fn, nullptr) << function;
    Built b;
    if (!fn) return b;
    Options options = make_options(*fn, given);
    GlobalSpec global;
    BuildContext ctx("stage", options, global, b.diagnostics);
    b.stage = fn->factory(ctx);
    return b;
}

using SourceRun = conveyor::test::SourceRun;

/// Opens `stage` and calls next() until it reports the end: what came out, or the first error.
inline Result<SourceRun> run_source(const Stage& stage, std::size_t batch_size = 1024,
                                    RunContext* run = nullptr, StageMetrics* metrics = nullptr) {
    RunContext local;
    OpenContext ctx;
    ctx.stage_id = "read";
    ctx.batch_size = batch_size;
    ctx.run = run ? run : &local;
    ctx.metrics = metrics;
    SourceRun out = conveyor::test::run_source(stage, ctx);
    if (out.error) return *std::move(out.error);
    return out;
}

/// Every record, one compact JSON object per line (absent fields left out).
inline std::string to_jsonl(const std::vector<Batch>& batches) {
    std::string out;
    for (const Batch& b : batches) {
        for (std::size_t r = 0; r < b.rows(); ++r) {
            conveyor::json::append_record(out, b.schema(), b.row(r));
            out.push_back('\n');
        }
    }
    return out;
}

inline std::size_t total_rows(const std::vector<Batch>& batches) {
    std::size_t n = 0;
    for (const Batch& b : batches)
        n += b.rows();
    return n;
}

/// A batch made of JSON objects (keys in first-seen order; missing ones absent).
inline Batch batch_of(const std::vector<std::string>& objects) {
    auto arena = std::make_shared<Arena>();
    conveyor::json::Parser parser;
    std::vector<Value> parsed;
    std::vector<std::string> names;
    for (const std::string& text : objects) {
        Result<Value> v = parser.parse(text, *arena);
        EXPECT_TRUE(v.ok()) << text;
        if (!v.ok()) continue;
        parsed.push_back(*v);
        for (const Member& m : v->as_object()) {
            if (std::find(names.begin(), names.end(), m.key) == names.end())
                names.emplace_back(m.key);
        }
    }
    SchemaRef schema = make_schema(names);
    Batch batch(schema, parsed.size());
    for (const Value& v : parsed) {
        std::span<Value> row = batch.append_row();
        for (const Member& m : v.as_object())
            row[*schema->find(m.key)] = m.value;
    }
    batch.keep_alive(arena);
    return batch;
}

/// An opened sink and what it needs to run.
struct SinkRun {
    RunContext run;
    StageMetrics metrics{"write"};
    std::vector<SchemaRef> input_schemas;
    std::unique_ptr<Operator> op;
    CollectingEmitter emitter;

    Status open(const Stage& stage, std::size_t inputs = 1) {
        input_schemas.assign(inputs, nullptr);
        OpenContext ctx;
        ctx.stage_id = "write";
        ctx.input_schemas = input_schemas;
        ctx.run = &run;
        ctx.metrics = &metrics;
        Result<OpenedStage> opened = stage.open(ctx);
        if (!opened.ok()) return std::move(opened).error();
        auto* o = std::get_if<std::unique_ptr<Operator>>(&opened->op);
        EXPECT_TRUE(o != nullptr);
        if (o) op = std::move(*o);
        return {};
    }
    Status push(std::size_t port, Batch batch) { return op->push(port, std::move(batch), emitter); }
    Status done(std::size_t port) { return op->input_done(port, emitter); }
    Status finish() { return op->finish(emitter); }
};

} // namespace conveyor::plugins::json::test_util
