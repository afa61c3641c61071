#pragma once

// Fake functions for loader tests: descriptors with declared options whose factories build a
// trivial stage, so loading can be tested without any real plugin.

#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/stage.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace conveyor::test {

/// A stage that does nothing; it remembers the options it was built from.
class TrivialStage final : public Stage {
public:
    explicit TrivialStage(Options options) : options_(std::move(options)) {}
    Result<OpenedStage> open(const OpenContext&) const override {
        return fail(ErrorKind::Internal, "TrivialStage is not runnable");
    }
    [[nodiscard]] const Options& options() const noexcept { return options_; }

private:
    Options options_;
};

inline StageFactory trivial_factory() {
    return [](BuildContext& ctx) -> std::unique_ptr<Stage> {
        return std::make_unique<TrivialStage>(ctx.options());
    };
}

inline OptionSpec option(std::string name, OptionType type, bool required = false,
                         OptionValue default_value = {}) {
    OptionSpec o;
    o.name = std::move(name);
    o.type = type;
    o.required = required;
    o.default_value = std::move(default_value);
    return o;
}

inline FunctionDescriptor function(std::string name, StageRole role, std::size_t min_inputs,
                                   std::size_t max_inputs, std::vector<OptionSpec> options = {}) {
    FunctionDescriptor f;
    f.name = std::move(name);
    f.role = role;
    f.min_inputs = min_inputs;
    f.max_inputs = max_inputs;
    f.options = std::move(options);
    f.factory = trivial_factory();
    return f;
}

/// test.source, test.map (an option of every type), test.sink (1..N inputs), test.file_sink
/// (writes_files: the file `path`), test.sort
/// (needs_whole_input), test.join (exactly 2 inputs) in plugin "test"; extra.fn in the optional
/// plugin "extra".
inline void register_test_functions(Registry& r) {
    r.begin_plugin("test", false);
    r.add(function("test.source", StageRole::Source, 0, 0,
                   {option("count", OptionType::Int, false, OptionValue(10))}));

    std::vector<OptionSpec> map_options;
    map_options.push_back(option("field", OptionType::String, true));
    map_options.push_back(option("flag", OptionType::Bool, false, OptionValue(false)));
    OptionSpec limit = option("limit", OptionType::Int, false, OptionValue(10));
    limit.min = 1;
    limit.max = 100;
    map_options.push_back(limit);
    OptionSpec ratio = option("ratio", OptionType::Float);
    ratio.min = 0.0;
    ratio.max = 1.0;
    map_options.push_back(ratio);
    OptionSpec mode = option("mode", OptionType::String, false, OptionValue("safe"));
    mode.choices = {"fast", "safe", "exact"};
    map_options.push_back(mode);
    map_options.push_back(option("columns", OptionType::StringList));
    map_options.push_back(option("headers", OptionType::StringMap));
    map_options.push_back(option("value", OptionType::Any));
    map_options.push_back(option("extra", OptionType::Table));
    OptionSpec has_header = option("has_header", OptionType::Bool, false, OptionValue(true));
    has_header.aliases = {"has_headers"};
    map_options.push_back(has_header);
    FunctionDescriptor map = function("test.map", StageRole::Transform, 1, 1, map_options);
    // A semantic check types cannot express, reported through the build context.
    map.factory = [](BuildContext& ctx) -> std::unique_ptr<Stage> {
        if (ctx.options().get_string("field") == "forbidden") {
            ctx.error("field", "field 'forbidden' cannot be mapped");
            return nullptr;
        }
        return std::make_unique<TrivialStage>(ctx.options());
    };
    r.add(std::move(map));

    r.add(function("test.sink", StageRole::Sink, 1, kUnboundedInputs,
                   {option("path", OptionType::String, true)}));
    FunctionDescriptor file_sink = function("test.file_sink", StageRole::Sink, 1, 1,
                                            {option("path", OptionType::String, true)});
    file_sink.writes_files = true;
    r.add(std::move(file_sink));
    FunctionDescriptor sort = function("test.sort", StageRole::Transform, 1, 1,
                                       {option("by", OptionType::StringList, false)});
    sort.needs_whole_input = true;
    r.add(std::move(sort));
    r.add(function("test.join", StageRole::Transform, 2, 2));
    r.end_plugin();

    r.begin_plugin("extra", true);
    r.add(function("extra.fn", StageRole::Transform, 1, 1));
    r.end_plugin();
}

/// Functions named like the real ones used by the examples in the pipeline-format document,
/// with the options that matter for loading them (paths required for reads and writes).
inline void register_seed_functions(Registry& r) {
    auto path = [] { return option("path", OptionType::String, true); };
    r.begin_plugin("csv", false);
    {
        OptionSpec has_header = option("has_header", OptionType::Bool, false, OptionValue(true));
        has_header.aliases = {"has_headers"};
        r.add(function("csv.read", StageRole::Source, 0, 0,
                       {path(), has_header,
                        option("delimiter", OptionType::String, false, OptionValue(","))}));
        r.add(function("csv.write", StageRole::Sink, 1, 1,
                       {path(), option("delimiter", OptionType::String, false, OptionValue(","))}));
    }
    r.begin_plugin("json", false);
    r.add(function("json.read", StageRole::Source, 0, 0, {path()}));
    r.add(function("json.write", StageRole::Sink, 1, 1,
                   {path(), option("pretty", OptionType::Bool, false, OptionValue(false))}));
    r.begin_plugin("transform", false);
    {
        OptionSpec op = option("operator", OptionType::String, false, OptionValue("=="));
        op.choices = {"==", "!=", ">", ">=", "<", "<=", "contains", "in"};
        r.add(function(
            "filter.apply", StageRole::Transform, 1, 1,
            {option("column", OptionType::String, true), op, option("value", OptionType::Any)}));
        r.add(function("select.apply", StageRole::Transform, 1, 1,
                       {option("columns", OptionType::StringList, true)}));
        r.add(function("merge.apply", StageRole::Transform, 1, kUnboundedInputs));
        r.add(function("stream.to_records", StageRole::Transform, 1, 1));
    }
    r.begin_plugin("stdout", false);
    {
        OptionSpec format = option("format", OptionType::String, false, OptionValue("json"));
        format.choices = {"json", "csv", "table"};
        r.add(function("stdout.write", StageRole::Sink, 1, 1, {format}));
    }
    r.begin_plugin("http", true);
    {
        OptionSpec mode = option("mode", OptionType::String, false, OptionValue("batch"));
        mode.choices = {"batch", "per_row"};
        r.add(function("http.fetch", StageRole::Transform, 1, 1,
                       {option("url", OptionType::String, true), mode,
                        option("method", OptionType::String, false, OptionValue("GET")),
                        option("result_field", OptionType::String),
                        option("headers", OptionType::StringMap),
                        option("timeout_seconds", OptionType::Float)}));
    }
    r.end_plugin();
}

} // namespace conveyor::test
