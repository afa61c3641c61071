#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace conveyor {

/// A directed graph over nodes 0..n-1 (stages in file order), edges from producer to consumer.
/// Parallel edges are kept (a stage may list the same input twice).
class Dag {
public:
    explicit Dag(std::size_t nodes);
    void add_edge(std::size_t from, std::size_t to);

    [[nodiscard]] std::size_t size() const noexcept { return producers_.size(); }
    /// Producers of `node`, in the order edges were added (the stage's `inputs` order).
    [[nodiscard]] std::span<const std::size_t> producers(std::size_t node) const {
        return producers_[node];
    }
    /// Consumers of `node`, in the order edges were added.
    [[nodiscard]] std::span<const std::size_t> consumers(std::size_t node) const {
        return consumers_[node];
    }

    /// A cycle as a node path whose last node links back to the first; nullopt if acyclic.
    [[nodiscard]] std::optional<std::vector<std::size_t>> find_cycle() const;
    /// Nodes ordered so every producer precedes its consumers (stable: file order breaks
    /// ties). Requires an acyclic graph.
    [[nodiscard]] std::vector<std::size_t> topological_order() const;
    /// levels()[k] = nodes whose longest path from a source has k edges. Requires acyclic.
    [[nodiscard]] std::vector<std::vector<std::size_t>> levels() const;

    /// A chain: nodes head first, each the only consumer of the one before and fed by it alone.
    using Chain = std::vector<std::size_t>;
    /// The dag executor's steps: maximal chains of nodes for which `chainable` holds (a node
    /// joins its producer's chain when it has one producer, that producer has one consumer and
    /// both are chainable), grouped by the level of their head. Every producer of a chain's
    /// head is in an earlier group. Requires acyclic.
    [[nodiscard]] std::vector<std::vector<Chain>>
    steps(const std::function<bool(std::size_t)>& chainable) const;

private:
    std::vector<std::vector<std::size_t>> producers_;
    std::vector<std::vector<std::size_t>> consumers_;
};

} // namespace conveyor
