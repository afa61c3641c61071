#include "commands.hpp"

#include "conveyor/config/section_options.hpp"
#include "conveyor/core/duration_text.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/own_output.hpp"
#include "conveyor/exec/probe.hpp"
#include "conveyor/expr/expression.hpp"
#include "conveyor/obs/log.hpp"
#include "plan.hpp"
#include "schema.hpp"
#include "session.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

namespace conveyor::cli {

std::optional<double> parse_duration_seconds(const std::string& text) {
    const std::optional<double> seconds = conveyor::parse_duration_seconds(text);
    // --jitter sleeps for up to this long: beyond a day it is a typo, and far beyond, the
    // conversion to the clock's nanoseconds overflowed into no wait at all.
    constexpr double kMaxSeconds = 24 * 3600;
    if (!seconds || *seconds > kMaxSeconds) return std::nullopt;
    return seconds;
}

int cmd_graph(const GraphArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    Loaded loaded = load(args.file);
    if (!loaded.pipeline) return loaded.exit_code;
    const std::string text =
        args.format == "mermaid" ? graph_mermaid(*loaded.pipeline) : graph_dot(*loaded.pipeline);
    std::fputs(text.c_str(), stdout);
    return exit_codes::kOk;
}

int cmd_explain(const ExplainArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    LoadOptions options;
    options.executor_override = executor_kind(args.executor);
    Loaded loaded = load(args.file, options);
    if (!loaded.pipeline) return loaded.exit_code;
    std::fputs(explain_text(*loaded.pipeline).c_str(), stdout);
    return exit_codes::kOk;
}

int cmd_schema() {
    std::fputs(pipeline_schema(builtin_registry()).c_str(), stdout);
    return exit_codes::kOk;
}

int cmd_validate(const std::string& file, bool connect, const std::vector<std::string>& sets) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    LoadOptions options;
    options.overrides = sets;
    Loaded loaded = load(file, options);
    if (!loaded.pipeline) return loaded.exit_code;
    const PipelineSpec& p = *loaded.pipeline;
    // `validate -` names standard input as every message about it does.
    const std::string shown = file == "-" ? "<stdin>" : file;
    explain_input_paths(p, file, "warning");
    // What only the input files show: a column an expression or an option names that is not
    // in a CSV header.
    std::vector<Error> problems = probe_pipeline(p);
    // An output that is also an input (appended to, or matched by a glob): run refuses it
    // before anything opens, so validate says so too.
    if (Status own = check_outputs_are_not_inputs(p); !own) problems.push_back(own.error());
    // --connect: what only the databases show (authentication, tables, columns).
    if (connect)
        for (Error& e : check_connections(p))
            problems.push_back(std::move(e));
    for (const Error& e : problems) {
        const StageSpec* st = p.find_stage(e.stage);
        print_err(fmt::format("{}: error: {}\n", st ? st->location_of(e).to_string() : shown,
                              e.to_string()));
    }
    if (!problems.empty()) {
        print_err(fmt::format("conveyor: {} problem{} in {}\n", problems.size(),
                              problems.size() == 1 ? "" : "s", shown));
        // A server that cannot be reached now is worth trying again (75); anything else is the
        // pipeline's to fix (78).
        const bool all_temporary =
            std::all_of(problems.begin(), problems.end(),
                        [](const Error& e) { return e.kind == ErrorKind::TempFail; });
        return all_temporary ? exit_codes::kTempFail : exit_codes::kConfig;
    }
    std::printf("%s: OK (pipeline '%s', %zu stage%s, executor = %s)\n", shown.c_str(),
                p.name.c_str(), p.stages.size(), p.stages.size() == 1 ? "" : "s",
                std::string(to_string(p.global.executor)).c_str());
    return exit_codes::kOk;
}

int cmd_list() {
    const Registry& registry = builtin_registry();
    std::size_t w = 0;
    for (const FunctionDescriptor* f : registry.functions())
        w = std::max(w, f->name.size());
    for (const FunctionDescriptor* f : registry.functions()) {
        std::printf("%-*s  %-9s  %s\n", static_cast<int>(w), f->name.c_str(),
                    std::string(to_string(f->role)).c_str(), f->summary.c_str());
    }
    return exit_codes::kOk;
}

namespace {

/// `conveyor describe`'s list of options, from their declarations.
std::string options_text(const std::vector<OptionSpec>& options) {
    std::string s;
    for (const OptionSpec& o : options) {
        s += fmt::format("  {} ({}{})", o.name, to_string(o.type), o.required ? ", required" : "");
        if (!o.default_value.is_null()) s += " = " + o.default_value.to_string();
        if (!o.default_note.empty()) s += " (default: " + o.default_note + ")";
        s += "\n      " + o.description + "\n";
        if (!o.choices.empty()) {
            s += "      one of:";
            for (const std::string& c : o.choices)
                s += " " + c;
            s += "\n";
        }
        if (!o.aliases.empty()) {
            s += "      also accepted as:";
            for (const std::string& a : o.aliases)
                s += " " + a;
            s += "\n";
        }
    }
    return s;
}

/// `conveyor describe global` and the like: a fixed section's keys.
std::optional<std::string> section_text(std::string_view name, const Registry& registry) {
    if (name == "pipeline" || name == "[pipeline]")
        return "[pipeline] (optional)\n  About the pipeline.\n\nKeys:\n" +
               options_text(config::pipeline_options().specs());
    if (name == "global" || name == "[global]")
        return "[global] (optional)\n  Run-wide settings.\n\nKeys:\n" +
               options_text(config::global_option_specs(registry));
    if (name == "error_handling" || name == "[error_handling]")
        return "[error_handling] (optional; a stage may override it in [stages.error_handling])\n"
               "  What happens when a stage fails.\n\nKeys:\n" +
               options_text(config::error_handling_options().specs()) +
               "\n[error_handling.dead_letter_queue] keys:\n" +
               options_text(config::dead_letter_options().specs());
    if (name == "buffer" || name == "[stages.buffer]")
        return "[stages.buffer] (optional, per stage; channel and async executors)\n"
               "  The stage's input queue: how much it holds and what happens when it is full, "
               "so that a slow stage does not pace its siblings.\n\nKeys:\n" +
               options_text(config::buffer_options().specs());
    return std::nullopt;
}

constexpr std::string_view kWhereExpressions =
    "used in expressions: filter.apply's expression, map.apply's columns, route.apply's routes, "
    "groupby.apply's by";

/// `conveyor describe lower` (a function of the expression language), or `describe expressions`
/// for all of them.
std::optional<std::string> expression_function_text(std::string_view name) {
    const auto line = [](const expr::FunctionInfo& f) {
        return fmt::format("  {}\n      {}\n", f.signature, f.summary);
    };
    if (name == "expressions" || name == "expression") {
        std::string s = fmt::format("Expression functions ({}):\n", kWhereExpressions);
        for (const expr::FunctionInfo& f : expr::functions())
            s += line(f);
        s += "Miller's names are accepted too:";
        for (const expr::FunctionAlias& a : expr::function_aliases())
            s += fmt::format(" {} ({}),", a.alias, a.name);
        s.back() = '\n';
        return s;
    }
    std::string_view alias_of;
    for (const expr::FunctionAlias& a : expr::function_aliases())
        if (a.alias == name) {
            alias_of = a.alias;
            name = a.name;
        }
    for (const expr::FunctionInfo& f : expr::functions())
        if (f.name == name)
            return fmt::format(
                "{} (expression function{}, {})\n{}", f.name,
                alias_of.empty() ? "" : fmt::format("; Miller's {} is this one", alias_of),
                kWhereExpressions, line(f));
    return std::nullopt;
}

/// `conveyor describe csv`: the functions of a family (csv.read, csv.write), one line each.
std::optional<std::string> family_text(std::string_view family, const Registry& registry) {
    std::string s;
    for (const FunctionDescriptor* f : registry.functions())
        if (f->name.size() > family.size() && f->name.starts_with(family) &&
            f->name[family.size()] == '.')
            s += fmt::format("  {}  ({})  {}\n", f->name, to_string(f->role), f->summary);
    if (s.empty()) return std::nullopt;
    return fmt::format("{}: the functions of this family (conveyor describe FUNCTION for one's "
                       "options):\n{}",
                       family, s);
}

} // namespace

int cmd_describe(const std::string& function) {
    const Registry& registry = builtin_registry();
    if (auto section = section_text(function, registry)) {
        std::fputs(section->c_str(), stdout);
        return exit_codes::kOk;
    }
    const FunctionDescriptor* f = registry.find(function);
    if (!f) {
        if (auto text = expression_function_text(function)) {
            std::fputs(text->c_str(), stdout);
            return exit_codes::kOk;
        }
        if (auto text = family_text(function, registry)) {
            std::fputs(text->c_str(), stdout);
            return exit_codes::kOk;
        }
        std::vector<std::string> names = {"global", "error_handling", "pipeline", "buffer",
                                          "expressions"};
        for (const FunctionDescriptor* d : registry.functions())
            names.push_back(d->name);
        for (const expr::FunctionInfo& e : expr::functions())
            names.emplace_back(e.name);
        print_err(fmt::format("conveyor: unknown function '{}'{}\nRun 'conveyor list' to see them "
                              "all, 'conveyor describe expressions' for the functions of "
                              "expressions, or 'conveyor describe global' for the [global] keys.\n",
                              function, did_you_mean(function, names)));
        return exit_codes::kUsage;
    }
    std::string s =
        fmt::format("{} ({}{})\n  {}\n\n{}\n", f->name, to_string(f->role),
                    f->plugin.empty() ? "" : ", plugin " + f->plugin, f->summary, f->description);
    if (f->role == StageRole::Source)
        s += "\nInputs: none (a source)\n";
    else if (f->max_inputs == kUnboundedInputs)
        s += fmt::format("\nInputs: {} or more\n", f->min_inputs);
    else
        s += fmt::format("\nInputs: {}\n",
                         f->min_inputs == f->max_inputs
                             ? std::to_string(f->min_inputs)
                             : fmt::format("{} to {}", f->min_inputs, f->max_inputs));
    if (f->options.empty())
        s += "\nOptions: none\n";
    else
        s += "\nOptions ([stages.config]):\n" + options_text(f->options);
    std::fputs(s.c_str(), stdout);
    return exit_codes::kOk;
}

} // namespace conveyor::cli
