#include "shard_partials.hpp"

#include "conveyor/stage/build_context.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace conveyor::plugins::groupby {

namespace {

constexpr std::string_view kCountPrefix = "__conveyor_count_";

/// A field name an expression and `by` take as it is (no path, no expression).
bool plain_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    for (const char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

std::string quoted(std::string_view s) {
    return fmt::format("\"{}\"", s); // plain names only: nothing to escape
}

std::string aggregation(std::string_view column, std::string_view op, std::string_view output) {
    return fmt::format("{{ column = {}, operation = \"{}\", output_column = {} }}", quoted(column),
                       op, quoted(output));
}

} // namespace

bool make_partial(BuildContext& ctx, const std::vector<std::string>& keys,
                  std::vector<Aggregation>& aggs) {
    for (const std::string& k : keys)
        if (!plain_name(k)) {
            ctx.error("by", fmt::format("in a sharded run with partition = \"rows\", finalize "
                                        "combines the shards' groups by their key fields, which "
                                        "must be plain field names ('{}' is not): group by a "
                                        "field, or use partition = \"hash\" with key = it",
                                        k));
            return false;
        }
    std::vector<Aggregation> counts;
    for (Aggregation& a : aggs) {
        const bool combines = a.op == Op::Count || a.op == Op::Sum || a.op == Op::Min ||
                              a.op == Op::Max || a.op == Op::Avg;
        if (!combines || !plain_name(a.output)) {
            ctx.error("aggregations",
                      fmt::format("in a sharded run with partition = \"rows\" each shard's "
                                  "groups are partial and finalize combines them, which works "
                                  "for count, sum, min, max and avg into plain field names, not "
                                  "for '{}': use partition = \"hash\" with key = one of the by "
                                  "fields (each shard's groups are then whole)",
                                  a.output));
            return false;
        }
        if (a.op != Op::Avg) continue;
        Aggregation count;
        count.op = Op::Count;
        count.input = a.input;
        count.output = std::string(kCountPrefix) + a.output;
        counts.push_back(std::move(count));
        a.op = Op::Sum;
    }
    for (Aggregation& c : counts)
        aggs.push_back(std::move(c));
    return true;
}

bool check_sorted_parts(BuildContext& ctx, const std::vector<std::string>& keys,
                        const std::vector<Aggregation>& aggs) {
    std::vector<std::string> names = keys;
    for (const Aggregation& a : aggs)
        names.push_back(a.output);
    for (const std::string& n : names)
        if (!plain_name(n)) {
            ctx.error(keys.end() != std::find(keys.begin(), keys.end(), n) ? "by" : "aggregations",
                      fmt::format("in a sharded run with partition = \"hash\" and sorted = true, "
                                  "finalize merges the shards' groups into one key order by "
                                  "their field names, which must be plain ('{}' is not): name "
                                  "it with output_column, or sort the finalized output",
                                  n));
            return false;
        }
    return true;
}

std::string combine_sorted_toml(const std::vector<std::string>& keys,
                                const std::vector<Aggregation>& aggs) {
    std::string by;
    for (const std::string& k : keys)
        by += (by.empty() ? "" : ", ") + quoted(k);
    std::string list;
    for (const Aggregation& a : aggs)
        list += "  " + aggregation(a.output, "first", a.output) + ",\n";
    return fmt::format("[[stages]]\nid = \"combined\"\nfunction = \"groupby.apply\"\n"
                       "inputs = [\"partials\"]\n[stages.config]\nby = [{}]\nsorted = true\n"
                       "aggregations = [\n{}]\n",
                       by, list);
}

std::string combine_stages_toml(const std::vector<std::string>& keys,
                                const std::vector<Aggregation>& aggs, bool sorted) {
    std::string by;
    for (const std::string& k : keys)
        by += (by.empty() ? "" : ", ") + quoted(k);
    std::string list;
    std::vector<std::string> averages;
    for (const Aggregation& a : aggs) {
        const std::string_view op = a.op == Op::Min ? "min" : a.op == Op::Max ? "max" : "sum";
        list += "  " + aggregation(a.output, op, a.output) + ",\n";
        if (a.op == Op::Avg) {
            const std::string count = std::string(kCountPrefix) + a.output;
            list += "  " + aggregation(count, "sum", count) + ",\n";
            averages.push_back(a.output);
        }
    }
    std::string toml = fmt::format("[[stages]]\nid = \"{}\"\nfunction = \"groupby.apply\"\n"
                                   "inputs = [\"partials\"]\n[stages.config]\nby = [{}]\n"
                                   "sorted = {}\naggregations = [\n{}]\n",
                                   averages.empty() ? "combined" : "sums", by, sorted, list);
    std::string last = "sums";
    for (std::size_t i = 0; i < averages.size(); ++i) {
        const std::string& x = averages[i];
        const std::string count = std::string(kCountPrefix) + x;
        const std::string id = fmt::format("average_{}", i);
        toml += fmt::format("[[stages]]\nid = \"{}\"\nfunction = \"map.apply\"\ninputs = [\"{}\"]\n"
                            "[stages.config]\noutput_column = \"{}\"\nexpression = \"if({} == 0, "
                            "null, float({}) / {})\"\n",
                            id, last, x, count, x, count);
        last = id;
    }
    if (!averages.empty()) {
        std::string hidden;
        for (const std::string& x : averages)
            hidden += (hidden.empty() ? "" : ", ") + quoted(std::string(kCountPrefix) + x);
        toml += fmt::format("[[stages]]\nid = \"combined\"\nfunction = \"select.apply\"\n"
                            "inputs = [\"{}\"]\n[stages.config]\nexclude = [{}]\n",
                            last, hidden);
    }
    return toml;
}

} // namespace conveyor::plugins::groupby
