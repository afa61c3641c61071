// conveyor: run ETL pipelines described in TOML files. The only place CLI11 is used; every
// failure path ends in one of the documented exit codes (see README.md). The completion
// scripts and the man page are generated from the CLI11 definitions below (shell_docs.cpp).

#include "commands.hpp"
#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/core/error.hpp"
#include "conveyor/core/suggest.hpp"
#include "queue_cli.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace conveyor;

namespace {

/// `conveyor run`: its options fill `args`.
CLI::App* add_run_command(CLI::App& app, cli::RunArgs& args) {
    CLI::App* run = app.add_subcommand("run", "Run a pipeline");
    run->add_option("file", args.file, "Pipeline file (TOML)")->required()->type_name("FILE");
    run->add_option("--executor", args.executor, "Override [global] executor")
        ->check(CLI::IsMember(executor_names()));
    run->add_option("--set", args.sets,
                    "Set a pipeline value, checked like the file's: global.KEY=VALUE, "
                    "error_handling.KEY=VALUE, stages.ID.KEY=VALUE (that stage's config); "
                    "repeatable")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    run->add_option("--workers", args.workers, "Same as --set global.workers=N")->type_name("N");
    run->add_option("--concurrency", args.concurrency, "Same as --set global.concurrency=N")
        ->type_name("N");
    run->add_option("--batch-size", args.batch_size, "Same as --set global.batch_size=N")
        ->type_name("N");
    run->add_option("--log-level", args.log_level,
                    "trace|debug|info|warn|error|critical|off (overrides CONVEYOR_LOG and "
                    "[global])")
        ->check(CLI::IsMember(
            {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"}));
    run->add_flag("--dry-run", args.dry_run,
                  "Load, validate and print the plan without reading or writing data");
    run->add_flag("-q,--quiet", args.quiet,
                  "Only log warnings and errors; no progress display, no summary (unless --stats)");
    run->add_flag("--stats", args.stats,
                  "Print the end-of-run summary table on stderr even when stderr is not a "
                  "terminal (or with -q)");
    run->add_flag("--no-progress", args.no_progress, "No live progress display on the terminal");
    run->add_option("--stats-json", args.stats_json,
                    "Write the run's statistics as JSON to FILE (atomically), whatever the outcome")
        ->type_name("FILE");
    run->add_option("--metrics-addr", args.metrics_addr,
                    "Serve Prometheus metrics at http://ADDR/metrics during the run "
                    "(e.g. 127.0.0.1:9464; port 0 picks a free port, printed on stderr)")
        ->type_name("ADDR");
    run->add_option("--metrics-textfile", args.metrics_textfile,
                    "Write the final metrics to FILE (atomically) for node_exporter's textfile "
                    "collector (name it *.prom)")
        ->type_name("FILE");
    run->add_option("--tap", args.taps,
                    "Print the first N (default 10) records leaving STAGE to stderr as JSON lines; "
                    "repeatable")
        ->type_name("STAGE[:N]")
        ->allow_extra_args(false); // one stage per --tap: `--tap a p.toml` keeps p.toml the file
    run->add_option("--keep-intermediate", args.keep_intermediate,
                    "Write every stage's output records to DIR/STAGE.jsonl")
        ->type_name("DIR");
    run->add_flag("--lock", args.lock,
                  "Refuse to start while another run of this pipeline holds its lock (exit 4)");
    auto* resume_flag = run->add_flag(
        "--resume", args.resume,
        "Finish a run that was interrupted (crash, kill): work recorded in its journal "
        "(http.fetch responses) is not done again");
    run->add_flag("--fresh", args.fresh, "Ignore (and discard) an unfinished run's journal")
        ->excludes(resume_flag);
    run->add_option("--jitter", args.jitter,
                    "Wait a random time up to DURATION (e.g. 30s, 2m) before starting, so jobs "
                    "scheduled for the same minute do not start together")
        ->check([](const std::string& v) {
            return cli::parse_duration_seconds(v)
                       ? std::string()
                       : "expected a duration up to 24h, such as 30s, 2m or 500ms";
        });

    run->add_option("--shard", args.shard,
                    "Run shard I of N (counted from 0) of a partitioned run, writing parts for "
                    "`conveyor finalize`; auto: the shard the batch engine's environment names "
                    "(SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, CONVEYOR_SHARD)")
        ->type_name("I/N|auto");
    run->add_option("--shards", args.shards,
                    "With --shard auto: the number of shards, when the environment does not "
                    "say it")
        ->type_name("N");
    run->add_option("--attempt", args.attempt,
                    "With --shard: the id naming this attempt's files until they are committed "
                    "(default: random)")
        ->type_name("ID");
    return run;
}

/// `conveyor finalize`: puts a sharded run's parts together.
CLI::App* add_finalize_command(CLI::App& app, cli::FinalizeArgs& args) {
    CLI::App* finalize = app.add_subcommand(
        "finalize", "Check the parts a sharded run committed and put each output together");
    finalize->add_option("file", args.file, "Pipeline file (TOML)")->required()->type_name("FILE");
    finalize
        ->add_option("--shards", args.shards,
                     "The number of shards (default: what the committed parts say)")
        ->type_name("N");
    finalize->add_flag("--keep-parts", args.keep_parts,
                       "Leave the parts as they are and write _SUCCESS beside them instead of "
                       "concatenating them");
    finalize
        ->add_option("--set", args.sets,
                     "Set a pipeline value as `conveyor run --set` does (the same as the run's)")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    return finalize;
}

/// `conveyor replay`: feeds dead letters back into a stage.
CLI::App* add_replay_command(CLI::App& app, cli::ReplayArgs& args) {
    CLI::App* replay = app.add_subcommand(
        "replay", "Feed the records a stage dead-lettered back into that stage and run it and "
                  "everything downstream of it");
    replay->add_option("dead_letters", args.dead_letters, "Dead-letter queue file (NDJSON)")
        ->required();
    replay->add_option("pipeline", args.pipeline, "Pipeline file (TOML)")->required();
    replay->add_option("--from-stage", args.from_stage, "The stage to feed")->required();
    replay
        ->add_option("--set", args.sets,
                     "Set a pipeline value as `conveyor run --set` does, e.g. "
                     "stages.ID.path=OTHER_FILE or stages.ID.append=true for a sink whose file "
                     "the replay would otherwise replace")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    return replay;
}

/// The commands that read a pipeline without running it, or print something, and what
/// their options fill.
struct ToolCommands {
    std::string validate_file;
    bool validate_connect = false;
    std::vector<std::string> validate_sets;
    std::string describe_name;
    cli::GraphArgs graph_args;
    cli::ExplainArgs explain_args;
    std::string new_name;
    std::string shell;
    std::string completion_output;
    std::string man_output;
    CLI::App* validate = nullptr;
    CLI::App* list = nullptr;
    CLI::App* describe = nullptr;
    CLI::App* graph = nullptr;
    CLI::App* explain = nullptr;
    CLI::App* schema = nullptr;
    CLI::App* make_new = nullptr;
    CLI::App* completion = nullptr;
    CLI::App* man = nullptr;
};

void add_tool_commands(CLI::App& app, ToolCommands& t) {
    t.validate = app.add_subcommand("validate", "Check a pipeline file and report every problem");
    t.validate->add_option("file", t.validate_file, "Pipeline file (TOML)")
        ->required()
        ->type_name("FILE");
    t.validate
        ->add_option("--set", t.validate_sets,
                     "Set a pipeline value as `conveyor run --set` does, to check the file as "
                     "that run will read it")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    t.validate->add_flag("--connect", t.validate_connect,
                         "Also connect to each database a stage reads or writes and check its "
                         "tables and columns (reads and writes no data)");

    t.list = app.add_subcommand("list", "List every function with a one-line description");

    t.describe = app.add_subcommand("describe", "Show a function's options (or a section's keys)");
    t.describe
        ->add_option(
            "function", t.describe_name,
            "Function name (csv.read), an expression function (lower) or expressions for all "
            "of them, or global, error_handling or pipeline for a section's keys")
        ->required()
        ->type_name("FUNCTION");

    t.graph = app.add_subcommand("graph", "Print the pipeline's graph (Graphviz DOT or Mermaid)");
    t.graph->add_option("file", t.graph_args.file, "Pipeline file (TOML)")
        ->required()
        ->type_name("FILE");
    t.graph
        ->add_option("--format", t.graph_args.format,
                     "dot (default; render with `dot -Tsvg`) or mermaid")
        ->check(CLI::IsMember({"dot", "mermaid"}));

    t.explain = app.add_subcommand(
        "explain",
        "Print the execution plan: levels or channels, capacities, threads, parallelism");
    t.explain->add_option("file", t.explain_args.file, "Pipeline file (TOML)")
        ->required()
        ->type_name("FILE");
    t.explain->add_option("--executor", t.explain_args.executor, "Override [global] executor")
        ->check(CLI::IsMember(executor_names()));

    t.schema = app.add_subcommand(
        "schema",
        "Print a JSON Schema of pipeline files (for editors), from the functions' options");

    t.make_new = app.add_subcommand("new", "Write a commented starter pipeline NAME.toml");
    t.make_new->add_option("name", t.new_name, "Pipeline name or path (NAME or NAME.toml)")
        ->required()
        ->type_name("NAME");

    t.completion = app.add_subcommand("completion", "Print a shell completion script");
    t.completion->add_option("shell", t.shell, "bash or zsh")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh"}));
    t.completion->add_option("-o,--output", t.completion_output, "Write to FILE instead of stdout")
        ->type_name("FILE");

    // Used by the build to generate the man page; not shown in --help.
    t.man = app.add_subcommand("man", "Print the conveyor(1) man page (roff)");
    t.man->group("");
    t.man->add_option("-o,--output", t.man_output, "Write to FILE instead of stdout")
        ->type_name("FILE");
}

/// The names an option of `app` is spelled with on the command line (--name, -n).
std::vector<std::string> option_spellings(const CLI::App& app) {
    std::vector<std::string> out;
    for (const CLI::Option* opt : app.get_options()) {
        for (const std::string& l : opt->get_lnames())
            out.push_back("--" + l);
        for (const std::string& s : opt->get_snames())
            out.push_back("-" + s);
    }
    return out;
}

/// Every subcommand of an app (CLI11 filters them by a predicate).
bool every_command(const CLI::App*) {
    return true;
}

/// The subcommand of `app` that `word` names, or null.
const CLI::App* subcommand_named(const CLI::App& app, std::string_view word) {
    const CLI::App* named = nullptr;
    for (const CLI::App* sub : app.get_subcommands(every_command))
        if (sub->check_name(std::string(word))) named = sub;
    return named;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands(every_command))
        names.push_back(sub->get_name());
    return names;
}

/// The first argument from `from` on that is not an option; argc when there is none.
int next_word(int from, int argc, char** argv) {
    while (from < argc && argv[from][0] == '-')
        ++from;
    return from;
}

/// The first option after argv[at] (the command's word) that neither `command` (or the
/// subcommand of it named next, such as `queue push`) nor the top level has, as a message.
std::optional<std::string> unknown_option(const CLI::App& app, const CLI::App& command, int at,
                                          int argc, char** argv) {
    const CLI::App* inner = &command;
    if (const int w = next_word(at + 1, argc, argv); w < argc)
        if (const CLI::App* sub = subcommand_named(command, argv[w])) inner = sub;
    std::vector<std::string> known = option_spellings(*inner);
    for (const std::string& o : option_spellings(app))
        known.push_back(o);
    for (int j = at + 1; j < argc; ++j) {
        std::string_view a = argv[j];
        if (a == "--") break;
        if (!a.starts_with('-') || a == "-") continue;
        if (const auto eq = a.find('='); eq != std::string_view::npos) a = a.substr(0, eq);
        // -abc may be short flags together: only a long spelling is checked.
        if (!a.starts_with("--") && a.size() > 2) continue;
        if (std::find(known.begin(), known.end(), a) == known.end())
            return "unknown option '" + std::string(a) + "' for 'conveyor " + command.get_name() +
                   "'" + did_you_mean(a, known);
    }
    return std::nullopt;
}

/// `--set a=1 b=2`: the second KEY=VALUE without its own --set, which CLI11 calls only "not
/// expected".
std::optional<std::string> set_without_flag(int argc, char** argv) {
    bool seen_set = false;
    for (int j = 1; j < argc; ++j) {
        const std::string_view a = argv[j];
        if (a == "--") break;
        if (a == "--set" || a.starts_with("--set=")) {
            seen_set = true;
            if (a == "--set") ++j; // its value
            continue;
        }
        if (seen_set && !a.starts_with('-') && a.find('=') != std::string_view::npos)
            return "'" + std::string(a) + "' is not a --set of its own: write --set before each " +
                   "KEY=VALUE (--set a=1 --set b=2)";
    }
    return std::nullopt;
}

/// What CLI11 says of a bad command line, made to name the word that is wrong and suggest the
/// right one: a misspelled command (`conveyor runn p.toml` said only "A subcommand is
/// required") or a misspelled option ("The following argument was not expected: --resme").
std::string usage_problem(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
    // The first word that is not an option names the command (the top level takes only flags).
    const int at = next_word(1, argc, argv);
    if (at == argc) {
        if (dynamic_cast<const CLI::RequiredError*>(&e) == nullptr) return e.what();
        std::string list;
        for (const std::string& n : subcommand_names(app))
            if (n != "man") list += (list.empty() ? "" : ", ") + n;
        const std::vector<std::string> known = option_spellings(app);
        for (int j = 1; j < argc; ++j)
            if (argv[j][0] == '-' && std::find(known.begin(), known.end(), argv[j]) == known.end())
                return "unknown option '" + std::string(argv[j]) + "'" +
                       did_you_mean(argv[j], known) + " before any command; the commands are " +
                       list;
        return "a command is needed: " + list;
    }
    const CLI::App* command = subcommand_named(app, argv[at]);
    if (!command)
        return "unknown command '" + std::string(argv[at]) + "'" +
               did_you_mean(argv[at], subcommand_names(app)) +
               "; the commands are listed by 'conveyor --help'";
    // A command of commands (queue) with a misspelled one or none: CLI11 says "A subcommand
    // is required".
    const std::vector<std::string> names = subcommand_names(*command);
    if (!names.empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
        const int w = next_word(at + 1, argc, argv);
        if (w == argc) {
            std::string list;
            for (const std::string& n : names)
                list += (list.empty() ? "" : ", ") + n;
            return "'conveyor " + command->get_name() + "' needs a command: " + list;
        }
        if (!subcommand_named(*command, argv[w]))
            return "unknown command '" + command->get_name() + " " + argv[w] + "'" +
                   did_you_mean(argv[w], names) + "; see 'conveyor " + command->get_name() +
                   " --help'";
    }
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
        if (auto message = unknown_option(app, *command, at, argc, argv)) return *message;
        if (auto message = set_without_flag(argc, argv)) return *message;
    }
    return e.what();
}

} // namespace

int main(int argc, char** argv) {
    cli::reserve_standard_fds();
    cli::note_start(argv);
    // A closed stdout (`conveyor run x.toml | head`) must surface as EPIPE, not kill us.
    std::signal(SIGPIPE, SIG_IGN);
    // Past a file-size limit (ulimit -f) a write must fail with EFBIG, an output error (exit 73)
    // that rolls the output back or cuts it to its last record, instead of killing the process
    // with a partial file and its temporary files left behind.
    std::signal(SIGXFSZ, SIG_IGN);
#ifdef __GLIBC__
    // Batches are allocated on one thread and freed on another; with glibc's per-thread
    // arenas each arena grows to its own high-water mark, so peak memory creeps up with the
    // length of a run. Allocation happens per batch, not per record, so one arena costs
    // nothing measurable (pipelines/bench) and keeps the peak flat.
    mallopt(M_ARENA_MAX, 1);
    // Memory a batch frees is taken again by the next one. glibc's defaults give blocks of a
    // few hundred KiB (a batch's values, a read block) their own mappings, and hand the top of
    // the heap back to the kernel once 256 KiB or so lie free: the next batch then grows the
    // heap again and faults its pages in one by one, and growing it takes the lock that the
    // other threads' page faults wait for. Below 4 MiB blocks now come from the heap, whose
    // top keeps up to 16 MiB free. W1 5M (pipelines/bench): 4-6% less CPU, page faults
    // 9,000 -> 4,700, peak RSS 26 -> 28 MiB.
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif

    CLI::App app{"conveyor: run ETL pipelines described in TOML files", "conveyor"};
    app.set_version_flag("-V,--version", std::string("conveyor ") + CONVEYOR_VERSION);
    app.require_subcommand(1);
    app.footer("Exit codes: 0 ok, 1 run failed, 3 completed with failed stages/records,\n"
               "64 usage, 65 bad input data, 66 input missing, 73 cannot write output,\n"
               "75 temporary failure (retry later), 78 invalid pipeline,\n"
               "130/143/129 interrupted (SIGINT/SIGTERM/SIGHUP).");

    cli::RunArgs run_args;
    CLI::App* run = add_run_command(app, run_args);
    cli::FinalizeArgs finalize_args;
    CLI::App* finalize = add_finalize_command(app, finalize_args);
    cli::ReplayArgs replay_args;
    CLI::App* replay = add_replay_command(app, replay_args);

    ToolCommands tools;
    add_tool_commands(app, tools);

    cli::QueueCommands queue_commands;
    cli::add_queue_commands(app, queue_commands);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "conveyor: %s\nRun 'conveyor --help' for usage.\n",
                     usage_problem(app, e, argc, argv).c_str());
        return exit_codes::kUsage;
    }

    if (*run) return cli::cmd_run(run_args);
    if (*finalize) return cli::cmd_finalize(finalize_args);
    if (*tools.validate)
        return cli::cmd_validate(tools.validate_file, tools.validate_connect, tools.validate_sets);
    if (*replay) return cli::cmd_replay(replay_args);
    if (*tools.list) return cli::cmd_list();
    if (*tools.describe) return cli::cmd_describe(tools.describe_name);
    if (*tools.graph) return cli::cmd_graph(tools.graph_args);
    if (*tools.explain) return cli::cmd_explain(tools.explain_args);
    if (*tools.schema) return cli::cmd_schema();
    if (*tools.make_new) return cli::cmd_new(tools.new_name);
    if (*tools.completion) return cli::cmd_completion(app, tools.shell, tools.completion_output);
    if (*tools.man) return cli::cmd_man(app, tools.man_output);
    if (auto code = cli::run_queue_commands(queue_commands)) return *code;
    return exit_codes::kUsage;
}
