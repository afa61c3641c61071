#include "conveyor/graph/dag.hpp"

#include <algorithm>
#include <cassert>

namespace conveyor {

Dag::Dag(std::size_t nodes) : producers_(nodes), consumers_(nodes) {}

void Dag::add_edge(std::size_t from, std::size_t to) {
    assert(from < size() && to < size());
    producers_[to].push_back(from);
    consumers_[from].push_back(to);
}

std::optional<std::vector<std::size_t>> Dag::find_cycle() const {
    enum : char { kWhite, kGrey, kBlack };
    std::vector<char> colour(size(), kWhite);
    std::vector<std::size_t> path;
    // Iterative DFS keeping the current path so the cycle can be printed.
    for (std::size_t root = 0; root < size(); ++root) {
        if (colour[root] != kWhite) continue;
        std::vector<std::pair<std::size_t, std::size_t>> stack{{root, 0}};
        colour[root] = kGrey;
        path.assign(1, root);
        while (!stack.empty()) {
            auto& [node, next] = stack.back();
            if (next < consumers_[node].size()) {
                const std::size_t to = consumers_[node][next++];
                if (colour[to] == kGrey) {
                    auto start = std::find(path.begin(), path.end(), to);
                    return std::vector<std::size_t>(start, path.end());
                }
                if (colour[to] == kWhite) {
                    colour[to] = kGrey;
                    stack.emplace_back(to, 0);
                    path.push_back(to);
                }
            } else {
                colour[node] = kBlack;
                stack.pop_back();
                path.pop_back();
            }
        }
    }
    return std::nullopt;
}

std::vector<std::size_t> Dag::topological_order() const {
    std::vector<std::size_t> pending(size());
    for (std::size_t i = 0; i < size(); ++i)
        pending[i] = producers_[i].size();
    std::vector<std::size_t> order;
    order.reserve(size());
    // Repeatedly take the first ready node in file order: stable and deterministic.
    std::vector<bool> done(size(), false);
    while (order.size() < size()) {
        bool progressed = false;
        for (std::size_t i = 0; i < size(); ++i) {
            if (done[i] || pending[i] != 0) continue;
            done[i] = true;
            order.push_back(i);
            for (std::size_t c : consumers_[i])
                --pending[c];
            progressed = true;
            break;
        }
        assert(progressed && "topological_order on a cyclic graph");
        if (!progressed) break;
    }
    return order;
}

std::vector<std::vector<std::size_t>> Dag::levels() const {
    std::vector<std::size_t> level(size(), 0);
    std::size_t max_level = 0;
    for (std::size_t n : topological_order()) {
        for (std::size_t p : producers_[n])
            level[n] = std::max(level[n], level[p] + 1);
        max_level = std::max(max_level, level[n]);
    }
    std::vector<std::vector<std::size_t>> out(size() ? max_level + 1 : 0);
    for (std::size_t i = 0; i < size(); ++i)
        out[level[i]].push_back(i);
    return out;
}

std::vector<std::vector<Dag::Chain>>
Dag::steps(const std::function<bool(std::size_t)>& chainable) const {
    const auto by_level = levels();
    std::vector<std::size_t> chain_of(size(), 0);
    std::vector<Chain> chains;
    std::vector<std::size_t> head_level;
    for (std::size_t l = 0; l < by_level.size(); ++l) {
        for (std::size_t n : by_level[l]) {
            const bool joins = producers_[n].size() == 1 &&
                               consumers_[producers_[n][0]].size() == 1 && chainable(n) &&
                               chainable(producers_[n][0]);
            if (joins) {
                chain_of[n] = chain_of[producers_[n][0]];
                chains[chain_of[n]].push_back(n);
            } else {
                chain_of[n] = chains.size();
                chains.push_back({n});
                head_level.push_back(l);
            }
        }
    }
    std::vector<std::vector<Chain>> groups(by_level.size());
    for (std::size_t c = 0; c < chains.size(); ++c)
        groups[head_level[c]].push_back(std::move(chains[c]));
    std::vector<std::vector<Chain>> out;
    for (auto& g : groups)
        if (!g.empty()) out.push_back(std::move(g));
    return out;
}

} // namespace conveyor
