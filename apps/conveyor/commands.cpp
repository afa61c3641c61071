#include "commands.hpp"

#include "conveyor/config/loader.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/exec/probe.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/exec/run_stats_of.hpp"
#include "conveyor/graph/dag.hpp"
#include "conveyor/io/output_file.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/obs/metrics_server.hpp"
#include "conveyor/obs/progress.hpp"
#include "conveyor/obs/prometheus.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/obs/tap.hpp"
#include "conveyor/obs/terminal.hpp"
#include "conveyor/registry/registry.hpp"
#include "plan.hpp"
#include "schema.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <thread>
#include <unistd.h>

namespace conveyor::cli {

namespace {

void print_err(const std::string& s) {
    std::fputs(s.c_str(), stderr);
}

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
    // The first start printed the warnings already (huge_pages.cpp).
    if (!r.pipeline || !restarted_for_huge_pages()) print_err(r.diagnostics.to_string());
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

/// Writes `text` to `path` through a temporary file renamed into place ("-": stdout).
Status write_atomically(const std::string& path, const std::string& text) {
    Result<OutputFile> f = OutputFile::create(path, nullptr);
    if (!f) return std::move(f).error();
    CONVEYOR_TRY(f->write(text));
    return f->commit();
}

std::optional<ExecutorKind> executor_kind(const std::optional<std::string>& name) {
    if (!name) return std::nullopt;
    return parse_executor(*name); // CLI11 checked the name
}

/// The first stage of `role` that uses a standard stream for its records: `function` (stdin.read,
/// stdout.write), or a `path` of "-".
const StageSpec* uses_standard_stream(const PipelineSpec& p, StageRole role,
                                      std::string_view function) {
    for (const StageSpec& st : p.stages) {
        if (!st.descriptor || st.descriptor->role != role) continue;
        if (st.function == function) return &st;
        const OptionValue* path = st.config.find("path");
        if (path && path->is_string() && path->as_string() == "-") return &st;
    }
    return nullptr;
}

/// Checks every --tap against the pipeline: the stage exists and passes records on.
std::optional<std::vector<obs::TapRequest>> check_taps(const RunArgs& args, const PipelineSpec& p) {
    std::vector<obs::TapRequest> taps;
    for (const std::string& text : args.taps) {
        Result<obs::TapRequest> t = obs::parse_tap(text);
        if (!t) {
            print_err("conveyor: " + t.error().message + "\n");
            return std::nullopt;
        }
        const StageSpec* st = p.find_stage(t->stage);
        if (!st) {
            std::vector<std::string> ids;
            for (const StageSpec& s : p.stages)
                ids.push_back(s.id);
            std::string known;
            for (const std::string& id : ids)
                known += (known.empty() ? "" : ", ") + id;
            const std::string hint = did_you_mean(t->stage, ids);
            print_err(fmt::format("conveyor: --tap: pipeline '{}' has no stage '{}'{}\n", p.name,
                                  t->stage, hint.empty() ? " (stages: " + known + ")" : hint));
            return std::nullopt;
        }
        if (st->descriptor && st->descriptor->role == StageRole::Sink) {
            std::string feeders;
            for (std::size_t k = 0; k < st->inputs.size(); ++k)
                feeders += (feeders.empty() ? "'" : ", '") + st->input_label(k) + "'";
            print_err(
                fmt::format("conveyor: --tap: stage '{}' is a sink ({}): it passes no records "
                            "on; tap the stage that feeds it{}\n",
                            st->id, st->function, feeders.empty() ? "" : " (" + feeders + ")"));
            return std::nullopt;
        }
        taps.push_back(std::move(t).value());
    }
    return taps;
}

/// What an interrupted run did to its outputs and how to carry on, for stderr.
std::string interrupted_hint(const std::string& file, const RunReport& report) {
    if (report.resumable)
        return fmt::format("conveyor: no output was committed (the previous files are as they "
                           "were); `conveyor run {} --resume` continues where it stopped\n",
                           file);
    if (!report.status)
        return "conveyor: error: " + report.status.error().to_string() +
               "\nconveyor: no output was committed\n";
    if (report.stopped_batch)
        return fmt::format("conveyor: no output was committed (the previous files are as they "
                           "were) and the run took no checkpoint to continue from; "
                           "`conveyor run {}` starts it over\n",
                           file);
    return "conveyor: execution_mode = \"streaming\": the records that arrived before the "
           "stop were written\n";
}

/// One line per stage that failed records: what became of them and why, whatever the log
/// level (the reasons used to show only at --log-level debug). `past_only`: only stages that
/// went on past failed records (a failed run already named the error that stopped it).
std::string stage_outcomes(const obs::RunStats& stats, const PipelineSpec& p, bool past_only) {
    std::string out;
    for (const obs::StageStats& s : stats.stages) {
        if (past_only && s.records_nulled + s.records_dropped + s.records_dead_lettered == 0)
            continue;
        const std::string what = obs::describe_outcomes(s);
        if (what.empty()) continue;
        out += fmt::format("  stage '{}': {}{}\n", s.id, what,
                           s.records_dead_lettered ? " (see the dead-letter queue " +
                                                         p.error_handling.dead_letter_path + ")"
                                                   : "");
    }
    return out;
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
    if (unit.empty() || unit == "s")
        factor = 1;
    else if (unit == "ms")
        factor = 0.001;
    else if (unit == "m" || unit == "min")
        factor = 60;
    else if (unit == "h")
        factor = 3600;
    // --jitter sleeps for up to this long: beyond a day it is a typo, and far beyond, the
    // conversion to the clock's nanoseconds overflowed into no wait at all.
    constexpr double kMaxSeconds = 24 * 3600;
    if (factor == 0 || !std::isfinite(v) || v < 0 || v * factor > kMaxSeconds) return std::nullopt;
    return v * factor;
}

int cmd_run(const RunArgs& args) {
    configure_logging(pick_level(args.log_level, args.quiet, "info"));
    Registry registry;
    register_builtin_plugins(registry);
    LoadOptions options;
    options.executor_override = executor_kind(args.executor);
    options.overrides = args.sets;
    if (args.workers) options.overrides.push_back("global.workers=" + *args.workers);
    if (args.concurrency) options.overrides.push_back("global.concurrency=" + *args.concurrency);
    if (args.batch_size) options.overrides.push_back("global.batch_size=" + *args.batch_size);
    Loaded loaded = load(args.file, registry, options);
    if (!loaded.pipeline) return loaded.exit_code;
    const PipelineSpec& p = *loaded.pipeline;
    configure_logging(pick_level(args.log_level, args.quiet, p.global.log_level));
    if (const StageSpec* st =
            args.file == "-" ? uses_standard_stream(p, StageRole::Source, "stdin.read") : nullptr) {
        print_err(fmt::format(
            "conveyor: {}: stage '{}' ({}) reads its records from standard input, but the "
            "pipeline itself was read from there (`conveyor run -`): put the pipeline in a file "
            "(`conveyor run pipeline.toml < data`) or the records in one\n",
            st->where.to_string(), st->id, st->function));
        return exit_codes::kUsage;
    }
    // A pipeline read from a pipe (`run <(...)`) cannot be read a second time.
    std::error_code ec;
    if (!args.dry_run && p.holds_data() && std::filesystem::is_regular_file(args.file, ec))
        use_huge_pages();

    if (args.dry_run) {
        std::fputs(plan_text(p).c_str(), stdout);
        for (const std::string& o : options.overrides)
            std::fprintf(stdout, "  set on the command line: %s\n", o.c_str());
        return exit_codes::kOk;
    }

    // Everything the user asked to observe is checked before anything runs.
    std::optional<std::vector<obs::TapRequest>> taps = check_taps(args, p);
    if (!taps) return exit_codes::kUsage;
    std::optional<obs::MetricsServer::Address> metrics_addr;
    if (args.metrics_addr) {
        Result<obs::MetricsServer::Address> a =
            obs::MetricsServer::parse_address(*args.metrics_addr);
        if (!a) {
            print_err("conveyor: " + a.error().message + "\n");
            return exit_codes::kUsage;
        }
        metrics_addr = std::move(a).value();
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
    auto journal = RunJournal::open(
        p, args.resume ? RunJournal::Mode::Resume : RunJournal::Mode::Fresh, &journal_note);
    if (!journal) {
        print_err("conveyor: " + journal.error().to_string() + "\n");
        return exit_code(journal.error().kind);
    }
    if (!journal_note.empty()) spdlog::info("{}", journal_note);

    RunContext run;
    run.journal = journal->get();
    MetricsRegistry metrics;
    const obs::RunDescription description = describe_run(p);
    const obs::TerminalInfo terminal = obs::stderr_terminal();

    std::unique_ptr<obs::Taps> observer;
    if (!taps->empty() || args.keep_intermediate) {
        std::vector<std::string> kept; // sinks pass nothing on: no file for them
        for (const StageSpec& st : p.stages)
            if (!(st.descriptor && st.descriptor->role == StageRole::Sink)) kept.push_back(st.id);
        Result<std::unique_ptr<obs::Taps>> t =
            obs::Taps::create(std::move(*taps), args.keep_intermediate, kept, &run);
        if (!t) {
            print_err("conveyor: error: --keep-intermediate: " + t.error().to_string() + "\n");
            return exit_code(t.error().kind);
        }
        observer = std::move(t).value();
    }

    std::unique_ptr<obs::MetricsServer> server;
    if (metrics_addr) {
        Result<std::unique_ptr<obs::MetricsServer>> s =
            obs::MetricsServer::start(*metrics_addr, [&description, &metrics] {
                return obs::render_prometheus(obs::collect_stats(description, metrics), metrics);
            });
        if (!s) {
            print_err("conveyor: error: " + s.error().to_string() + "\n");
            return exit_code(s.error().kind);
        }
        server = std::move(s).value();
        const std::string where = fmt::format("conveyor: serving metrics at http://{}/metrics\n",
                                              server->bound_address());
        // With port 0 the address is news the user needs, whatever the log level.
        if (metrics_addr->port == 0)
            obs::StderrWriter::instance().write(where);
        else
            spdlog::info("serving metrics at http://{}/metrics", server->bound_address());
    }

    // A display redrawn in place would tear records a stage prints on the same terminal.
    const bool data_on_terminal =
        uses_standard_stream(p, StageRole::Sink, "stdout.write") && ::isatty(1) == 1;
    if (data_on_terminal && terminal.live && !args.quiet && !args.no_progress)
        spdlog::debug("no progress display: records are printed on the terminal");
    std::optional<obs::ProgressDisplay> progress;
    if (terminal.live && !args.quiet && !args.no_progress && !data_on_terminal) {
        obs::ProgressDisplay::Options po;
        po.color = terminal.color;
        progress.emplace(description, metrics, po);
        progress->start();
    }

    RunOptions ro;
    ro.metrics = &metrics;
    ro.handle_signals = true;
    ro.observer = observer.get();
    spdlog::debug("running pipeline '{}' with executor = {}", p.name, to_string(p.global.executor));
    RunReport report = run_pipeline(p, run, ro);
    if (progress) progress->stop();
    if (server) server->stop();

    // Outputs the user asked for besides the pipeline's own; the first failure is reported and
    // turns a successful run into exit 73.
    std::optional<Error> side_error;
    auto note = [&side_error](Status s, std::string_view what) {
        if (s) return;
        spdlog::error("{}: {}", what, s.error().to_string());
        if (!side_error) side_error = std::move(s).error();
    };
    if (observer) note(observer->finish(), "--keep-intermediate");
    const obs::RunStats stats = final_stats(description, metrics, report);
    if (args.stats_json)
        note(write_atomically(*args.stats_json, obs::render_stats_json(stats)), "--stats-json");
    if (args.metrics_textfile) {
        if (!args.metrics_textfile->ends_with(".prom"))
            spdlog::warn("--metrics-textfile {}: node_exporter's textfile collector only reads "
                         "files ending in .prom",
                         *args.metrics_textfile);
        note(write_atomically(*args.metrics_textfile, obs::render_prometheus(stats, metrics)),
             "--metrics-textfile");
    }

    // The summary: on a terminal unless -q (someone is watching), elsewhere only with --stats
    // (cron mails whatever a job prints; scripts read --stats-json).
    const bool table = args.stats || (terminal.tty && !args.quiet);
    if (table) {
        print_err(obs::render_summary_table(stats, terminal.color));
    } else {
        // The table ends with the stages' warnings; without it they are logged.
        for (const obs::StageStats& s : stats.stages)
            for (const obs::FirstErrors::Entry& w : s.warnings)
                spdlog::warn("stage '{}': {}", s.id, w.message);
    }

    const double secs = std::chrono::duration<double>(report.wall).count();
    int code = report.exit_code();
    // A run that got to its end needs no journal; an interrupted or failed one keeps it for
    // --resume.
    if (report.status && !report.signal) {
        (*journal)->complete();
    } else {
        // A batch run stopped after a checkpoint kept the files it names: --resume carries
        // them on. Otherwise its outputs were rolled back (failure, stop) or committed as they
        // were (streaming stop): --resume starts again, reusing recorded results.
        if (!report.resumable) (*journal)->discard_checkpoints();
        if (std::filesystem::exists((*journal)->directory()))
            spdlog::info("run journal kept in {} (conveyor run --resume continues this run)",
                         (*journal)->directory());
    }
    if (report.signal) {
        print_err(fmt::format("conveyor: interrupted by {} after {:.2f} s\n",
                              report.signal == SIGINT ? "SIGINT" : "SIGTERM", secs));
        print_err(interrupted_hint(args.file, report));
    } else if (!report.status) {
        print_err("conveyor: error: " + report.status.error().to_string() + "\n");
        // Records other stages failed before the run stopped deserve their reason too.
        print_err(stage_outcomes(stats, p, true));
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
        for (const StageOutcome& s : report.stages)
            if (s.failed && s.error) print_err("  " + s.error->to_string() + "\n");
        print_err(stage_outcomes(stats, p, false));
    } else if (!table) {
        // The table's last line says the same.
        spdlog::info("pipeline '{}' completed in {:.2f} s", p.name, secs);
    }
    if (side_error && code == exit_codes::kOk) code = exit_code(side_error->kind);
    return code;
}

int cmd_graph(const GraphArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    Registry registry;
    register_builtin_plugins(registry);
    Loaded loaded = load(args.file, registry, {});
    if (!loaded.pipeline) return loaded.exit_code;
    const std::string text =
        args.format == "mermaid" ? graph_mermaid(*loaded.pipeline) : graph_dot(*loaded.pipeline);
    std::fputs(text.c_str(), stdout);
    return exit_codes::kOk;
}

int cmd_explain(const ExplainArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    Registry registry;
    register_builtin_plugins(registry);
    LoadOptions options;
    options.executor_override = executor_kind(args.executor);
    Loaded loaded = load(args.file, registry, options);
    if (!loaded.pipeline) return loaded.exit_code;
    std::fputs(explain_text(*loaded.pipeline).c_str(), stdout);
    return exit_codes::kOk;
}

int cmd_schema() {
    Registry registry;
    register_builtin_plugins(registry);
    std::fputs(pipeline_schema(registry).c_str(), stdout);
    return exit_codes::kOk;
}

int cmd_validate(const std::string& file) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    Registry registry;
    register_builtin_plugins(registry);
    Loaded loaded = load(file, registry, {});
    if (!loaded.pipeline) return loaded.exit_code;
    const PipelineSpec& p = *loaded.pipeline;
    // What only the input files show: a column an expression or an option names that is not
    // in a CSV header.
    const std::vector<Error> problems = probe_pipeline(p);
    for (const Error& e : problems) {
        const StageSpec* st = p.find_stage(e.stage);
        print_err(fmt::format("{}: error: {}\n", st ? st->where.to_string() : file, e.to_string()));
    }
    if (!problems.empty()) {
        print_err(fmt::format("conveyor: {} problem{} in {}\n", problems.size(),
                              problems.size() == 1 ? "" : "s", file));
        return exit_codes::kConfig;
    }
    std::printf("%s: OK (pipeline '%s', %zu stage%s, executor = %s)\n", file.c_str(),
                p.name.c_str(), p.stages.size(), p.stages.size() == 1 ? "" : "s",
                std::string(to_string(p.global.executor)).c_str());
    return exit_codes::kOk;
}

int cmd_list() {
    Registry registry;
    register_builtin_plugins(registry);
    std::size_t w = 0;
    for (const FunctionDescriptor* f : registry.functions())
        w = std::max(w, f->name.size());
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
        for (const FunctionDescriptor* d : registry.functions())
            names.push_back(d->name);
        print_err(
            fmt::format("conveyor: unknown function '{}'{}\nRun 'conveyor list' to see them all.\n",
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
    if (f->options.empty()) {
        s += "\nOptions: none\n";
    } else {
        s += "\nOptions ([stages.config]):\n";
        for (const OptionSpec& o : f->options) {
            s += fmt::format("  {} ({}{})", o.name, to_string(o.type),
                             o.required ? ", required" : "");
            if (!o.default_value.is_null()) s += " = " + o.default_value.to_string();
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
    }
    std::fputs(s.c_str(), stdout);
    return exit_codes::kOk;
}

} // namespace conveyor::cli
