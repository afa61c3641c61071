#include "plan.hpp"

#include "conveyor/exec/run_lock.hpp"
#include "conveyor/obs/summary.hpp"
#include "conveyor/registry/registry.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <thread>
#include <unistd.h>

namespace conveyor::cli {

PlanView::PlanView(const PipelineSpec& pipeline) : p(pipeline), dag(pipeline.stages.size()) {
    for (std::size_t i = 0; i < p.stages.size(); ++i)
        for (std::size_t k = 0; k < p.stages[i].inputs.size(); ++k)
            for (std::size_t j = 0; j < p.stages.size(); ++j)
                if (p.stages[j].id == p.stages[i].inputs[k]) {
                    dag.add_edge(j, i);
                    edges.emplace_back(j, i);
                    edge_outputs.push_back(k < p.stages[i].input_outputs.size()
                                               ? p.stages[i].input_outputs[k]
                                               : std::string());
                }
}

std::string PlanView::describe_stage(std::size_t i) const {
    const StageSpec& st = p.stages[i];
    std::string line = fmt::format("{} ({})", st.id, st.function);
    if (!st.inputs.empty()) {
        line += " <- ";
        for (std::size_t k = 0; k < st.inputs.size(); ++k)
            line += (k ? ", " : "") + st.input_label(k);
    }
    if (st.fan_out)
        line += fmt::format("  [gathers the branches of '{}', which numbers its records; it "
                            "also reads them from there]",
                            p.stages[*st.fan_out].id);
    if (st.buffer) {
        const BufferSpec& b = *st.buffer;
        const std::string records = b.max_records ? fmt::format("{} records", *b.max_records)
                                                  : std::string("channel_buffer_size records");
        if (b.type == BufferSpec::Type::Disk)
            line +=
                "  [buffer: " + records + " in memory, then files under " + spill_dir_for(p) + "]";
        else
            line += "  [buffer: " + records + " in memory, then " +
                    (b.when_full == BufferSpec::WhenFull::DropNewest ? "drops what comes"
                                                                     : "its producers wait") +
                    "]";
    }
    if (st.descriptor && st.descriptor->needs_whole_input) {
        const auto top = p.consumers_take_at_most(i);
        if (top && st.function == "sort.apply" && *top <= 1000000)
            line += fmt::format("  [top {}: a limit takes at most {} records, so the sort keeps "
                                "only that many]",
                                *top, *top);
        else
            line += fmt::format("  [holds {}: spills to {} beyond {}]",
                                p.global.execution_mode == ExecutionMode::Streaming
                                    ? "each window's records (runs once per window)"
                                    : "its input",
                                spill_dir_for(p), obs::human_bytes(p.memory_share()));
    } else if (st.stage && st.stage->may_hold_records()) {
        line += fmt::format("  [holds records waiting for later ones: spills to {} beyond {}]",
                            spill_dir_for(p), obs::human_bytes(p.memory_share()));
    }
    return line;
}

bool PlanView::is_source(std::size_t i) const {
    const StageSpec& st = p.stages[i];
    return st.descriptor ? st.descriptor->role == StageRole::Source : st.inputs.empty();
}

bool PlanView::is_sink(std::size_t i) const {
    const StageSpec& st = p.stages[i];
    return st.descriptor && st.descriptor->role == StageRole::Sink;
}

std::vector<std::vector<Dag::Chain>> PlanView::dag_steps() const {
    return dag.steps([this](std::size_t i) {
        const FunctionDescriptor* d = p.stages[i].descriptor;
        return !(d && d->asynchronous);
    });
}

std::string PlanView::describe_chain(const Dag::Chain& chain, std::string_view indent) const {
    std::string s = fmt::format("{}{}\n", indent, describe_stage(chain.front()));
    for (std::size_t k = 1; k < chain.size(); ++k)
        s += fmt::format("{}  streams into {}\n", indent, describe_stage(chain[k]));
    return s;
}

std::string plan_text(const PipelineSpec& p) {
    const PlanView v(p);
    std::string s = fmt::format("pipeline '{}' ({}): {} stage{}, executor = {}, mode = {}\n",
                                p.name, p.file, p.stages.size(), p.stages.size() == 1 ? "" : "s",
                                to_string(p.global.executor), to_string(p.global.execution_mode));
    if (p.global.executor == ExecutorKind::Dag) {
        const auto levels = v.dag_steps();
        for (std::size_t l = 0; l < levels.size(); ++l) {
            s += fmt::format("  level {}{}:\n", l,
                             levels[l].size() > 1 ? " (runs concurrently)" : "");
            for (const Dag::Chain& chain : levels[l])
                s += v.describe_chain(chain, "    ");
        }
    } else {
        s += fmt::format("  every stage runs concurrently; each {} holds at most {} records\n",
                         p.global.executor == ExecutorKind::Channel ? "edge (channel)"
                                                                    : "stage mailbox",
                         p.global.channel_buffer_size);
        for (std::size_t i : v.dag.topological_order())
            s += "    " + v.describe_stage(i) + "\n";
    }
    return s;
}

namespace {

std::size_t hardware_threads() {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 2; // as the executor does
}

std::string plural(std::size_t n, std::string_view word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

std::string join_ids(const PipelineSpec& p, const std::vector<std::size_t>& nodes) {
    std::string s;
    for (std::size_t k = 0; k < nodes.size(); ++k)
        s += (k ? ", " : "") + p.stages[nodes[k]].id;
    return s;
}

} // namespace

namespace {

/// explain's "settings:" section: executor, batches, threads, memory, timeouts, errors.
std::string explain_settings(const PipelineSpec& p, std::size_t sources) {
    const GlobalSpec& g = p.global;
    const bool dag = g.executor == ExecutorKind::Dag;
    const std::size_t workers = g.workers ? g.workers : hardware_threads();
    const std::size_t batch = g.batch_size;
    std::string s;
    s += "\nsettings:\n";
    s += fmt::format("  executor        {}\n",
                     dag ? "dag: level by level; each level's output is kept in memory, chains "
                           "of stages stream inside a level"
                     : g.executor == ExecutorKind::Channel
                         ? "channel: every stage runs at once; one bounded channel per edge"
                         : "async: every stage runs at once as an actor with one bounded mailbox");
    s += fmt::format("  mode            {}\n", to_string(g.execution_mode));
    s += fmt::format("  batch size      {} records{}\n", batch,
                     !dag && batch > g.channel_buffer_size
                         ? fmt::format(" (more than channel_buffer_size {}: a batch moves hand "
                                       "to hand, never waiting in a queue)",
                                       g.channel_buffer_size)
                         : "");
    s += fmt::format("  workers         {} for transforms and sinks{}\n", plural(workers, "thread"),
                     g.workers ? "" : " (workers = 0: one per hardware thread)");
    s += fmt::format("  source threads  {} (one per source)\n", sources);
    s += "  I/O thread      1 (network, timers, signals)\n";
    s += fmt::format("  concurrency     {} in-flight requests per I/O stage (http.fetch)\n",
                     g.concurrency);
    // Edges take a share only where dag buffers them (a fork, a join): a pipeline of chains
    // streams, and its holding stages share the whole limit.
    const bool buffered = dag && p.buffers_edges();
    s += fmt::format("  memory limit    {}{}, shared by the stages that hold their input{}\n",
                     obs::human_bytes(p.memory_limit()),
                     g.memory_limit ? "" : " (memory_limit unset: a quarter of RAM)",
                     buffered ? " and the buffered edges" : "");
    if (buffered)
        s += fmt::format("  memory cap      {} for buffered edges, beyond it they spill to {}{}\n",
                         obs::human_bytes(p.edge_share()), spill_dir_for(p),
                         g.max_buffered_bytes ? " (max_buffered_bytes)" : "");
    else if (dag)
        s += "  memory cap      none for edges: every edge streams inside a chain\n";
    s += fmt::format("  timeout         {}\n",
                     g.timeout_seconds ? fmt::format("{} s for the whole run", *g.timeout_seconds)
                                       : std::string("none"));
    s += fmt::format("  shutdown grace  {} s after SIGINT/SIGTERM\n", g.shutdown_timeout_seconds);
    const ErrorHandlingSpec& e = p.error_handling;
    s += fmt::format("  on error        {}\n",
                     e.strategy == ErrorStrategy::Continue
                         ? "continue: a failing stage is isolated, the rest runs (exit 3)"
                     : e.strategy == ErrorStrategy::Retry
                         ? fmt::format("retry: up to {} retries, waiting {} s, growing up to {} s",
                                       e.max_retries, e.retry_delay_seconds,
                                       e.max_retry_delay_seconds)
                         : std::string("stop: the first failure cancels the run"));
    if (e.dead_letter_enabled) s += fmt::format("  dead letters    {}\n", e.dead_letter_path);
    return s;
}

/// explain's levels (dag) or stages with their channels or mailboxes (channel, async).
std::string explain_layout(const PipelineSpec& p, const PlanView& v) {
    const GlobalSpec& g = p.global;
    const bool dag = g.executor == ExecutorKind::Dag;
    const std::size_t workers = g.workers ? g.workers : hardware_threads();
    std::string s;
    if (dag) {
        const auto levels = v.dag_steps();
        s += fmt::format("\nlevels ({}; a level starts when the previous one has finished; "
                         "a chain streams through queues of {} records inside its level):\n",
                         plural(levels.size(), "level"), g.channel_buffer_size);
        for (std::size_t l = 0; l < levels.size(); ++l) {
            s += fmt::format("  level {}{}\n", l,
                             levels[l].size() > 1 ? fmt::format(": {} run in parallel",
                                                                plural(levels[l].size(), "step"))
                                                  : "");
            for (const Dag::Chain& chain : levels[l])
                s += v.describe_chain(chain, "    ");
        }
    } else {
        s += "\nstages (all running at once):\n";
        for (std::size_t i : v.dag.topological_order())
            s += "  " + v.describe_stage(i) + "\n";
        if (g.executor == ExecutorKind::Channel) {
            s += fmt::format("\nchannels ({}, at most {} records each; a full channel makes its "
                             "producer wait):\n",
                             plural(v.edges.size(), "channel"), g.channel_buffer_size);
            for (std::size_t k = 0; k < v.edges.size(); ++k) {
                const auto& [from, to] = v.edges[k];
                const std::string& output = v.edge_outputs[k];
                s += fmt::format("  {}{} -> {}  capacity {}\n", p.stages[from].id,
                                 output.empty() ? "" : "." + output, p.stages[to].id,
                                 g.channel_buffer_size);
            }
        } else {
            s += fmt::format(
                "\nmailboxes (at most {} records each, shared by the stage's inputs):\n",
                g.channel_buffer_size);
            for (std::size_t i = 0; i < p.stages.size(); ++i)
                if (!v.dag.producers(i).empty())
                    s += fmt::format("  {}  capacity {}, fed by {}\n", p.stages[i].id,
                                     g.channel_buffer_size,
                                     plural(v.dag.producers(i).size(), "input"));
        }
        // Stages on different branches work on different records at the same time; stages on
        // one path overlap too (pipelining), bounded by the worker threads.
        s += fmt::format("\nparallelism: all {} work at once (sources on their own threads, the "
                         "others sharing {} worker thread{})\n",
                         plural(p.stages.size(), "stage"), workers, workers == 1 ? "" : "s");
    }
    return s;
}

/// explain's "fan-out / fan-in:" section (empty when the graph has neither).
std::string explain_fans(const PipelineSpec& p, const PlanView& v) {
    const bool dag = p.global.executor == ExecutorKind::Dag;
    std::string s;
    // Fan-out and fan-in are where records are copied or interleaved.
    std::string fan;
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        const auto consumers = v.dag.consumers(i);
        if (consumers.size() > 1)
            fan += fmt::format(
                "  {} fans out to {} (every record goes to each)\n", p.stages[i].id,
                join_ids(p, std::vector<std::size_t>(consumers.begin(), consumers.end())));
        const auto producers = v.dag.producers(i);
        if (producers.size() > 1)
            fan += fmt::format(
                "  {} fans in from {}{}\n", p.stages[i].id,
                join_ids(p, std::vector<std::size_t>(producers.begin(), producers.end())),
                dag ? " (one input after the other)" : " (interleaved as records arrive)");
    }
    if (!fan.empty()) s += "\nfan-out / fan-in:\n" + fan;
    return s;
}

} // namespace

std::string explain_text(const PipelineSpec& p) {
    const PlanView v(p);
    std::size_t sources = 0;
    for (std::size_t i = 0; i < p.stages.size(); ++i)
        sources += v.dag.producers(i).empty();
    std::string s = fmt::format("pipeline '{}' ({}{}): {}\n", p.name, p.file,
                                p.version.empty() ? "" : ", version " + p.version,
                                plural(p.stages.size(), "stage"));
    if (!p.description.empty()) s += "  " + p.description + "\n";
    s += explain_settings(p, sources);
    s += explain_layout(p, v);
    s += explain_fans(p, v);
    return s;
}

namespace {

std::string dot_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string mermaid_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"')
            out += "#quot;";
        else if (c == '<')
            out += "#lt;";
        else if (c == '>')
            out += "#gt;";
        else if (c == '\n')
            out += ' ';
        else
            out += c;
    }
    return out;
}

} // namespace

std::string graph_dot(const PipelineSpec& p) {
    const PlanView v(p);
    std::string s = "digraph " + dot_quote(p.name) + " {\n";
    s += "  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        const StageSpec& st = p.stages[i];
        const char* shape = v.is_source(i) ? ", shape=invhouse"
                            : v.is_sink(i) ? ", shape=house"
                                           : "";
        // \n inside a DOT label is a line break; written as the two characters.
        s += "  " + dot_quote(st.id) + " [label=" + dot_quote(st.id + "\n" + st.function) + shape +
             "];\n";
    }
    for (std::size_t e = 0; e < v.edges.size(); ++e) {
        const auto& [from, to] = v.edges[e];
        s += "  " + dot_quote(p.stages[from].id) + " -> " + dot_quote(p.stages[to].id);
        // A named output (route.apply's routes) labels its edge.
        if (!v.edge_outputs[e].empty()) s += " [label=" + dot_quote(v.edge_outputs[e]) + "]";
        s += ";\n";
    }
    s += "}\n";
    return s;
}

std::string graph_mermaid(const PipelineSpec& p) {
    const PlanView v(p);
    std::string s = "flowchart LR\n";
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        const StageSpec& st = p.stages[i];
        const std::string label =
            "\"" + mermaid_text(st.id) + "<br/>" + mermaid_text(st.function) + "\"";
        const std::string shape = v.is_source(i) ? "[/" + label + "/]"
                                  : v.is_sink(i) ? "[\\" + label + "\\]"
                                                 : "[" + label + "]";
        s += fmt::format("  s{}{}\n", i, shape);
    }
    for (std::size_t e = 0; e < v.edges.size(); ++e) {
        const auto& [from, to] = v.edges[e];
        if (v.edge_outputs[e].empty())
            s += fmt::format("  s{} --> s{}\n", from, to);
        else
            s += fmt::format("  s{} -->|\"{}\"| s{}\n", from, mermaid_text(v.edge_outputs[e]), to);
    }
    return s;
}

} // namespace conveyor::cli
