// `conveyor schema`: a JSON Schema (draft-07, what TOML editors such as Taplo / Even Better TOML
// read) for pipeline files. Stage configs come from each function's declared options, the fixed
// sections from their option tables (conveyor/config/section_options.hpp): the same
// declarations the loader validates with, so the schema cannot drift from what it accepts.

#include "schema.hpp"

#include "conveyor/config/section_options.hpp"
#include "conveyor/registry/registry.hpp"
#include "json_doc.hpp"

#include <fmt/format.h>

namespace conveyor::cli {

namespace {

using Obj = JsonDoc::Object;
using Arr = JsonDoc::Array;

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
            t.set(o.min_exclusive ? "exclusiveMinimum" : "minimum",
                  o.type == OptionType::Int ? JsonDoc(static_cast<std::int64_t>(*o.min))
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
        if (o.unit == OptionUnit::Bytes) {
            // Or a string with a unit ("512MB", "2GiB").
            JsonDoc any = JsonDoc::array();
            any.push(std::move(s));
            any.push(Obj{{"type", "string"},
                         {"pattern", "^\\s*[0-9.]+\\s*([kKmMgGtT]([iI]?[bB])?|[bB])?\\s*$"}});
            s = Obj{{"anyOf", std::move(any)}};
        } else if (o.unit == OptionUnit::Milliseconds) {
            // Or a duration with its unit ("300ms", "2s").
            JsonDoc any = JsonDoc::array();
            any.push(std::move(s));
            any.push(Obj{{"type", "string"}, {"pattern", "^[0-9.]+(ms|s|m|min|h|d)?$"}});
            s = Obj{{"anyOf", std::move(any)}};
        }
        break;
    case OptionType::Float:
        s = Obj{{"type", "number"}};
        bounds(s);
        if (o.unit == OptionUnit::Seconds) {
            // Or a duration with its unit ("30s", "5m", "500ms").
            JsonDoc any = JsonDoc::array();
            any.push(std::move(s));
            any.push(Obj{{"type", "string"}, {"pattern", "^[0-9.]+(ms|s|m|min|h|d)?$"}});
            s = Obj{{"anyOf", std::move(any)}};
        }
        break;
    case OptionType::String:
        s = o.choices.empty() ? string_type(o.min_length) : choice(o.choices);
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
    if (!o.default_note.empty()) {
        const bool sentence = description.ends_with('.');
        if (sentence) description.pop_back();
        description += " (default: " + o.default_note + ")" + (sentence ? "." : "");
    }
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

/// A fixed section ([pipeline], [global], ...) from its option table.
JsonDoc section_schema(const std::vector<OptionSpec>& specs, std::string description) {
    JsonDoc props = JsonDoc::object();
    for (const OptionSpec& o : specs)
        props.set(o.name, option_schema(o));
    return JsonDoc(Obj{{"type", "object"},
                       {"description", std::move(description)},
                       {"properties", std::move(props)},
                       {"additionalProperties", false}});
}

/// `per_stage`: a stage's [stages.error_handling] (no dead-letter queue: that is run-wide).
JsonDoc error_handling_section(bool per_stage = false) {
    JsonDoc schema = section_schema(config::error_handling_options().specs(),
                                    "What happens when a stage fails.");
    if (per_stage) {
        schema.at("properties").erase("dead_letter_queue");
        schema.set("description", "This stage's own error handling (overrides [error_handling]).");
    } else {
        const OptionSpec* dlq = config::error_handling_options().find("dead_letter_queue");
        schema.at("properties")
            .set("dead_letter_queue",
                 section_schema(config::dead_letter_options().specs(), dlq->description));
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
                 {"error_handling", error_handling_section(true)},
                 {"buffer", section_schema(config::buffer_options().specs(),
                                           "The stage's input queue (channel and async "
                                           "executors): [stages.buffer].")}}},
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
             Obj{{"pipeline", section_schema(config::pipeline_options().specs(),
                                             "About the pipeline (optional).")},
                 {"global", section_schema(config::global_option_specs(registry),
                                           "Run-wide settings (all optional).")},
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
