#include "conveyor/exec/executor.hpp"

#include "checkpointer.hpp"
#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/journal.hpp"
#include "conveyor/exec/own_output.hpp"
#include "conveyor/exec/run_lock.hpp"
#include "conveyor/exec/runtime.hpp"
#include "conveyor/graph/dag.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/obs/metrics.hpp"
#include "conveyor/registry/registry.hpp"
#include "conveyor/stage/checkpoint_spacing.hpp"
#include "conveyor/stage/stream_stage.hpp"
#include "per_window.hpp"
#include "plan.hpp"

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;

namespace conveyor {

int RunReport::exit_code() const noexcept {
    if (signal == SIGINT) return exit_codes::kSigint;
    if (signal == SIGTERM) return exit_codes::kSigterm;
    if (signal != 0) return 128 + signal;
    if (!status) return conveyor::exit_code(status.error().kind);
    if (completed_with_failures) return exit_codes::kCompletedWithFailures;
    return exit_codes::kOk;
}

std::string signal_name(int signal) {
    switch (signal) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    default:
        return "signal " + std::to_string(signal);
    }
}

namespace {

/// Whether this process started with SIGHUP ignored (nohup, or a parent that ignores it).
bool hangup_ignored() noexcept {
    struct sigaction current {};
    return ::sigaction(SIGHUP, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

} // namespace

namespace exec {

bool settle_stage(Plan& plan, Node& node, const Status& status) {
    if (status) {
        node.finished = true;
        return false;
    }
    const Error& e = status.error();
    // A stage that merely noticed the run's cancellation did not fail by itself.
    if (e.kind == ErrorKind::Cancelled && plan.run->cancelled()) return false;
    node.failed = true;
    node.error = e;
    // A stage that failed cannot report its state any more: no further checkpoint can be
    // complete.
    if (plan.checkpoints) plan.checkpoints->disable();
    if (node.policy().continues() && !plan.run->cancelled()) {
        spdlog::error("{} (strategy = \"continue\": the rest of the run goes on)", e.to_string());
        return true;
    }
    plan.run->cancel(e);
    return false;
}

} // namespace exec

namespace {

std::size_t default_workers() {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 2;
}

/// The executor that runs the pipeline. Streaming mode needs stages that pass records on as
/// they come, and the dag executor materialises each stage's whole output (an endless source
/// would never end its level): streaming pipelines run with the channel executor instead.
ExecutorKind effective_executor(const GlobalSpec& g) {
    if (g.execution_mode == ExecutionMode::Streaming && g.executor == ExecutorKind::Dag)
        return ExecutorKind::Channel;
    return g.executor;
}

/// Records per batch the sources of the run aim for: within a checkpoint interval when the
/// run may take checkpoints, so that markers can come every checkpoint_interval records. Not
/// capped by channel_buffer_size: a batch larger than a queue's bound moves hand to hand
/// (exec/inbox.hpp), so small bounds cost no extra hand-offs.
std::size_t batch_size_for(const GlobalSpec& g, bool source, bool checkpoints) {
    std::size_t n = g.batch_size;
    if (source && checkpoints && g.checkpoint_interval > 0)
        n = std::min<std::size_t>(n, g.checkpoint_interval);
    return std::max<std::size_t>(1, n);
}

/// Opens every stage in dependency order, passing each the initial schemas of its inputs.
/// `resume`: the checkpoint to continue from (each stage gets its state from it); stages that
/// had finished their output before the interruption are left alone (not opened).
Status open_stages(exec::Plan& plan, const Dag& dag, const RunJournal* resume) {
    const GlobalSpec& g = plan.pipeline->global;
    const std::uint64_t memory_share = plan.pipeline->memory_share();
    const std::string spill_dir = spill_dir_for(*plan.pipeline);
    for (std::size_t i : dag.topological_order()) {
        exec::Node& n = plan.nodes[i];
        if (resume && resume->finished_before(n.id()) && n.consumers.empty()) {
            spdlog::info(
                "stage '{}' finished its output before the interruption; it is left as it is",
                n.id());
            n.finished = true;
            n.metrics->set_state(StageState::Done);
            continue;
        }
        std::vector<SchemaRef> schemas;
        std::unique_ptr<bool[]> fixed(new bool[n.producers.size() + 1]());
        for (std::size_t k = 0; k < n.producers.size(); ++k) {
            const exec::Node& prod = plan.nodes[n.producers[k]];
            schemas.push_back(prod.opened ? prod.opened->initial_schema : nullptr);
            fixed[k] = prod.opened && prod.opened->fixed_schema && prod.opened->initial_schema;
        }
        OpenContext ctx;
        ctx.stage_id = n.id();
        ctx.input_schemas = schemas;
        ctx.input_schemas_fixed = std::span<const bool>(fixed.get(), n.producers.size());
        ctx.batch_size = batch_size_for(g, n.producers.empty(), plan.run->journal != nullptr);
        ctx.mode = g.execution_mode;
        if (resume) {
            const auto& states = resume->resumed_checkpoint()->states;
            if (auto it = states.find(n.id()); it != states.end()) ctx.resume = it->second;
        }
        ctx.run = plan.run;
        ctx.metrics = n.metrics;
        ctx.errors = n.errors.get();
        if (n.spec->descriptor && n.spec->descriptor->needs_whole_input) {
            ctx.memory_budget = memory_share;
            ctx.spill_dir = spill_dir;
            ctx.output_limit = plan.pipeline->consumers_take_at_most(
                static_cast<std::size_t>(n.spec - plan.pipeline->stages.data()));
        } else if (n.spec->stage && n.spec->stage->may_hold_records()) {
            ctx.memory_budget = memory_share;
            ctx.spill_dir = spill_dir;
        }
        // Outputs nobody reads: all false (the stage may handle those records itself).
        const std::size_t named = n.spec->stage ? n.spec->stage->named_outputs().size() : 0;
        if (named && !n.named_outputs_read) {
            n.named_outputs_read.reset(new bool[named]());
            n.named_outputs = named;
        }
        ctx.named_outputs_read = std::span<const bool>(n.named_outputs_read.get(), n.named_outputs);
        ctx.inputs_complete = g.executor == ExecutorKind::Dag && n.producers.size() > 1;
        Result<OpenedStage> opened = n.spec->stage->open(ctx);
        // strategy = "retry": opening again may succeed (an input not there yet, a server
        // restarting); bad data or a bad pipeline never will.
        const ErrorHandlingSpec& policy = n.policy();
        for (std::uint32_t attempt = 0;
             !opened && policy.strategy == ErrorStrategy::Retry && attempt < policy.max_retries &&
             is_retryable(opened.error().kind) && !plan.run->stop_requested();
             ++attempt) {
            const auto delay = backoff_delay(attempt, policy.retry_delay_seconds,
                                             policy.max_retry_delay_seconds, plan.run->uniform01);
            spdlog::warn("stage '{}': {}; retrying in {} ms (attempt {} of {})", n.id(),
                         opened.error().to_string(), delay.count(), attempt + 2,
                         policy.max_retries + 1);
            n.metrics->retries.fetch_add(1, std::memory_order_relaxed);
            if (plan.run->on_backoff) plan.run->on_backoff(n.id(), delay);
            if (!plan.run->wait_for(delay)) break; // interrupted
            opened = n.spec->stage->open(ctx);
        }
        if (!opened) {
            Error e = std::move(opened).error().in_stage(n.id());
            if (!policy.continues()) return e;
            spdlog::error("{} (strategy = \"continue\": the rest of the run goes on)",
                          e.to_string());
            n.failed = true;
            n.error = std::move(e);
            n.metrics->set_state(StageState::Failed);
            continue;
        }
        // In a stream, after window.apply (the loader allows it only there): once per window.
        if (g.execution_mode == ExecutionMode::Streaming && n.spec->descriptor &&
            n.spec->descriptor->needs_whole_input)
            if (auto* op = std::get_if<std::unique_ptr<Operator>>(&opened->op))
                *op = exec::per_window(*n.spec->stage, ctx, std::move(*op));
        n.opened.emplace(std::move(opened).value());
        spdlog::debug("stage '{}' ({}): opened", n.id(), n.spec->function);
    }
    return {};
}

/// The run's threads. A process that may not start them (too little address space for their
/// stacks under ulimit -v, too many processes under ulimit -u or a cgroup's pids.max) fails
/// the run with TempFail instead of ending in std::terminate.
Result<std::unique_ptr<Runtime>> start_runtime(std::size_t workers, std::size_t sources) {
    const std::string limits = " (the address-space limit, ulimit -v, leaves too little for "
                               "their stacks, or the process limit, ulimit -u, is reached)";
    try {
        return std::make_unique<Runtime>(workers, sources);
    } catch (const std::bad_alloc&) {
        return Error(ErrorKind::TempFail, "cannot start the run's threads: out of memory" + limits);
    } catch (const std::exception& e) {
        return Error(ErrorKind::TempFail,
                     std::string("cannot start the run's threads: ") + e.what() + limits);
    }
}

void abort_unfinished(exec::Plan& plan) {
    for (exec::Node& n : plan.nodes) {
        if (!n.opened || n.finished) continue;
        std::visit([](auto& op) { op->abort(); }, n.opened->op);
    }
}

/// Why the run cannot take checkpoints, or nullopt when it can: every stage must take part.
std::optional<std::string> no_checkpoints_because(const exec::Plan& plan) {
    if (plan.pipeline->global.checkpoint_interval == 0) return "checkpoint_interval = 0";
    for (const exec::Node& n : plan.nodes) {
        if (n.finished && !n.opened) continue; // finished before the interruption
        if (!n.opened) return fmt::format("stage '{}' did not open", n.id());
        if (!n.opened->checkpoints)
            return fmt::format("stage '{}' ({}) cannot continue from a checkpoint", n.id(),
                               n.spec->function);
    }
    return std::nullopt;
}

/// What open_run() sets up besides the stages.
struct RunSetup {
    std::unique_ptr<DeadLetterQueue> dead_letters;
    std::unique_ptr<exec::Checkpointer> checkpoints;
};

/// Opens the dead-letter queue (when enabled) and gives every stage its StageErrors.
Status open_dead_letters(exec::Plan& plan, RunSetup& setup,
                         const std::optional<std::string>& resume) {
    const PipelineSpec& p = *plan.pipeline;
    setup.dead_letters.reset();
    plan.run->dead_letters = nullptr;
    Status s;
    if (p.error_handling.dead_letter_enabled) {
        auto q = DeadLetterQueue::open(p.error_handling.dead_letter_path, plan.run, resume);
        if (q) {
            setup.dead_letters = std::move(q).value();
            plan.run->dead_letters = setup.dead_letters.get();
        } else {
            s = std::move(q).error();
        }
    }
    for (exec::Node& n : plan.nodes)
        n.errors = std::make_unique<StageErrors>(n.spec->id, n.spec->error_handling,
                                                 setup.dead_letters.get(), n.metrics);
    return s;
}

/// Opens the dead-letter queue and the stages, from the interrupted run's checkpoint when
/// resuming from one. When that is not possible (an output it had is gone, a stage cannot take
/// part), opens everything again to start from the beginning. Sets up the checkpoint
/// coordinator when the run can take checkpoints.
Status open_run(exec::Plan& plan, const Dag& dag, RunSetup& setup) {
    RunJournal* journal = plan.run->journal;
    const bool resuming = journal && journal->resumed_checkpoint();
    std::optional<std::string> dlq_state;
    if (resuming) {
        const auto& states = journal->resumed_checkpoint()->states;
        if (auto it = states.find(std::string(DeadLetterQueue::kCheckpointName));
            it != states.end())
            dlq_state = it->second;
    }
    Status opened = open_dead_letters(plan, setup, dlq_state);
    if (opened) opened = open_stages(plan, dag, resuming ? journal : nullptr);
    std::optional<std::string> why_not = no_checkpoints_because(plan);
    if (resuming && (!opened || why_not)) {
        const std::string reason = !opened ? opened.error().to_string() : *why_not;
        spdlog::warn("cannot continue from checkpoint {} ({}); starting from the beginning "
                     "(recorded results are still reused)",
                     journal->resumed_checkpoint()->id, reason);
        for (exec::Node& n : plan.nodes) {
            if (n.opened) std::visit([](auto& op) { op->abort(); }, n.opened->op);
            n.opened.reset();
            n.finished = n.failed = false;
            n.error.reset();
            n.metrics->set_state(StageState::Pending);
        }
        journal->forget_resumed_checkpoint();
        opened = open_dead_letters(plan, setup, std::nullopt);
        if (opened) opened = open_stages(plan, dag, nullptr);
        why_not = no_checkpoints_because(plan);
    }
    if (!opened) return opened;
    if (!journal || !journal->usable()) return {};
    if (why_not) {
        spdlog::debug("no checkpoints this run: {}", *why_not);
        return {};
    }
    std::vector<std::optional<std::string>> participants;
    for (const exec::Node& n : plan.nodes) {
        // Sources and sinks hold the state of a checkpoint; transforms that take part are
        // stateless (their markers pass on once aligned).
        const bool reports =
            n.opened && !std::holds_alternative<std::unique_ptr<StreamOperator>>(n.opened->op) &&
            (n.producers.empty() || n.consumers.empty());
        participants.push_back(reports ? std::optional<std::string>(n.id()) : std::nullopt);
    }
    const GlobalSpec& g = plan.pipeline->global;
    const std::uint64_t start =
        journal->resumed_checkpoint() ? journal->resumed_checkpoint()->id : 0;
    // A database sink commits at each checkpoint: it may ask for them further apart.
    std::uint64_t interval = g.checkpoint_interval;
    for (const exec::Node& n : plan.nodes)
        if (const auto* spacing = dynamic_cast<const CheckpointSpacing*>(n.spec->stage.get()))
            interval = std::max(interval, spacing->min_checkpoint_interval());
    setup.checkpoints = std::make_unique<exec::Checkpointer>(
        *journal, std::move(participants), interval, batch_size_for(g, true, true), start,
        setup.dead_letters.get(), *plan.run);
    if (setup.dead_letters) setup.dead_letters->keep_back_for_checkpoints();
    plan.checkpoints = setup.checkpoints.get();
    for (exec::Node& n : plan.nodes) {
        n.checkpoints = setup.checkpoints.get();
        // Records before the first marker of this run come after the resumed checkpoint.
        n.errors->passed_checkpoint(start);
    }
    return {};
}

std::string records(std::uint64_t n) {
    return fmt::format("{} record{}", n, n == 1 ? "" : "s");
}

/// Whether `--resume` may carry the run on from its last checkpoint (report.resumable): a
/// batch run that committed one and was stopped, or that failed while a database sink held
/// the rows of its checkpoints (a rerun from the start would append them again, so the tables
/// could only be continued).
bool resumable(const exec::Plan& plan, const RunReport& report) {
    const RunContext& run = *plan.run;
    if (plan.pipeline->global.execution_mode != ExecutionMode::Batch || !plan.checkpoints ||
        plan.checkpoints->committed() == 0)
        return false;
    if (report.stopped_batch && !run.cancelled()) return true;
    return run.cancelled() && commits_at_checkpoints(*plan.pipeline);
}

/// Ends the run's outputs once every stage has ended: commits them all (the dead-letter queue
/// first: if its file cannot be written, no output is committed), or, when the run failed, was
/// cancelled or was stopped in batch mode, rolls them all back. A run that resumable() says
/// `--resume` may carry on keeps the files its last checkpoint names.
void settle_outputs(exec::Plan& plan, RunSetup& setup, RunReport& report) {
    RunContext& run = *plan.run;
    FinishedOutputs& outputs = run.finished_outputs();
    DeadLetterQueue* dlq = setup.dead_letters.get();
    run.dead_letters = nullptr;
    report.stopped_batch =
        run.stop_requested() && plan.pipeline->global.execution_mode == ExecutionMode::Batch;
    const std::uint64_t dead = dlq ? dlq->count() : 0;
    if (!run.cancelled() && !report.stopped_batch) {
        outputs.set_deferring(false);
        if (dlq) {
            if (Status s = dlq->commit(); !s) {
                spdlog::error("{} could not be written to the dead-letter queue {}: {}",
                              records(dead), dlq->path(), s.error().to_string());
                run.cancel(std::move(s).error());
            } else if (dead > 0) {
                spdlog::warn("{} written to the dead-letter queue {}", records(dead), dlq->path());
            }
        }
        if (!run.cancelled()) {
            if (Status s = outputs.commit_all(run.temp_files()); !s)
                run.cancel(std::move(s).error());
            return;
        }
        outputs.roll_back(run.temp_files(), false);
        return;
    }
    report.resumable = resumable(plan, report);
    // Kept for --resume, the queue's file is handed over like the sinks' (its checkpoint
    // names it); otherwise it goes with the queue.
    if (dlq && report.resumable) {
        if (Status s = dlq->commit(); !s) report.resumable = false;
    }
    outputs.roll_back(run.temp_files(), report.resumable);
    outputs.set_deferring(false);
    if (dead > 0)
        spdlog::warn("{} for the dead-letter queue {} not written: the run {}", records(dead),
                     dlq->path(),
                     !report.resumable      ? "ended without committing its outputs"
                     : report.stopped_batch ? "stopped; `--resume` writes them"
                                            : "failed; `--resume` writes them");
}

/// The plan's nodes (with their metrics and observer) and the graph's edges: each input, and
/// a gather's extra edge from the fan-out it joins.
void wire_plan(const PipelineSpec& pipeline, MetricsRegistry& metrics, const RunOptions& options,
               exec::Plan& plan, Dag& dag) {
    plan.nodes.resize(pipeline.stages.size());
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        exec::Node& n = plan.nodes[i];
        n.spec = &pipeline.stages[i];
        n.index = i;
        n.metrics = &metrics.add(n.spec->id);
        if (n.spec->stage)
            if (const std::size_t named = n.spec->stage->named_outputs().size())
                n.metrics->count_named_outputs(named);
        if (options.observer && options.observer->observes(n.spec->id))
            n.observer = options.observer;
    }
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        const StageSpec& spec = pipeline.stages[i];
        for (std::size_t k = 0; k < spec.inputs.size(); ++k) {
            const auto it =
                std::find_if(pipeline.stages.begin(), pipeline.stages.end(),
                             [&](const StageSpec& s) { return s.id == spec.inputs[k]; });
            const std::size_t p = static_cast<std::size_t>(it - pipeline.stages.begin());
            exec::Node& producer = plan.nodes[p];
            std::uint32_t output = 0;
            if (k < spec.input_outputs.size() && !spec.input_outputs[k].empty() && it->stage) {
                // The loader checked that the output exists.
                const std::vector<NamedOutput> named = it->stage->named_outputs();
                for (std::size_t o = 0; o < named.size(); ++o)
                    if (named[o].name == spec.input_outputs[k]) {
                        output = static_cast<std::uint32_t>(o + 1);
                        if (!producer.named_outputs_read) {
                            producer.named_outputs_read.reset(new bool[named.size()]());
                            producer.named_outputs = named.size();
                        }
                        producer.named_outputs_read[o] = true;
                    }
            }
            producer.consumers.push_back({i, plan.nodes[i].producers.size(), output});
            plan.nodes[i].producers.push_back(p);
            dag.add_edge(p, i);
        }
    }
    // A gather also reads its branches' fan-out, after its listed inputs: every record (of
    // every output) with its lineage id, so that it knows each record and its order. It is the
    // fan-out's first consumer, so that it hears of a record before the branches answer.
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        const StageSpec& spec = pipeline.stages[i];
        if (!spec.fan_out) continue;
        exec::Node& fan_out = plan.nodes[*spec.fan_out];
        fan_out.numbers_records = true;
        fan_out.consumers.insert(fan_out.consumers.begin(),
                                 {i, plan.nodes[i].producers.size(), exec::kEveryOutput});
        plan.nodes[i].producers.push_back(*spec.fan_out);
        dag.add_edge(*spec.fan_out, i);
    }
}

} // namespace

RunReport run_pipeline(const PipelineSpec& pipeline, RunContext& run, const RunOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    RunReport report;
    MetricsRegistry own_metrics;
    MetricsRegistry& metrics = options.metrics ? *options.metrics : own_metrics;

    exec::Plan plan;
    plan.pipeline = &pipeline;
    plan.run = &run;
    Dag dag(pipeline.stages.size());
    wire_plan(pipeline, metrics, options, plan, dag);
    plan.levels = dag.levels();

    std::size_t sources = 0;
    for (const exec::Node& n : plan.nodes)
        sources += n.producers.empty() ? 1 : 0;
    const GlobalSpec& g = pipeline.global;
    Result<std::unique_ptr<Runtime>> threads =
        start_runtime(g.workers ? g.workers : default_workers(), std::max<std::size_t>(1, sources));
    if (!threads) {
        report.status = std::move(threads).error();
        report.wall = std::chrono::steady_clock::now() - started;
        return report;
    }
    Runtime& runtime = **threads;
    plan.runtime = &runtime;
    run.runtime = &runtime;
    run.work_pool = &runtime;

    // Signals: the first SIGINT/SIGTERM/SIGHUP stops sources gracefully (grace period
    // shutdown_timeout_seconds); a second one aborts at once, deleting temporary files. SIGHUP
    // (the terminal or ssh session went away) stops like SIGTERM: by default it would kill
    // the process at once, leaving temporary output files behind; ignored under nohup.
    std::atomic<int> signal_seen{0};
    std::optional<asio::signal_set> signals;
    asio::steady_timer grace(runtime.io());
    std::function<void()> arm_signals;
    if (options.handle_signals) {
        signals.emplace(runtime.io(), SIGINT, SIGTERM);
        // Under nohup (SIGHUP ignored when we started) a hangup must stay ignored: the user
        // asked for the run to outlive the terminal.
        if (!hangup_ignored()) signals->add(SIGHUP);
        // Abort at once: delete every temporary output file and exit; used for a second
        // signal and when the grace period ends (a sink may be stuck in a blocking write).
        auto abort_now = [&run](int sig) {
            run.temp_files().remove_all();
            std::fprintf(stderr, "conveyor: aborted by %s\n", signal_name(sig).c_str());
            std::_Exit(128 + sig);
        };
        arm_signals = [&, abort_now] {
            signals->async_wait([&, abort_now](const boost::system::error_code& ec, int sig) {
                if (ec) return;
                if (signal_seen.exchange(sig) != 0) abort_now(sig);
                // Stop first: what reads the log (a test) may count on the stop being seen.
                run.request_stop();
                spdlog::warn("received {}: stopping sources, letting records in flight drain "
                             "(up to {} s; a second signal aborts at once)",
                             signal_name(sig), g.shutdown_timeout_seconds);
                grace.expires_after(std::chrono::milliseconds(
                    static_cast<std::int64_t>(g.shutdown_timeout_seconds * 1000)));
                grace.async_wait([&, abort_now, sig](const boost::system::error_code& gec) {
                    if (gec) return;
                    spdlog::error("the run did not drain within shutdown_timeout_seconds = {}",
                                  g.shutdown_timeout_seconds);
                    abort_now(sig);
                });
                arm_signals();
            });
        };
        asio::post(runtime.io(), [&] { arm_signals(); });
    }
    asio::steady_timer deadline(runtime.io());
    if (g.timeout_seconds) {
        deadline.expires_after(
            std::chrono::milliseconds(static_cast<std::int64_t>(*g.timeout_seconds * 1000)));
        deadline.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            run.cancel(Error(ErrorKind::Timeout, "the run exceeded [global] timeout_seconds = " +
                                                     fmt::format("{}", *g.timeout_seconds)));
        });
    }

    // Outputs finished by their stages are committed together at the end (settle_outputs).
    run.finished_outputs().set_deferring(true);
    RunSetup setup;
    Status opened = check_outputs_are_not_inputs(pipeline);
    if (opened) opened = open_run(plan, dag, setup);
    if (!opened) {
        run.cancel(opened.error());
    } else {
        const ExecutorKind executor = effective_executor(g);
        if (executor != g.executor)
            spdlog::debug("execution_mode = \"streaming\": running with executor = \"channel\" "
                          "(the dag executor waits for each stage's whole output)");
        switch (executor) {
        case ExecutorKind::Dag:
            exec::run_dag(plan);
            break;
        case ExecutorKind::Channel:
            exec::run_streaming(plan, false);
            break;
        case ExecutorKind::Async:
            exec::run_streaming(plan, true);
            break;
        }
    }
    abort_unfinished(plan);

    // Stop timers and signal handling before the runtime goes away.
    asio::post(runtime.io(), [&] {
        deadline.cancel();
        grace.cancel();
        if (signals) signals->cancel();
    });
    runtime.shutdown();
    run.runtime = nullptr;
    run.work_pool = nullptr;
    report.signal = signal_seen.load();
    settle_outputs(plan, setup, report);

    if (run.cancelled()) {
        Error reason = run.cancel_reason().value_or(Error(ErrorKind::Cancelled, "cancelled"));
        report.status = reason;
    }
    for (const exec::Node& n : plan.nodes) {
        const std::uint64_t failed_records = n.metrics->records_failed.load();
        report.stages.push_back({n.id(), n.failed, n.error, failed_records});
        if (n.failed || failed_records > 0) report.completed_with_failures = true;
    }
    if (!report.status) report.completed_with_failures = false;
    report.wall = std::chrono::steady_clock::now() - started;
    return report;
}

} // namespace conveyor
