// `conveyor queue push` and `conveyor queue status`, and the registration of the queue commands.

#include "commands.hpp"
#include "conveyor/obs/log.hpp"
#include "conveyor/queue/work_queue.hpp"
#include "json_doc.hpp"
#include "queue_cli.hpp"
#include "queue_common.hpp"
#include "session.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace conveyor::cli {

void add_queue_commands(CLI::App& app, QueueCommands& out) {
    CLI::App* queue = app.add_subcommand(
        "queue", "Work-queue mode: enqueue a pipeline's chunks, show a queue's progress");
    queue->require_subcommand(1);
    const std::string url_help = "The queue: redis://HOST:PORT/NAME or nats://HOST:PORT/NAME";

    out.push = queue->add_subcommand(
        "push", "Plan a pipeline's chunks (shards I of N) and enqueue them for `conveyor worker`");
    out.push->add_option("file", out.push_args.file, "Pipeline file (TOML)")
        ->required()
        ->type_name("FILE");
    out.push->add_option("--chunks", out.push_args.chunks, "How many chunks (N)")
        ->required()
        ->check(CLI::Range(1u, 100000u));
    out.push->add_option("--queue", out.push_args.queue, url_help)->required()->type_name("URL");
    out.push
        ->add_option("--max-deliveries", out.push_args.max_deliveries,
                     "A chunk delivered this many times without success goes to the dead "
                     "letters (default 5)")
        ->check(CLI::Range(1u, 1000u));
    out.push
        ->add_option("--lease", out.push_args.lease,
                     "How long a worker holds a chunk without renewing it (default 30s; workers "
                     "renew at a third of it)")
        ->type_name("DURATION");

    out.status = queue->add_subcommand(
        "status", "Print a queue's chunks done, in flight, pending and dead (with their errors)");
    out.status->add_option("--queue", out.status_args.queue, url_help)
        ->required()
        ->type_name("URL");
    out.status->add_flag("--json", out.status_args.json, "Print one JSON object");

    out.worker = app.add_subcommand(
        "worker", "Take chunks from a queue and run them, on as many machines as you like");
    out.worker->add_option("--queue", out.worker_args.queue, url_help)
        ->required()
        ->type_name("URL");
    out.worker->add_flag("--exit-when-empty", out.worker_args.exit_when_empty,
                         "Exit once no chunk is pending or in flight, instead of waiting for more");
    out.worker
        ->add_option("--log-level", out.worker_args.log_level,
                     "trace|debug|info|warn|error|off (overrides CONVEYOR_LOG)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "warning", "error", "off"}));
}

std::optional<int> run_queue_commands(const QueueCommands& c) {
    if (c.push && *c.push) return cmd_queue_push(c.push_args);
    if (c.status && *c.status) return cmd_queue_status(c.status_args);
    if (c.worker && *c.worker) return cmd_worker(c.worker_args);
    return std::nullopt;
}

int cmd_queue_push(const QueuePushArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    const std::optional<double> lease = parse_duration_seconds(args.lease);
    if (!lease || *lease < 0.01) {
        print_err("conveyor: --lease '" + args.lease +
                  "': expected a duration such as 30s or 2m (at least 10ms)\n");
        return exit_codes::kUsage;
    }
    // Loaded as a chunk is run (shard 0 of N), so that a pipeline whose chunks could not be
    // put together into one run's output is refused now, not chunk by chunk by the workers.
    if (int code = check_as_chunk(args.file, args.chunks)) return code;
    Result<std::string> bytes = read_text_file(args.file);
    if (!bytes) return report_error(bytes.error());

    queue::QueueSpec spec;
    std::error_code ec;
    spec.pipeline = std::filesystem::absolute(args.file, ec).lexically_normal().string();
    spec.pipeline_digest = queue::pipeline_digest(*bytes);
    spec.chunks = args.chunks;
    spec.lease = std::chrono::milliseconds(std::llround(*lease * 1000));
    spec.max_deliveries = args.max_deliveries;
    Result<OpenedQueue> q = open_queue_arg(args.queue);
    if (!q) return report_error(q.error());
    if (Status pushed = q->queue->push(spec); !pushed) return report_error(pushed.error());
    std::printf("queued %u chunks of %s on %s (lease %s, max deliveries %u)\n", spec.chunks,
                spec.pipeline.c_str(), q->url.to_string().c_str(), args.lease.c_str(),
                spec.max_deliveries);
    return exit_codes::kOk;
}

int cmd_queue_status(const QueueStatusArgs& args) {
    configure_logging(pick_level(std::nullopt, false, "info"));
    Result<OpenedQueue> q = open_queue_arg(args.queue);
    if (!q) return report_error(q.error());
    const queue::QueueUrl* url = &q->url;
    Result<queue::QueueStatus> st = q->queue->status();
    if (!st) return report_error(st.error());
    Result<std::vector<queue::DeadLetter>> dead = q->queue->dead_letters();
    if (!dead) return report_error(dead.error());
    if (args.json) {
        JsonDoc letters = JsonDoc::array();
        for (const queue::DeadLetter& d : *dead) {
            JsonDoc& letter = letters.push(JsonDoc::object());
            letter.set("chunk", static_cast<std::int64_t>(d.chunk));
            letter.set("deliveries", static_cast<std::int64_t>(d.deliveries));
            letter.set("error", d.error);
        }
        JsonDoc doc = JsonDoc::object();
        doc.set("queue", url->to_string());
        doc.set("chunks", static_cast<std::int64_t>(st->chunks));
        doc.set("done", static_cast<std::int64_t>(st->done));
        doc.set("in_flight", static_cast<std::int64_t>(st->in_flight));
        doc.set("pending", static_cast<std::int64_t>(st->pending));
        doc.set("dead", static_cast<std::int64_t>(st->dead));
        doc.set("dead_letters", std::move(letters));
        std::fputs(doc.dump().c_str(), stdout);
        return exit_codes::kOk;
    }
    std::printf(
        "%s: %llu chunks: done %llu, in-flight %llu, pending %llu, dead %llu\n",
        url->to_string().c_str(), static_cast<unsigned long long>(st->chunks),
        static_cast<unsigned long long>(st->done), static_cast<unsigned long long>(st->in_flight),
        static_cast<unsigned long long>(st->pending), static_cast<unsigned long long>(st->dead));
    for (const queue::DeadLetter& d : *dead)
        std::printf("  dead: chunk %u after %u deliveries: %s\n", d.chunk, d.deliveries,
                    d.error.c_str());
    return exit_codes::kOk;
}

} // namespace conveyor::cli
