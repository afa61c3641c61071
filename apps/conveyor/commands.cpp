#include "commands.hpp"

#include "conveyor/config/loader.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/exec/run_context.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/graph/dag.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace conveyor::cli {

namespace {

void print_err(const std::string& s) { std::fputs(s.c_str(), stderr); }

/// Log level: --log-level, else CONVEYOR_LOG, else `fallback` ([global] log_level).
spdlog::level::level_enum pick_level(const std::optional<std::string>& flag, bool quiet,
                                     const std::string& fallback) {
    if (flag) return parse_log_level(*flag).value_or(spdlog::level::info);
    if (const char* env = std::getenv("CONVEYOR_LOG"); env && *env) {
        if (auto l = parse_log_level(env)) return *l;
        spdlog::warn("CONVEYOR_LOG='{}' is not a log level; ignoring it", env);
    }
    if (quiet) return spdlog::level::warn;
    return parse_log_level(fallback).value_or(spdlog::level::info);
}

struct Loaded {
    std::optional<PipelineSpec> pipeline;
    int exit_code = 0;
};

Loaded load(const std::string& file, const Registry& registry, const LoadOptions& options) {
    LoadResult r = load_pipeline_file(file, registry, options);
    r.diagnostics.sort();
    print_err(r.diagnostics.to_string());
    Loaded out;
    if (!r.pipeline) {
        std::size_t errors = 0;
        for (const Diagnostic& d : r.diagnostics.all())
            errors += d.severity == Diagnostic::Severity::Error;
        if (errors > 1) print_err(fmt::format("conveyor: {} problems in {}\n", errors, file));
        out.exit_code = exit_code(r.failure);
        return out;
    }
    out.pipeline = std::move(r.pipeline);
    return out;
}

std::string plan_text(const PipelineSpec& p) {
    std::string s = fmt::format("pipeline '{}' ({}): {} stage{}, executor = {}, mode = {}\n", p.name,
                                p.file, p.stages.size(), p.stages.size() == 1 ? "" : "s",
                                to_string(p.global.executor), to_string(p.global.execution_mode));
    Dag dag(p.stages.size());
    for (std::size_t i = 0; i < p.stages.size(); ++i)
        for (const std::string& in : p.stages[i].inputs)
            for (std::size_t j = 0; j < p.stages.size(); ++j)
                if (p.stages[j].id == in) dag.add_edge(j, i);
    auto describe_stage = [&](std::size_t i) {
        const StageSpec& st = p.stages[i];
        std::string line = fmt::format("{} ({})", st.id, st.function);
        if (!st.inputs.empty()) {
            line += " <- ";
            for (std::size_t k = 0; k < st.inputs.size(); ++k) line += (k ? ", " : "") + st.inputs[k];
        }
        return line;
    };
    if (p.global.executor == ExecutorKind::Dag) {
        const auto levels = dag.levels();
        for (std::size_t l = 0; l < levels.size(); ++l) {
            s += fmt::format("  level {}{}:\n", l, levels[l].size() > 1 ? " (runs concurrently)" : "");
            for (std::size_t i : levels[l]) s += "    " + describe_stage(i) + "\n";
        }
    } else {
        s += fmt::format("  every stage runs concurrently; each {} holds at most {} records\n",
                         p.global.executor == ExecutorKind::Channel ? "edge (channel)" : "stage mailbox",
                         p.global.channel_buffer_size);
        for (std::size_t i : dag.topological_order()) s += "    " + describe_stage(i) + "\n";
    }
    return s;
}

} // namespace

std::optional<double> parse_duration_seconds(const std::string& text) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const std::string unit = text.substr(used);
    double factor = 0;
    if (unit.empty() || unit == "s") factor = 1;
    else if (unit == "ms") factor = 0.001;
    else if (unit == "m" || unit == "min") factor = 60;
    else if (unit == "h") factor = 3600;
    if (factor == 0 || !std::isfinite(v) || v < 0) return std::nullopt;
    return v * factor;
}

int cmd_run(const RunArgs& args) {
    configure_logging(pick_level(args.log_level, args.quiet, "info"));
    Registry registry;
    register_builtin_plugins(registry);
    LoadOptions options;
    if (args.executor)
        options.executor_override = *args.executor == "channel" ? ExecutorKind::Channel
                                    : *args.executor == "async" ? ExecutorKind::Async
                                                                : ExecutorKind::Dag;
    Loaded loaded = load(args.file, registry, options);
    if (!loaded.pipeline) return loaded.exit_code;
    const PipelineSpec& p = *loaded.pipeline;
    configure_logging(pick_level(args.log_level, args.quiet, p.global.log_level));

    if (args.dry_run) {
        std::fputs(plan_text(p).c_str(), stdout);
        return exit_codes::kOk;
    }

    if (args.jitter) {
        const double max_s = *parse_duration_seconds(*args.jitter);
        std::mt19937_64 rng{std::random_device{}()};
        const double wait = std::uniform_real_distribution<double>(0.0, max_s)(rng);
        spdlog::info("waiting {:.1f} s before starting (--jitter {})", wait, *args.jitter);
        std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
    RunLock lock;
    if (args.lock || p.global.lock) {
        auto acquired = RunLock::acquire(p);
        if (!acquired) {
            print_err("conveyor: " + acquired.error().to_string() + "\n");
            return exit_code(acquired.error().kind);
        }
        lock = std::move(acquired).value();
    }

    std::string journal_note;
    auto journal = RunJournal::open(p, args.resume ? RunJournal::Mode::Resume : RunJournal::Mode::Fresh,
                                    &journal_note);
    if (!journal) {
        print_err("conveyor: " + journal.error().to_string() + "\n");
        return exit_code(journal.error().kind);
    }
    if (!journal_note.empty()) spdlog::info("{}", journal_note);

    RunContext run;
    run.journal = journal->get();
    MetricsRegistry metrics;
    RunOptions ro;
    ro.metrics = &metrics;
    ro.handle_signals = true;
    spdlog::debug("running pipeline '{}' with executor = {}", p.name, to_string(p.global.executor));
    RunReport report = run_pipeline(p, run, ro);

    const double secs = std::chrono::duration<double>(report.wall).count();
    const int code = report.exit_code();
    // A run that got to its end needs no journal; an interrupted or failed one keeps it for
    // --resume.
    if (report.status && !report.signal) (*journal)->complete();
    else if ((*journal)->loaded() + (*journal)->reused() > 0 || std::filesystem::exists((*journal)->directory()))
        spdlog::info("run journal kept in {} (conveyor run --resume continues this run)", (*journal)->directory());
    if (report.signal) {
        print_err(fmt::format("conveyor: interrupted by {} after {:.2f} s\n",
                              report.signal == SIGINT ? "SIGINT" : "SIGTERM", secs));
    } else if (!report.status) {
        print_err("conveyor: error: " + report.status.error().to_string() + "\n");
    } else if (report.completed_with_failures) {
        std::size_t failed = 0;
        std::uint64_t records = 0;
        for (const StageOutcome& s : report.stages) {
            failed += s.failed;
            records += s.failed_records;
        }
        std::string what;
        if (failed) what = fmt::format("{} failed stage{}", failed, failed == 1 ? "" : "s");
        if (records)
            what += fmt::format("{}{} failed record{}", what.empty() ? "" : " and ", records,
                                records == 1 ? "" : "s");
        print_err(fmt::format("conveyor: pipeline '{}' completed in {:.2f} s with {}:\n", p.name,
                              secs, what));
        for (const StageOutcome& s : report.stages) {
            if (s.failed && s.error) print_err("  " + s.error->to_string() + "\n");
            if (s.failed_records)
                print_err(fmt::format("  stage '{}': {} record{} left out{}\n", s.id, s.failed_records,
                                      s.failed_records == 1 ? "" : "s",
                                      p.error_handling.dead_letter_enabled
                                          ? " (see the dead-letter queue " + p.error_handling.dead_letter_path + ")"
                                          : ""));
        }
    } else {
        spdlog::info("pipeline '{}' completed in {:.2f} s", p.name, secs);
    }
    return code;
}

int cmd_validate(const std::string& file) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    Registry registry;
    register_builtin_plugins(registry);
    Loaded loaded = load(file, registry, {});
    if (!loaded.pipeline) return loaded.exit_code;
    const PipelineSpec& p = *loaded.pipeline;
    std::printf("%s: OK (pipeline '%s', %zu stage%s, executor = %s)\n", file.c_str(), p.name.c_str(),
                p.stages.size(), p.stages.size() == 1 ? "" : "s",
                std::string(to_string(p.global.executor)).c_str());
    return exit_codes::kOk;
}

int cmd_list() {
    Registry registry;
    register_builtin_plugins(registry);
    std::size_t w = 0;
    for (const FunctionDescriptor* f : registry.functions()) w = std::max(w, f->name.size());
    for (const FunctionDescriptor* f : registry.functions()) {
        std::printf("%-*s  %-9s  %s\n", static_cast<int>(w), f->name.c_str(),
                    std::string(to_string(f->role)).c_str(), f->summary.c_str());
    }
    return exit_codes::kOk;
}

int cmd_describe(const std::string& function) {
    Registry registry;
    register_builtin_plugins(registry);
    const FunctionDescriptor* f = registry.find(function);
    if (!f) {
        std::vector<std::string> names;
        for (const FunctionDescriptor* d : registry.functions()) names.push_back(d->name);
        print_err(fmt::format("conveyor: unknown function '{}'{}\nRun 'conveyor list' to see them all.\n",
                              function, did_you_mean(function, names)));
        return exit_codes::kUsage;
    }
    std::string s = fmt::format("{} ({}{})\n  {}\n\n{}\n", f->name, to_string(f->role),
                                f->plugin.empty() ? "" : ", plugin " + f->plugin, f->summary,
                                f->description);
    if (f->role == StageRole::Source) s += "\nInputs: none (a source)\n";
    else if (f->max_inputs == kUnboundedInputs) s += fmt::format("\nInputs: {} or more\n", f->min_inputs);
    else s += fmt::format("\nInputs: {}\n", f->min_inputs == f->max_inputs ? std::to_string(f->min_inputs)
                                                       : fmt::format("{} to {}", f->min_inputs, f->max_inputs));
    if (f->options.empty()) {
        s += "\nOptions: none\n";
    } else {
        s += "\nOptions ([stages.config]):\n";
        for (const OptionSpec& o : f->options) {
            s += fmt::format("  {} ({}{})", o.name, to_string(o.type), o.required ? ", required" : "");
            if (!o.default_value.is_null()) s += " = " + o.default_value.to_string();
            s += "\n      " + o.description + "\n";
            if (!o.choices.empty()) {
                s += "      one of:";
                for (const std::string& c : o.choices) s += " " + c;
                s += "\n";
            }
            if (!o.aliases.empty()) {
                s += "      also accepted as:";
                for (const std::string& a : o.aliases) s += " " + a;
                s += "\n";
            }
        }
    }
    std::fputs(s.c_str(), stdout);
    return exit_codes::kOk;
}

} // namespace conveyor::cli
