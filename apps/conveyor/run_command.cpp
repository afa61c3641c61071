// `conveyor run`: load, check what the user asked to observe, take the lock, open the journal,
// start the observers, run, report. Each step is a function below; cmd_run is their sequence.

#include "run_command.hpp"

#include "commands.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/core/suggest.hpp"
#include "conveyor/exec/executor.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/exec/run_stats_of.hpp"
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
#include "local_backend.hpp"
#include "plan.hpp"
#include "session.hpp"
#include "shard_run.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <thread>
#include <unistd.h>

namespace conveyor::cli {

namespace {

/// A step's outcome: go on, or end the command with this exit code.
using Step = std::optional<int>;

/// Writes `text` to `path` through a temporary file renamed into place ("-": stdout).
Status write_atomically(const std::string& path, const std::string& text) {
    Result<OutputFile> f = OutputFile::create(path, nullptr);
    if (!f) return std::move(f).error();
    CONVEYOR_TRY(f->write(text));
    return f->commit();
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

} // namespace

LoadOptions load_options(const RunArgs& args) {
    LoadOptions options;
    options.executor_override = executor_kind(args.executor);
    options.overrides = args.sets;
    if (args.workers) options.overrides.push_back("global.workers=" + *args.workers);
    if (args.concurrency) options.overrides.push_back("global.concurrency=" + *args.concurrency);
    if (args.batch_size) options.overrides.push_back("global.batch_size=" + *args.batch_size);
    return options;
}

namespace {

/// A pipeline read from standard input cannot also read its records from there.
Step check_standard_input(const RunArgs& args, const PipelineSpec& p) {
    const StageSpec* st =
        args.file == "-" ? uses_standard_stream(p, StageRole::Source, "stdin.read") : nullptr;
    if (!st) return std::nullopt;
    print_err(fmt::format(
        "conveyor: {}: stage '{}' ({}) reads its records from standard input, but the "
        "pipeline itself was read from there (`conveyor run -`): put the pipeline in a file "
        "(`conveyor run pipeline.toml < data`) or the records in one\n",
        st->where.to_string(), st->id, st->function));
    return exit_codes::kUsage;
}

/// --dry-run: the plan and the overrides, nothing run.
int print_plan(const PipelineSpec& p, const LoadOptions& options) {
    std::fputs(plan_text(p).c_str(), stdout);
    for (const std::string& o : options.overrides)
        std::fprintf(stdout, "  set on the command line: %s\n", o.c_str());
    return exit_codes::kOk;
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

/// What the user asked to observe, checked before anything runs.
struct ObserveRequest {
    std::vector<obs::TapRequest> taps;
    std::optional<obs::MetricsServer::Address> metrics_addr;
};

Step check_observe_request(const RunArgs& args, const PipelineSpec& p, ObserveRequest& out) {
    std::optional<std::vector<obs::TapRequest>> taps = check_taps(args, p);
    if (!taps) return exit_codes::kUsage;
    out.taps = std::move(*taps);
    if (args.metrics_addr) {
        Result<obs::MetricsServer::Address> a =
            obs::MetricsServer::parse_address(*args.metrics_addr);
        if (!a) {
            print_err("conveyor: " + a.error().message + "\n");
            return exit_codes::kUsage;
        }
        out.metrics_addr = std::move(a).value();
    }
    return std::nullopt;
}

/// --jitter: a random wait first, so that many cron jobs do not start at the same second.
void wait_jitter(const RunArgs& args) {
    if (!args.jitter) return;
    const double max_s = *parse_duration_seconds(*args.jitter);
    std::mt19937_64 rng{std::random_device{}()};
    const double wait = std::uniform_real_distribution<double>(0.0, max_s)(rng);
    spdlog::info("waiting {:.1f} s before starting (--jitter {})", wait, *args.jitter);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
}

/// --lock or [global] lock: one run of this pipeline at a time.
Step take_lock(const RunArgs& args, const PipelineSpec& p, RunLock& lock) {
    if (!args.lock && !p.global.lock) return std::nullopt;
    auto acquired = RunLock::acquire(p);
    if (!acquired) {
        print_err("conveyor: " + acquired.error().to_string() + "\n");
        return exit_code(acquired.error().kind);
    }
    lock = std::move(acquired).value();
    return std::nullopt;
}

/// The run journal: a fresh one, or the interrupted run's with --resume.
Step open_journal(const RunArgs& args, const PipelineSpec& p,
                  std::unique_ptr<RunJournal>& journal) {
    std::string note;
    const RunJournal::Mode mode = args.resume  ? RunJournal::Mode::Resume
                                  : args.fresh ? RunJournal::Mode::Fresh
                                               : RunJournal::Mode::Start;
    auto opened = RunJournal::open(p, mode, &note);
    if (!opened) {
        print_err("conveyor: " + opened.error().to_string() + "\n");
        return exit_code(opened.error().kind);
    }
    if (!note.empty()) spdlog::info("{}", note);
    journal = std::move(opened).value();
    return std::nullopt;
}

/// Taps and --keep-intermediate, the metrics server and the live display, for one run.
struct Observers {
    std::unique_ptr<obs::Taps> taps;
    std::unique_ptr<obs::MetricsServer> server;
    std::optional<obs::ProgressDisplay> progress;

    void stop() {
        if (progress) progress->stop();
        if (server) server->stop();
    }
};

Step start_observers(const RunArgs& args, const PipelineSpec& p, ObserveRequest request,
                     const obs::RunDescription& description, MetricsRegistry& metrics,
                     const obs::TerminalInfo& terminal, RunContext& run, Observers& out) {
    if (!request.taps.empty() || args.keep_intermediate) {
        std::vector<std::string> kept; // sinks pass nothing on: no file for them
        for (const StageSpec& st : p.stages)
            if (!(st.descriptor && st.descriptor->role == StageRole::Sink)) kept.push_back(st.id);
        Result<std::unique_ptr<obs::Taps>> t =
            obs::Taps::create(std::move(request.taps), args.keep_intermediate, kept, &run);
        if (!t) {
            print_err("conveyor: error: --keep-intermediate: " + t.error().to_string() + "\n");
            return exit_code(t.error().kind);
        }
        out.taps = std::move(t).value();
    }

    if (request.metrics_addr) {
        Result<std::unique_ptr<obs::MetricsServer>> s =
            obs::MetricsServer::start(*request.metrics_addr, [&description, &metrics] {
                return obs::render_prometheus(obs::collect_stats(description, metrics), metrics);
            });
        if (!s) {
            print_err("conveyor: error: " + s.error().to_string() + "\n");
            return exit_code(s.error().kind);
        }
        out.server = std::move(s).value();
        const std::string where = fmt::format("conveyor: serving metrics at http://{}/metrics\n",
                                              out.server->bound_address());
        // With port 0 the address is news the user needs, whatever the log level.
        if (request.metrics_addr->port == 0)
            obs::StderrWriter::instance().write(where);
        else
            spdlog::info("serving metrics at http://{}/metrics", out.server->bound_address());
    }

    // A display redrawn in place would tear records a stage prints on the same terminal.
    const bool data_on_terminal =
        uses_standard_stream(p, StageRole::Sink, "stdout.write") && ::isatty(1) == 1;
    if (data_on_terminal && terminal.live && !args.quiet && !args.no_progress)
        spdlog::debug("no progress display: records are printed on the terminal");
    if (terminal.live && !args.quiet && !args.no_progress && !data_on_terminal) {
        obs::ProgressDisplay::Options po;
        po.color = terminal.color;
        out.progress.emplace(description, metrics, po);
        out.progress->start();
    }
    return std::nullopt;
}

/// --keep-intermediate's files, --stats-json and --metrics-textfile: outputs the user asked
/// for besides the pipeline's own. The first failure is returned (it turns a successful run
/// into exit 73); each is logged.
std::optional<Error> write_side_outputs(const RunArgs& args, Observers& observers,
                                        const obs::RunStats& stats, MetricsRegistry& metrics) {
    std::optional<Error> first;
    auto note = [&first](Status s, std::string_view what) {
        if (s) return;
        spdlog::error("{}: {}", what, s.error().to_string());
        if (!first) first = std::move(s).error();
    };
    if (observers.taps) note(observers.taps->finish(), "--keep-intermediate");
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
    return first;
}

/// A finished run needs no journal; an interrupted or failed one keeps it for --resume.
void close_journal(RunJournal& journal, const RunReport& report) {
    if (report.status && !report.signal) {
        journal.complete();
        return;
    }
    // A batch run stopped after a checkpoint kept the files it names: --resume carries them
    // on. Otherwise its outputs were rolled back (failure, stop) or committed as they were
    // (streaming stop): --resume starts again, reusing recorded results.
    if (!report.resumable) journal.discard_checkpoints();
    if (std::filesystem::exists(journal.directory()))
        spdlog::info("run journal kept in {} (conveyor run --resume continues this run)",
                     journal.directory());
}

/// The sinks of `p` that commit at checkpoints (database tables), as "'a', 'b'"; empty if none.
std::string checkpoint_committers(const PipelineSpec& p) {
    std::string ids;
    for (const StageSpec& st : p.stages)
        if (st.descriptor && st.descriptor->commits_at_checkpoints)
            ids += (ids.empty() ? "'" : ", '") + st.id + "'";
    return ids;
}

/// What a run that `--resume` may continue (report.resumable) left, for stderr. `failed`: it
/// ended on an error, whose cause must be mended first.
std::string resume_hint(const std::string& file, const PipelineSpec& p, bool failed) {
    const char* const once = failed ? "once the cause is mended, " : "";
    // Database sinks committed their rows up to the last checkpoint: "no output" would send
    // the user to a plain rerun, which would append those rows again.
    if (const std::string tables = checkpoint_committers(p); !tables.empty())
        return fmt::format("conveyor: no file output was committed (the previous files are as "
                           "they were); the database sinks {} hold the rows up to the last "
                           "checkpoint; {}`conveyor run {} --resume` continues after them\n",
                           tables, once, file);
    return fmt::format("conveyor: no output was committed (the previous files are as they "
                       "were); {}`conveyor run {} --resume` continues where it stopped\n",
                       once, file);
}

/// What an interrupted run did to its outputs and how to carry on, for stderr.
std::string interrupted_hint(const std::string& file, const PipelineSpec& p,
                             const RunReport& report) {
    if (report.resumable) return resume_hint(file, p, false);
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

/// The error that ended a run. A configuration error of a stage (one its open() found: a column
/// that is not in the CSV header) is located at the option it names, or else at the stage, as
/// `conveyor validate` prints it.
std::string error_line(const PipelineSpec& p, const Error& e) {
    const StageSpec* st = e.kind == ErrorKind::Config ? p.find_stage(e.stage) : nullptr;
    return fmt::format("{}: error: {}\n", st ? st->location_of(e).to_string() : "conveyor",
                       e.to_string());
}

/// One line per stage that failed records: what became of them and why, whatever the log
/// level. `past_only`: only stages that went on past failed records (a failed run already
/// named the error that stopped it); a failed run commits no output, the dead-letter queue's
/// file included, so it is not pointed to then.
std::string stage_outcomes(const obs::RunStats& stats, const PipelineSpec& p, bool past_only) {
    const std::string queue =
        past_only ? " (the dead-letter queue " + p.error_handling.dead_letter_path +
                        " was not written: the run failed)"
                  : " (see the dead-letter queue " + p.error_handling.dead_letter_path + ")";
    std::string out;
    for (const obs::StageStats& s : stats.stages) {
        if (past_only && s.records_nulled + s.records_dropped + s.records_dead_lettered == 0)
            continue;
        const std::string what = obs::describe_outcomes(s);
        if (what.empty()) continue;
        out += fmt::format("  stage '{}': {}{}\n", s.id, what,
                           s.records_dead_lettered ? queue : std::string());
    }
    return out;
}

/// Whether the summary table is shown: on a terminal unless -q (someone is watching),
/// elsewhere only with --stats (cron mails whatever a job prints; scripts read --stats-json).
bool shows_table(const RunArgs& args, const obs::TerminalInfo& terminal) {
    return args.stats || (terminal.tty && !args.quiet);
}

/// The summary table or, without it, the stages' warnings (the table's last lines) as log lines.
void print_summary(const RunArgs& args, const obs::RunStats& stats,
                   const obs::TerminalInfo& terminal) {
    if (shows_table(args, terminal)) {
        print_err(obs::render_summary_table(stats, terminal.color));
        return;
    }
    for (const obs::StageStats& s : stats.stages)
        for (const obs::FirstErrors::Entry& w : s.warnings)
            spdlog::warn("stage '{}': {}", s.id, w.message);
}

/// How the run ended: interrupted, failed, completed with failures or (without the table,
/// whose last line says it) completed.
void print_ending(const RunArgs& args, const PipelineSpec& p, const RunReport& report,
                  const obs::RunStats& stats, const obs::TerminalInfo& terminal) {
    const double secs = std::chrono::duration<double>(report.wall).count();
    if (report.signal) {
        print_err(fmt::format("conveyor: interrupted by {} after {:.2f} s\n",
                              signal_name(report.signal), secs));
        print_err(interrupted_hint(args.file, p, report));
    } else if (!report.status) {
        print_err(error_line(p, report.status.error()));
        // Records other stages failed before the run stopped deserve their reason too.
        print_err(stage_outcomes(stats, p, true));
        if (report.resumable) print_err(resume_hint(args.file, p, true));
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
    } else if (!shows_table(args, terminal)) {
        spdlog::info("pipeline '{}' completed in {:.2f} s", p.name, secs);
    }
}

} // namespace

int cmd_run(const RunArgs& args) {
    configure_logging(pick_level(args.log_level, args.quiet, "info"));
    const LoadOptions options = load_options(args);
    Result<std::optional<ShardId>> shard = shard_of_run(args);
    if (!shard) {
        print_err("conveyor: " + shard.error().message + "\n");
        return exit_codes::kUsage;
    }
    if (*shard) return run_shard(args, options, **shard);
    Loaded loaded = load(args.file, options);
    if (!loaded.pipeline) return loaded.exit_code;
    if (loaded.pipeline->global.backend != Backend::None && !args.dry_run) {
        if (loaded.pipeline->global.backend == Backend::Auto) {
            // A shard from the engine that started us, if one did; else local.
            Result<std::optional<ShardId>> env =
                shard_from_environment(process_environment(), args.shards);
            if (!env) {
                print_err("conveyor: " + env.error().message + "\n");
                return exit_codes::kUsage;
            }
            if (*env) return run_shard(args, options, **env);
        }
        configure_logging(
            pick_level(args.log_level, args.quiet, loaded.pipeline->global.log_level));
        return run_local(args, *loaded.pipeline);
    }
    return run_loaded(args, *loaded.pipeline, options, nullptr);
}

int run_loaded(const RunArgs& args, const PipelineSpec& p, const LoadOptions& options,
               obs::RunStats* stats_out) {
    configure_logging(pick_level(args.log_level, args.quiet, p.global.log_level));
    if (Step end = check_standard_input(args, p)) return *end;
    if (args.dry_run) return print_plan(p, options);
    // A pipeline read from a pipe (`run <(...)`) cannot be read a second time.
    std::error_code ec;
    if (p.holds_data() && std::filesystem::is_regular_file(args.file, ec)) use_huge_pages();

    ObserveRequest request;
    if (Step end = check_observe_request(args, p, request)) return *end;
    wait_jitter(args);
    RunLock lock;
    if (Step end = take_lock(args, p, lock)) return *end;
    std::unique_ptr<RunJournal> journal;
    if (Step end = open_journal(args, p, journal)) return *end;

    RunContext run;
    run.journal = journal.get();
    MetricsRegistry metrics;
    const obs::RunDescription description = describe_run(p);
    const obs::TerminalInfo terminal = obs::stderr_terminal();
    Observers observers;
    if (Step end = start_observers(args, p, std::move(request), description, metrics, terminal, run,
                                   observers))
        return *end;

    RunOptions ro;
    ro.metrics = &metrics;
    ro.handle_signals = true;
    ro.observer = observers.taps.get();
    spdlog::debug("running pipeline '{}' with executor = {}", p.name, to_string(p.global.executor));
    const RunReport report = run_pipeline(p, run, ro);
    observers.stop();

    const obs::RunStats stats = final_stats(description, metrics, report);
    if (stats_out) *stats_out = stats;
    const std::optional<Error> side_error = write_side_outputs(args, observers, stats, metrics);
    print_summary(args, stats, terminal);
    close_journal(*journal, report);
    print_ending(args, p, report, stats, terminal);
    int code = report.exit_code();
    if (side_error && code == exit_codes::kOk) code = exit_code(side_error->kind);
    // An input that is missing here may be beside the pipeline file: say so, as validate does.
    if (code == exit_codes::kNoInput) explain_input_paths(p, args.file, "hint");
    return code;
}

} // namespace conveyor::cli
