#include "conveyor/graph/dag.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <vector>

namespace conveyor {
namespace {

using Nodes = std::vector<std::size_t>;

std::vector<Nodes> levels_of(const Dag& dag) {
    return dag.levels();
}

/// True when every edge goes from an earlier to a later position of `order`.
bool respects_edges(const Dag& dag, const Nodes& order) {
    std::vector<std::size_t> pos(dag.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        pos[order[i]] = i;
    for (std::size_t n = 0; n < dag.size(); ++n)
        for (std::size_t c : dag.consumers(n))
            if (pos[n] >= pos[c]) return false;
    return true;
}

TEST(DagTest, EmptyGraph) {
    Dag dag(0);
    EXPECT_EQ(dag.size(), 0u);
    EXPECT_FALSE(dag.find_cycle().has_value());
    EXPECT_TRUE(dag.topological_order().empty());
    EXPECT_TRUE(dag.levels().empty());
}

TEST(DagTest, EdgesKeepInputOrder) {
    Dag dag(4);
    dag.add_edge(2, 3);
    dag.add_edge(0, 3);
    dag.add_edge(1, 3);
    dag.add_edge(0, 1);
    EXPECT_EQ(Nodes(dag.producers(3).begin(), dag.producers(3).end()), (Nodes{2, 0, 1}));
    EXPECT_EQ(Nodes(dag.consumers(0).begin(), dag.consumers(0).end()), (Nodes{3, 1}));
    EXPECT_TRUE(dag.producers(0).empty());
}

TEST(DagTest, LevelsFollowTheLongestPathFromASource) {
    // The seed's level example: two sources, a merge, three sinks; plus a shortcut edge
    // source1 -> sink3 that must not pull sink3 up a level.
    Dag dag(6); // 0 source1, 1 source2, 2 merge, 3 sink1, 4 sink2, 5 sink3
    dag.add_edge(0, 2);
    dag.add_edge(1, 2);
    dag.add_edge(2, 3);
    dag.add_edge(2, 4);
    dag.add_edge(2, 5);
    dag.add_edge(0, 5);
    EXPECT_EQ(levels_of(dag), (std::vector<Nodes>{{0, 1}, {2}, {3, 4, 5}}));
}

TEST(DagTest, StepsChainLinearRunsAndBreakAtForksJoinsAndUnchainableNodes) {
    // 0 -> 1 -> 2 -> 3 (a chain, but 2 is not chainable), 1... ; 4 -> 5, 4 -> 6 (a fork);
    // 5 -> 7 <- 6 (a join); 7 -> 8.
    Dag dag(9);
    dag.add_edge(0, 1);
    dag.add_edge(1, 2);
    dag.add_edge(2, 3);
    dag.add_edge(4, 5);
    dag.add_edge(4, 6);
    dag.add_edge(5, 7);
    dag.add_edge(6, 7);
    dag.add_edge(7, 8);
    using Chains = std::vector<Nodes>;
    const auto all = dag.steps([](std::size_t) { return true; });
    EXPECT_EQ(all, (std::vector<Chains>{{{0, 1, 2, 3}, {4}}, {{5}, {6}}, {{7, 8}}}));
    const auto no2 = dag.steps([](std::size_t n) { return n != 2; });
    EXPECT_EQ(no2, (std::vector<Chains>{{{0, 1}, {4}}, {{5}, {6}}, {{2}, {7, 8}}, {{3}}}));
    const auto none = dag.steps([](std::size_t) { return false; });
    EXPECT_EQ(none.size(), dag.levels().size()) << "nothing chained: the steps are the levels";
    EXPECT_TRUE(Dag(0).steps([](std::size_t) { return true; }).empty());
}

TEST(DagTest, DisconnectedNodesAreLevelZero) {
    Dag dag(3);
    dag.add_edge(2, 0);
    EXPECT_EQ(levels_of(dag), (std::vector<Nodes>{{1, 2}, {0}}));
}

TEST(DagTest, TopologicalOrderIsStableInFileOrder) {
    // Stages written consumer-first: 0 <- 1 <- 2, and 3 independent.
    Dag dag(4);
    dag.add_edge(2, 1);
    dag.add_edge(1, 0);
    const Nodes order = dag.topological_order();
    EXPECT_EQ(order, (Nodes{2, 1, 0, 3}));
    EXPECT_TRUE(respects_edges(dag, order));

    Dag diamond(4);
    diamond.add_edge(0, 1);
    diamond.add_edge(0, 2);
    diamond.add_edge(1, 3);
    diamond.add_edge(2, 3);
    EXPECT_EQ(diamond.topological_order(), (Nodes{0, 1, 2, 3}));
}

TEST(DagTest, ParallelEdgesAreKeptAndCounted) {
    // A stage that lists the same input twice gets two ports fed by one producer.
    Dag dag(3);
    dag.add_edge(0, 1);
    dag.add_edge(0, 1);
    dag.add_edge(1, 2);
    EXPECT_EQ(dag.producers(1).size(), 2u);
    EXPECT_EQ(dag.consumers(0).size(), 2u);
    EXPECT_FALSE(dag.find_cycle().has_value());
    EXPECT_EQ(dag.topological_order(), (Nodes{0, 1, 2}));
    EXPECT_EQ(levels_of(dag), (std::vector<Nodes>{{0}, {1}, {2}}));
}

TEST(DagTest, SelfLoopIsACycle) {
    Dag dag(2);
    dag.add_edge(0, 1);
    dag.add_edge(1, 1);
    EXPECT_EQ(dag.find_cycle(), Nodes{1});
}

TEST(DagTest, CycleIsReturnedAsAPathInEdgeDirection) {
    // 0 -> 1 -> 2 -> 3 -> 1, and 3 -> 4.
    Dag dag(5);
    dag.add_edge(0, 1);
    dag.add_edge(1, 2);
    dag.add_edge(2, 3);
    dag.add_edge(3, 1);
    dag.add_edge(3, 4);
    auto cycle = dag.find_cycle();
    ASSERT_TRUE(cycle.has_value());
    EXPECT_EQ(*cycle, (Nodes{1, 2, 3}));
    // Each node links to the next, and the last back to the first.
    for (std::size_t i = 0; i < cycle->size(); ++i) {
        const std::size_t from = (*cycle)[i];
        const std::size_t to = (*cycle)[(i + 1) % cycle->size()];
        auto consumers = dag.consumers(from);
        EXPECT_NE(std::find(consumers.begin(), consumers.end(), to), consumers.end());
    }
}

TEST(DagTest, CycleReachedOnlyThroughALaterRoot) {
    // Node 0 is acyclic; the cycle 2 <-> 3 is only reached from root 1.
    Dag dag(4);
    dag.add_edge(1, 2);
    dag.add_edge(2, 3);
    dag.add_edge(3, 2);
    auto cycle = dag.find_cycle();
    ASSERT_TRUE(cycle.has_value());
    EXPECT_EQ(*cycle, (Nodes{2, 3}));
}

TEST(DagTest, DiamondIsNotACycle) {
    // Reaching a finished node again (a diamond) is not a cycle.
    Dag dag(4);
    dag.add_edge(0, 1);
    dag.add_edge(0, 2);
    dag.add_edge(1, 3);
    dag.add_edge(2, 3);
    EXPECT_FALSE(dag.find_cycle().has_value());
}

TEST(DagTest, LargeChainHasOneNodePerLevel) {
    constexpr std::size_t kNodes = 2000;
    Dag dag(kNodes);
    // Written in reverse so that ties and stack depth are exercised.
    for (std::size_t i = kNodes - 1; i > 0; --i)
        dag.add_edge(i, i - 1);
    EXPECT_FALSE(dag.find_cycle().has_value());
    const Nodes order = dag.topological_order();
    ASSERT_EQ(order.size(), kNodes);
    EXPECT_EQ(order.front(), kNodes - 1);
    EXPECT_EQ(order.back(), 0u);
    EXPECT_EQ(dag.levels().size(), kNodes);
}

} // namespace
} // namespace conveyor
