#pragma once

// A strict reader of the Prometheus text format for tests: every sample belongs to a family
// declared by # TYPE before it, names and labels are well formed, no series appears twice.
// Also used by tests/integration/observe_metrics_test.cpp.

#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace conveyor::test {

struct PromText {
    /// "name{a="x",b="y"}" (labels as written) -> value text.
    std::map<std::string, std::string> samples;
    std::map<std::string, std::string> types; ///< family -> counter|gauge|histogram
    std::string error;                        ///< empty when the text is valid

    [[nodiscard]] std::optional<double> value(const std::string& series) const {
        auto it = samples.find(series);
        if (it == samples.end()) return std::nullopt;
        return std::stod(it->second);
    }
};

inline PromText parse_prometheus(const std::string& text) {
    PromText out;
    static const std::regex sample(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$)");
    static const std::regex type(
        R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        std::smatch m;
        if (line.empty()) continue;
        if (std::regex_match(line, m, type)) {
            if (out.types.count(m[1])) {
                out.error = "line " + std::to_string(n) + ": family declared twice: " + line;
                return out;
            }
            out.types[m[1]] = m[2];
            continue;
        }
        if (std::regex_match(line, m, help)) continue;
        if (!std::regex_match(line, m, sample)) {
            out.error = "line " + std::to_string(n) + ": not a sample: " + line;
            return out;
        }
        std::string family = m[1];
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string s = suffix;
            if (!out.types.count(family) && family.size() > s.size() &&
                family.compare(family.size() - s.size(), s.size(), s) == 0)
                family = family.substr(0, family.size() - s.size());
        }
        if (!out.types.count(family)) {
            out.error = "line " + std::to_string(n) + ": sample before its # TYPE: " + line;
            return out;
        }
        const std::string key = std::string(m[1]) + "{" + std::string(m[3]) + "}";
        if (!out.samples.emplace(key, m[4]).second) {
            out.error = "line " + std::to_string(n) + ": series repeated: " + line;
            return out;
        }
    }
    return out;
}

} // namespace conveyor::test
