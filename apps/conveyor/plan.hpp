#pragma once

// What a pipeline will do, without running it: `run --dry-run`, `explain` and `graph` all read
// the same PlanView.

#include "conveyor/config/pipeline_spec.hpp"
#include "conveyor/graph/dag.hpp"

#include <string>
#include <vector>

namespace conveyor::cli {

struct PlanView {
    explicit PlanView(const PipelineSpec& pipeline);

    const PipelineSpec& p;
    Dag dag;
    /// (producer, consumer) per `inputs` entry, in file order of the consumers.
    std::vector<std::pair<std::size_t, std::size_t>> edges;
    /// Per edge: the producer's named output it carries ("" = its main output).
    std::vector<std::string> edge_outputs;

    /// "filter (filter.apply) <- load".
    [[nodiscard]] std::string describe_stage(std::size_t i) const;
    [[nodiscard]] bool is_source(std::size_t i) const;
    [[nodiscard]] bool is_sink(std::size_t i) const;
    /// What executor = "dag" runs: chains of stages grouped by level (Dag::steps; stages that
    /// run on the I/O thread, such as http.fetch, are steps of their own).
    [[nodiscard]] std::vector<std::vector<Dag::Chain>> dag_steps() const;
    /// The stage and, indented under it, the stages that stream from it inside its chain.
    [[nodiscard]] std::string describe_chain(const Dag::Chain& chain,
                                             std::string_view indent) const;
};

/// The short plan `run --dry-run` prints: levels (dag) or the stages in order (channel, async).
std::string plan_text(const PipelineSpec& pipeline);
/// The full plan `explain` prints: settings that shape the run, levels or channels with their
/// capacities, threads, and which stages run in parallel.
std::string explain_text(const PipelineSpec& pipeline);
/// The DAG in Graphviz DOT or Mermaid flowchart syntax.
std::string graph_dot(const PipelineSpec& pipeline);
std::string graph_mermaid(const PipelineSpec& pipeline);

} // namespace conveyor::cli
