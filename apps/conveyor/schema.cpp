// `conveyor schema`: a JSON Schema (draft-07, what TOML editors such as Taplo / Even Better TOML
// read) for pipeline files. Stage configs come from each function's declared OptionSpecs, and
// defaults from the spec structs themselves, so the schema cannot drift from what the loader
// accepts. The fixed sections' keys mirror lib/src/config/sections.cpp; a test checks that both
// list the same keys.

#include "schema.hpp"

#include "conveyor/config/limits.hpp"
#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/registry/registry.hpp"
#include "json_doc.hpp"

#include <fmt/format.h>

namespace conveyor::cli {

namespace {

using Obj = JsonDoc::Object;
using Arr = JsonDoc::Array;

using config::kMaxBatchSize;
using config::kMaxChannelBuffer;
using config::kMaxConcurrency;
using config::kMaxRetries;
using config::kMaxWorkers;
constexpr auto kMaxBufferedBytes = static_cast<std::int64_t>(config::kMaxBufferedBytes);
constexpr double kMaxSeconds = 365.0 * 24 * 3600;

/// A string expanded at load time (`${NAME}`) can be anything afterwards: enums accept it.
constexpr const char* kVariablePattern = "\\$\\{";

JsonDoc strings(const std::vector<std::string>& v) {
    Arr a;
    for (const std::string& s : v)
        a.emplace_back(s);
    return JsonDoc(std::move(a));
}

JsonDoc described(JsonDoc schema, std::string description) {
    if (!description.empty()) schema.set("description", std::move(description));
    return schema;
}

JsonDoc choice(const std::vector<std::string>& choices) {
    JsonDoc any = JsonDoc::array();
    any.push(Obj{{"enum", strings(choices)}});
    any.push(Obj{{"type", "string"}, {"pattern", kVariablePattern}});
    return JsonDoc(Obj{{"anyOf", std::move(any)}});
}

JsonDoc integer(std::int64_t min, std::int64_t max) {
    return JsonDoc(Obj{{"type", "integer"}, {"minimum", min}, {"maximum", max}});
}

JsonDoc seconds(bool allow_zero) {
    JsonDoc s = JsonDoc::object();
    s.set("type", "number");
    if (allow_zero)
        s.set("minimum", 0);
    else
        s.set("exclusiveMinimum", 0);
    s.set("maximum", kMaxSeconds);
    return s;
}

JsonDoc string_type(std::size_t min_length = 0) {
    JsonDoc s(Obj{{"type", "string"}});
    if (min_length) s.set("minLength", static_cast<std::int64_t>(min_length));
    return s;
}

JsonDoc to_json(const OptionValue& v) {
    if (v.is_bool()) return v.as_bool();
    if (v.is_int()) return v.as_int();
    if (v.is_double()) return v.as_double();
    if (v.is_string()) return v.as_string();
    if (v.is_list()) {
        Arr a;
        for (const OptionValue& x : v.as_list())
            a.push_back(to_json(x));
        return JsonDoc(std::move(a));
    }
    if (v.is_table()) {
        Obj o;
        for (const auto& [k, x] : v.as_table())
            o.emplace_back(k, to_json(x));
        return JsonDoc(std::move(o));
    }
    return {};
}

JsonDoc option_schema(const OptionSpec& o) {
    JsonDoc s;
    auto bounds = [&](JsonDoc& t) {
        if (o.min)
            t.set("minimum", o.type == OptionType::Int ? JsonDoc(static_cast<std::int64_t>(*o.min))
                                                       : JsonDoc(*o.min));
        if (o.max)
            t.set("maximum", o.type == OptionType::Int ? JsonDoc(static_cast<std::int64_t>(*o.max))
                                                       : JsonDoc(*o.max));
    };
    switch (o.type) {
    case OptionType::Bool:
        s = Obj{{"type", "boolean"}};
        break;
    case OptionType::Int:
        s = Obj{{"type", "integer"}};
        bounds(s);
        break;
    case OptionType::Float:
        s = Obj{{"type", "number"}};
        bounds(s);
        break;
    case OptionType::String:
        s = o.choices.empty() ? string_type() : choice(o.choices);
        break;
    case OptionType::StringList: {
        // A single string is accepted as a list of one.
        JsonDoc item = o.choices.empty() ? string_type() : choice(o.choices);
        JsonDoc any = JsonDoc::array();
        any.push(item);
        any.push(Obj{{"type", "array"}, {"items", item}});
        s = Obj{{"anyOf", std::move(any)}};
        break;
    }
    case OptionType::StringMap:
        s = Obj{{"type", "object"}, {"additionalProperties", Obj{{"type", "string"}}}};
        break;
    case OptionType::Any:
        s = Obj{{"type", Arr{"string", "number", "boolean", "array"}}};
        break;
    case OptionType::Table:
        s = Obj{{"type", "object"}};
        break;
    }
    std::string description = o.description;
    if (o.required) description += description.empty() ? "(required)" : " (required)";
    s = described(std::move(s), std::move(description));
    if (!o.default_value.is_null()) s.set("default", to_json(o.default_value));
    return s;
}

JsonDoc function_config_schema(const FunctionDescriptor& f) {
    JsonDoc props = JsonDoc::object();
    JsonDoc required = JsonDoc::array();
    for (const OptionSpec& o : f.options) {
        props.set(o.name, option_schema(o));
        for (const std::string& alias : o.aliases)
            props.set(alias, described(option_schema(o), fmt::format("Older spelling of '{}': {}",
                                                                     o.name, o.description)));
        if (o.required) required.push(o.name);
    }
    JsonDoc s = JsonDoc::object();
    s.set("title", f.name + " options");
    s.set("description", f.summary);
    s.set("type", "object");
    s.set("properties", std::move(props));
    s.set("additionalProperties", false);
    // Only when some option is required: an empty "required" is invalid in older drafts.
    bool any_required = false;
    for (const OptionSpec& o : f.options)
        any_required = any_required || o.required;
    if (any_required) s.set("required", std::move(required));
    return s;
}

JsonDoc pipeline_section() {
    return JsonDoc(Obj{
        {"type", "object"},
        {"description", "About the pipeline (optional)."},
        {"properties",
         Obj{{"name", described(string_type(1),
                                "Name shown in logs and metrics; defaults to the file's stem.")},
             {"version", described(string_type(), "Free-form version of the pipeline.")},
             {"description", described(string_type(), "What the pipeline does.")}}},
        {"additionalProperties", false}});
}

JsonDoc global_section(const Registry& registry) {
    const GlobalSpec d; // the documented defaults
    std::vector<std::string> plugins;
    for (const PluginInfo& p : registry.plugins())
        plugins.push_back(p.name);
    auto with_default = [](JsonDoc s, JsonDoc def) {
        s.set("default", std::move(def));
        return s;
    };
    auto byte_size = [] {
        JsonDoc any = JsonDoc::array();
        any.push(Obj{{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxBufferedBytes}});
        any.push(Obj{{"type", "string"},
                     {"pattern", "^\\s*[0-9.]+\\s*([kKmMgGtT]([iI]?[bB])?|[bB])?\\s*$"}});
        return JsonDoc(Obj{{"anyOf", std::move(any)}});
    };
    return JsonDoc(Obj{
        {"type", "object"},
        {"description", "Run-wide settings (all optional)."},
        {"properties",
         Obj{{"executor", with_default(described(choice(executor_names()),
                                                 "How stages are scheduled: dag (level by level), "
                                                 "channel (bounded channel per edge) or async "
                                                 "(one actor and mailbox per stage)."),
                                       std::string(to_string(d.executor)))},
             {"channel_buffer_size",
              with_default(described(integer(1, kMaxChannelBuffer),
                                     "Records per edge (channel) or per stage mailbox (async)."),
                           static_cast<std::int64_t>(d.channel_buffer_size))},
             {"concurrency",
              with_default(described(integer(1, kMaxConcurrency),
                                     "In-flight requests of I/O stages (http.fetch)."),
                           static_cast<std::int64_t>(d.concurrency))},
             {"log_level",
              with_default(described(choice(log_level_names()),
                                     "Log level (--log-level and CONVEYOR_LOG override it)."),
                           d.log_level)},
             {"plugins", described(JsonDoc(Obj{{"type", "array"}, {"items", choice(plugins)}}),
                                   "Optional plugins to enable (all when omitted).")},
             {"execution_mode",
              with_default(
                  described(choice(execution_mode_names()),
                            "batch, or streaming (refuses stages that need their whole input)."),
                  std::string(to_string(d.execution_mode)))},
             {"timeout_seconds",
              described(seconds(false), "Bounds the whole run (exit 75 when it elapses).")},
             {"variables",
              described(JsonDoc(Obj{{"type", "object"},
                                    {"additionalProperties", Obj{{"type", "string"}}}}),
                        "Values for ${name} in string values; may use ${ENV:-default}.")},
             {"workers", with_default(described(integer(0, kMaxWorkers),
                                                "Worker threads; 0 = one per hardware thread."),
                                      static_cast<std::int64_t>(d.workers))},
             {"batch_size", with_default(described(integer(1, kMaxBatchSize),
                                                   "Records per batch a source aims for."),
                                         static_cast<std::int64_t>(d.batch_size))},
             {"max_buffered_bytes",
              described(byte_size(),
                        "dag only: memory the materialised edges hold before they spill to "
                        "state_dir, bytes or \"512MB\", \"2GiB\" (default: their share of "
                        "memory_limit).")},
             {"memory_limit",
              described(byte_size(), "Memory the stages that hold their input (sort, "
                                     "group-by, join, distinct) and dag's materialised edges "
                                     "share, bytes or \"256MiB\"; beyond it they spill to "
                                     "state_dir (default: a quarter of RAM).")},
             {"shutdown_timeout_seconds",
              with_default(described(seconds(false), "Grace period after SIGINT/SIGTERM."),
                           d.shutdown_timeout_seconds)},
             {"state_dir", described(string_type(1), "Lock file and run journal (default: "
                                                     ".conveyor/ beside the pipeline file).")},
             {"lock", with_default(described(JsonDoc(Obj{{"type", "boolean"}}),
                                             "One run at a time (like --lock; exit 4 otherwise)."),
                                   d.lock)},
             {"checkpoint_interval",
              with_default(described(integer(0, config::kMaxCheckpointInterval),
                                     "Records between checkpoints, and journal entries between "
                                     "fsyncs (for --resume); 0 turns checkpoints off."),
                           static_cast<std::int64_t>(d.checkpoint_interval))}}},
        {"additionalProperties", false}});
}

/// `per_stage`: a stage's [stages.error_handling] (no dead-letter queue: that is run-wide).
JsonDoc error_handling_section(bool per_stage = false) {
    const ErrorHandlingSpec d; // the documented defaults
    auto with_default = [](JsonDoc s, JsonDoc def) {
        s.set("default", std::move(def));
        return s;
    };
    JsonDoc schema(Obj{
        {"type", "object"},
        {"description", "What happens when a stage fails."},
        {"properties",
         Obj{{"strategy",
              with_default(
                  described(choice(strategy_names()),
                            "stop: the first failure cancels the run; continue: isolate "
                            "the failing stage (exit 3); retry: retry what can be retried."),
                  std::string(to_string(d.strategy)))},
             {"max_retries",
              with_default(described(integer(0, kMaxRetries), "Retries of a failing operation."),
                           static_cast<std::int64_t>(d.max_retries))},
             {"retry_delay_seconds",
              with_default(described(seconds(true), "First delay between retries."),
                           d.retry_delay_seconds)},
             {"max_retry_delay_seconds",
              with_default(described(seconds(true), "Longest delay between retries."),
                           d.max_retry_delay_seconds)},
             {"on_exhausted",
              with_default(described(choice(on_exhausted_names()),
                                     "retry: what to do once retries are exhausted."),
                           std::string(to_string(d.on_exhausted)))},
             {"dead_letter_queue",
              described(JsonDoc(Obj{{"type", "object"},
                                    {"properties",
                                     Obj{{"enabled", Obj{{"type", "boolean"}}},
                                         {"path", described(string_type(1),
                                                            "NDJSON file receiving the records "
                                                            "stages give up on.")}}},
                                    {"additionalProperties", false}}),
                        "Where failed records go.")}}},
        {"additionalProperties", false}});
    if (per_stage) {
        schema.at("properties").erase("dead_letter_queue");
        schema.set("description", "This stage's own error handling (overrides [error_handling]).");
    }
    return schema;
}

std::string definition_name(const FunctionDescriptor& f) {
    return "config:" + f.name;
}

JsonDoc stage_schema(const Registry& registry) {
    std::vector<std::string> names;
    for (const FunctionDescriptor* f : registry.functions())
        names.push_back(f->name);
    JsonDoc all_of = JsonDoc::array();
    for (const FunctionDescriptor* f : registry.functions()) {
        JsonDoc then = JsonDoc::object();
        JsonDoc props = JsonDoc::object();
        props.set("config", Obj{{"$ref", "#/definitions/" + definition_name(*f)}});
        JsonDoc inputs = JsonDoc::object();
        if (f->role == StageRole::Source) {
            inputs.set("maxItems", 0);
        } else {
            inputs.set("minItems", static_cast<std::int64_t>(f->min_inputs));
            if (f->max_inputs != kUnboundedInputs)
                inputs.set("maxItems", static_cast<std::int64_t>(f->max_inputs));
        }
        props.set("inputs", std::move(inputs));
        then.set("properties", std::move(props));
        JsonDoc required = JsonDoc::array();
        bool any_required_option = false;
        for (const OptionSpec& o : f->options)
            any_required_option = any_required_option || o.required;
        if (any_required_option) required.push("config");
        if (f->role != StageRole::Source && f->min_inputs > 0) required.push("inputs");
        if (any_required_option || (f->role != StageRole::Source && f->min_inputs > 0))
            then.set("required", std::move(required));
        all_of.push(Obj{{"if", Obj{{"properties", Obj{{"function", Obj{{"const", f->name}}}}},
                                   {"required", Arr{"function"}}}},
                        {"then", std::move(then)}});
    }
    return JsonDoc(
        Obj{{"type", "object"},
            {"properties",
             Obj{{"id", described(string_type(1),
                                  "Unique id of the stage; other stages name it in 'inputs'.")},
                 {"function", described(choice(names), "What the stage does (conveyor list).")},
                 {"inputs",
                  described(JsonDoc(Obj{{"type", "array"}, {"items", Obj{{"type", "string"}}}}),
                            "Ids of the stages whose records this stage reads.")},
                 {"description", described(string_type(), "What this stage is for.")},
                 {"config", described(JsonDoc(Obj{{"type", "object"}}),
                                      "The function's options (conveyor describe FUNCTION).")},
                 {"error_handling", error_handling_section(true)}}},
            {"required", Arr{"id", "function"}},
            {"additionalProperties", false},
            {"allOf", std::move(all_of)}});
}

} // namespace

std::string pipeline_schema(const Registry& registry) {
    JsonDoc definitions = JsonDoc::object();
    definitions.set("stage", stage_schema(registry));
    for (const FunctionDescriptor* f : registry.functions())
        definitions.set(definition_name(*f), function_config_schema(*f));
    JsonDoc root = JsonDoc::object();
    root.set("$schema", "http://json-schema.org/draft-07/schema#");
    root.set("title", "conveyor pipeline");
    root.set("description", std::string("A conveyor pipeline file (TOML), conveyor ") +
                                CONVEYOR_VERSION + ". Generated by `conveyor schema`.");
    root.set("type", "object");
    root.set("properties",
             Obj{{"pipeline", pipeline_section()},
                 {"global", global_section(registry)},
                 {"error_handling", error_handling_section()},
                 {"stages", described(JsonDoc(Obj{{"type", "array"},
                                                  {"minItems", 1},
                                                  {"items", Obj{{"$ref", "#/definitions/stage"}}}}),
                                      "The stages, as [[stages]] tables.")}});
    root.set("required", Arr{"stages"});
    root.set("additionalProperties", false);
    root.set("definitions", std::move(definitions));
    return root.dump();
}

} // namespace conveyor::cli
