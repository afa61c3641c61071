#pragma once

// What the sharded-run tests share: an input with quoted line breaks, W1's pipeline
// (csv.read -> filter.apply amount >= 1000 -> json.write) and ways to run it in shards.

#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace conveyor::test {

/// `rows` records "id,customer,amount,note" whose notes hold quoted commas, line breaks and
/// doubled quotes.
inline std::string orders_csv(int rows, std::uint32_t seed = 1) {
    std::mt19937 rng(seed);
    static const char* const kNotes[] = {"plain", "\"a,b\"", "\"two\nlines\"", "\"say \"\"hi\"\"\"",
                                         "\"\r\n\""};
    std::string text = "id,customer,amount,note\n";
    for (int i = 0; i < rows; ++i)
        text += std::to_string(i) + ",c" + std::to_string(rng() % 37) + "," +
                std::to_string(rng() % 2000) + "," + kNotes[rng() % 5] + "\n";
    return text;
}

/// W1 over `in` into `out` (JSON Lines), with `global` lines in [global].
inline std::string w1_toml(const std::string& in, const std::string& out,
                           const std::string& global = "", const std::string& source = "") {
    return "[global]\n" + global + "\n" +
           stage_toml("read", "csv.read", "", "path = \"" + in + "\"\n" + source) +
           stage_toml("filter", "filter.apply", "\"read\"", "expression = \"amount >= 1000\"") +
           stage_toml("write", "json.write", "\"filter\"", "path = \"" + out + "\"");
}

/// Runs shards 0..n-1 of `file` one after the other; the first failure's result, else the last.
inline ProcessResult run_shards(const std::string& file, std::uint32_t n,
                                const std::vector<std::string>& extra = {}) {
    ProcessResult last;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::vector<std::string> args = {"run", file, "-q", "--shard",
                                         std::to_string(i) + "/" + std::to_string(n)};
        args.insert(args.end(), extra.begin(), extra.end());
        last = run_conveyor(args);
        if (last.exit_code != 0) return last;
    }
    return last;
}

/// The lines of `text`, sorted (records whose order a hash partitioning changes).
inline std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
}

} // namespace conveyor::test
