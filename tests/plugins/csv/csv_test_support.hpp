#pragma once

// Helpers shared by the csv plugin tests: build stages through the registry exactly as a
// pipeline would, run them by hand, and render values in a form that shows their kind.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/batch.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/emitter.hpp"
#include "conveyor/stage/stage.hpp"
#include "support/source_run.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace conveyor::recordio::csv::test {

inline const Registry& registry() {
    static const Registry r = [] {
        Registry reg;
        register_builtin_plugins(reg);
        return reg;
    }();
    return r;
}

using OptionList = std::vector<std::pair<std::string, OptionValue>>;

/// The declared defaults, overridden by `given` (as the loader would produce them).
inline Options make_options(const std::string& function, const OptionList& given) {
    const FunctionDescriptor* fn = registry().find(function);
    EXPECT_NE(fn, nullptr) << function;
    Options o;
    if (fn) {
        for (const OptionSpec& spec : fn->options)
            if (!spec.default_value.is_null())
                o.set(spec.name, spec.default_value, SourceLocation{}, false);
    }
    for (const auto& [k, v] : given)
        o.set(k, v, SourceLocation{"test.toml", 1, 1}, true);
    return o;
}

struct Built {
    std::unique_ptr<Stage> stage;
    Diagnostics diags;
};

/// Runs the function's factory; `stage` is null when it reported errors (see `diags`).
inline Built build(const std::string& function, const OptionList& given) {
    Built b;
    const Options options = make_options(function, given);
    const GlobalSpec global;
    BuildContext ctx("stage1", options, global, b.diags);
    b.stage = registry().find(function)->factory(ctx);
    return b;
}

/// "null", "i:42", "n:1.5" (number with text), "d:2.5", "s:text", "b:true", "absent".
inline std::string show(const Value& v) {
    switch (v.kind()) {
    case Kind::Absent:
        return "absent";
    case Kind::Null:
        return "null";
    case Kind::Bool:
        return v.as_bool() ? "b:true" : "b:false";
    case Kind::Int:
        return "i:" + std::to_string(v.as_int());
    case Kind::Double:
        return v.has_number_text() ? "n:" + std::string(v.number_text())
                                   : "d:" + std::to_string(v.as_double());
    case Kind::String:
        return "s:" + std::string(v.as_string());
    case Kind::Array:
        return "array";
    case Kind::Object:
        return "object";
    }
    return "?";
}

using Rows = std::vector<std::vector<std::string>>;

/// Everything a source produced, run to the end (or to its first error), with its records
/// shown by kind.
struct SourceRun : conveyor::test::SourceRun {
    [[nodiscard]] Rows rows() const {
        Rows out;
        for (const Batch& b : batches)
            for (std::size_t r = 0; r < b.rows(); ++r) {
                std::vector<std::string> row;
                for (const Value& v : b.row(r))
                    row.push_back(show(v));
                out.push_back(std::move(row));
            }
        return out;
    }
    [[nodiscard]] std::vector<std::string> names() const {
        return schema ? schema->names() : std::vector<std::string>{};
    }
};

inline SourceRun run_source(const Stage& stage, std::size_t batch_size = 1024,
                            RunContext* run = nullptr, StageMetrics* metrics = nullptr) {
    OpenContext ctx;
    ctx.stage_id = "stage1";
    ctx.batch_size = batch_size;
    ctx.run = run;
    ctx.metrics = metrics;
    return {conveyor::test::run_source(stage, ctx)};
}

/// Captures what is logged while it lives (added to the default logger's sinks).
class LogCapture {
public:
    LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64)) {
        sink_->set_pattern("%l: %v");
        spdlog::default_logger()->sinks().push_back(sink_);
    }
    ~LogCapture() {
        auto& sinks = spdlog::default_logger()->sinks();
        std::erase(sinks, sink_);
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    [[nodiscard]] std::vector<std::string> lines() const { return sink_->last_formatted(); }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

} // namespace conveyor::recordio::csv::test
