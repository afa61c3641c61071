#include "fan_in.hpp"

#include "conveyor/registry/registry.hpp"

#include <algorithm>

namespace conveyor::config {

namespace {

/// From a gather input up: the stage it reads, then (while that stage keeps lineage and has
/// one input) its producer, and so on. Every entry is a possible fan-out; the last one is
/// where lineage stops (a source, or a stage that does not keep it).
std::vector<std::size_t> lineage_chain(std::span<const FanInNode> nodes, std::size_t from) {
    std::vector<std::size_t> chain{from};
    std::size_t cur = from;
    // A cycle (reported elsewhere) must not loop forever.
    while (chain.size() <= nodes.size()) {
        const FanInNode& n = nodes[cur];
        if (!n.fn || !n.fn->keeps_lineage || n.producers.size() != 1) break;
        cur = n.producers[0];
        if (std::find(chain.begin(), chain.end(), cur) != chain.end()) break;
        chain.push_back(cur);
    }
    return chain;
}

std::string describe(const FanInNode& n) {
    return "'" + n.id + "'" + (n.fn ? " (" + n.fn->name + ")" : std::string());
}

} // namespace

FanOut find_fan_out(std::span<const FanInNode> nodes, std::size_t gather) {
    FanOut out;
    const FanInNode& g = nodes[gather];
    std::vector<std::vector<std::size_t>> chains;
    for (std::size_t p : g.producers)
        chains.push_back(lineage_chain(nodes, p));
    if (chains.empty()) return out;
    // Whether branch k reads `stage` (at `pos` in its chain) through a named output.
    auto through_named_output = [&](std::size_t k, std::size_t pos) {
        const FanInNode& reader = pos == 0 ? g : nodes[chains[k][pos - 1]];
        const std::size_t port = pos == 0 ? k : 0;
        return port < reader.outputs.size() && !reader.outputs[port].empty();
    };
    // The fan-out: the stage nearest the gather on the first branch that every other branch
    // reaches too. When branches read it through named outputs (route.apply's), it emits each
    // input batch as one batch per output, so records would be numbered output by output: the
    // fan-out is then the stage before it, if the lineage goes on there, so that `ordered`
    // means the input's order.
    for (std::size_t i = 0; i < chains.front().size(); ++i) {
        const std::size_t candidate = chains.front()[i];
        const bool common = std::all_of(chains.begin(), chains.end(), [&](const auto& c) {
            return std::find(c.begin(), c.end(), candidate) != c.end();
        });
        if (!common) continue;
        bool named = false;
        for (std::size_t k = 0; k < chains.size(); ++k) {
            const auto at = std::find(chains[k].begin(), chains[k].end(), candidate);
            named =
                named || through_named_output(k, static_cast<std::size_t>(at - chains[k].begin()));
        }
        // Past the candidate every chain goes the same way (one producer each), so the next
        // stage of the first chain is common to all.
        if (named && i + 1 < chains.front().size()) continue;
        out.stage = candidate;
        for (const auto& c : chains)
            out.branches.emplace_back(c.begin(), std::find(c.begin(), c.end(), candidate));
        return out;
    }
    // None: say where each branch's lineage stops.
    std::string msg = "the inputs of gather.apply must descend from one fan-out stage through "
                      "stages that keep each record (filter, map, select, rename, route, "
                      "validate, json.extract, limit, http.fetch), but ";
    for (std::size_t k = 0; k < chains.size(); ++k) {
        const FanInNode& top = nodes[chains[k].back()];
        msg += (k ? "; " : "") + std::string("input '") + nodes[g.producers[k]].id + "' ";
        if (top.producers.empty())
            msg += "goes back to source " + describe(top);
        else if (top.producers.size() > 1)
            msg += "stops at " + describe(top) + ", which has several inputs";
        else
            msg += "stops at " + describe(top) + ", which does not keep each record's identity";
    }
    out.error = std::move(msg);
    return out;
}

} // namespace conveyor::config
