// `conveyor graph` (DOT and Mermaid) and `conveyor explain`: the graph printed for every example
// pipeline is parsed back and must have exactly the pipeline's stages and edges (read from the
// TOML file independently of conveyor's loader).

// toml++ as the core library compiles it (lib/src/config/toml_impl.cpp).
#define TOML_HEADER_ONLY 0
#define TOML_EXCEPTIONS 0
#include "support/paths.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace conveyor {
namespace {

namespace fs = std::filesystem;
using test::run_conveyor;
using ::testing::HasSubstr;
using ::testing::Not;

struct Graph {
    std::set<std::string> nodes;
    std::multiset<std::pair<std::string, std::string>> edges;
    std::map<std::string, std::string> function; ///< node -> function
};

/// The stages and `inputs` edges as written in the file.
Graph graph_of_file(const std::string& path) {
    Graph g;
    toml::parse_result r = toml::parse_file(path);
    EXPECT_TRUE(r) << path;
    if (!r) return g;
    const toml::array* stages = r.table()["stages"].as_array();
    for (const toml::node& st : *stages) {
        const toml::table& t = *st.as_table();
        const std::string id = t["id"].value_or(std::string());
        g.nodes.insert(id);
        g.function[id] = t["function"].value_or(std::string());
        if (const toml::array* inputs = t["inputs"].as_array())
            for (const toml::node& in : *inputs)
                g.edges.emplace(in.value_or(std::string()), id);
    }
    return g;
}

std::string unquote_dot(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            ++i;
            out += s[i] == 'n' ? '\n' : s[i];
        } else {
            out += s[i];
        }
    }
    return out;
}

/// A parser for the DOT subset `conveyor graph` writes: a digraph with attribute statements,
/// node statements `"id" [label="...", ...];` and edge statements `"a" -> "b";`. Anything
/// else fails the test.
Graph parse_dot(const std::string& text) {
    Graph g;
    std::istringstream in(text);
    std::string line;
    const std::string q = R"re("((?:[^"\\]|\\.)*)")re";
    const std::regex header(R"(^digraph )" + q + R"( \{$)");
    const std::regex attr(R"(^  (rankdir=LR|node \[.*\]);$)");
    const std::regex node("^  " + q + R"( \[label=)" + q + R"((, shape=\w+)?\];$)");
    // A named output (inputs = ["router.big"]) labels its edge.
    const std::regex edge("^  " + q + " -> " + q + "(?: \\[label=" + q + "\\])?;$");
    std::getline(in, line);
    EXPECT_TRUE(std::regex_match(line, header)) << line;
    bool closed = false;
    while (std::getline(in, line)) {
        std::smatch m;
        if (line == "}") {
            closed = true;
        } else if (std::regex_match(line, m, node)) {
            const std::string id = unquote_dot(m[1]);
            g.nodes.insert(id);
            const std::string label = unquote_dot(m[2]);
            EXPECT_EQ(label.substr(0, label.find('\n')), id);
            g.function[id] = label.substr(label.find('\n') + 1);
        } else if (std::regex_match(line, m, edge)) {
            const std::string output = m[3].matched ? "." + unquote_dot(m[3]) : "";
            g.edges.emplace(unquote_dot(m[1]) + output, unquote_dot(m[2]));
        } else {
            EXPECT_TRUE(std::regex_match(line, attr)) << "unexpected DOT line: " << line;
        }
    }
    EXPECT_TRUE(closed);
    return g;
}

Graph parse_mermaid(const std::string& text) {
    Graph g;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "flowchart LR");
    std::map<std::string, std::string> ids; // s3 -> stage id
    const std::regex node(R"re(^  (s\d+)(?:\[/|\[\\|\[)"([^"]*)<br/>([^"]*)"(?:/\]|\\\]|\])$)re");
    const std::regex edge(R"re(^  (s\d+) -->(?:\|"([^"]*)"\|)? (s\d+)$)re");
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, node)) {
            ids[m[1]] = m[2];
            g.nodes.insert(m[2]);
            g.function[m[2]] = m[3];
        } else if (std::regex_match(line, m, edge)) {
            const std::string output = m[2].matched ? "." + m[2].str() : "";
            g.edges.emplace(ids.at(m[1]) + output, ids.at(m[3]));
        } else {
            ADD_FAILURE() << "unexpected Mermaid line: " << line;
        }
    }
    return g;
}

std::vector<std::string> examples() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(test::source_dir() + "/pipelines/examples"))
        if (e.path().extension() == ".toml") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

test::ProcessOptions in_repo() {
    test::ProcessOptions o;
    o.cwd = test::source_dir();
    o.unset_env = {"CONVEYOR_LOG"};
    return o;
}

TEST(ObserveGraph, DotHasExactlyThePipelinesStagesAndEdges) {
    for (const std::string& file : examples()) {
        auto r = run_conveyor({"graph", file}, in_repo());
        ASSERT_EQ(r.exit_code, 0) << file << r.err;
        const Graph want = graph_of_file(file);
        const Graph got = parse_dot(r.out);
        EXPECT_EQ(got.nodes, want.nodes) << file;
        EXPECT_EQ(got.edges, want.edges) << file;
        EXPECT_EQ(got.function, want.function) << file;
    }
}

TEST(ObserveGraph, MermaidHasExactlyThePipelinesStagesAndEdges) {
    for (const std::string& file : examples()) {
        auto r = run_conveyor({"graph", file, "--format", "mermaid"}, in_repo());
        ASSERT_EQ(r.exit_code, 0) << file << r.err;
        const Graph want = graph_of_file(file);
        const Graph got = parse_mermaid(r.out);
        EXPECT_EQ(got.nodes, want.nodes) << file;
        EXPECT_EQ(got.edges, want.edges) << file;
    }
}

TEST(ObserveGraph, QuotesInIdsAreEscaped) {
    test::TempDir dir;
    dir.write("p.toml", R"([[stages]]
id = "load \"raw\""
function = "csv.read"
[stages.config]
path = "x.csv"

[[stages]]
id = "a\\b"
function = "stdout.write"
inputs = ["load \"raw\""]
)");
    auto r = run_conveyor({"graph", dir.file("p.toml")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Graph got = parse_dot(r.out);
    EXPECT_EQ(got.nodes, (std::set<std::string>{"load \"raw\"", "a\\b"}));
    EXPECT_EQ(got.edges.count({"load \"raw\"", "a\\b"}), 1u);
}

TEST(ObserveGraph, InvalidPipelineFailsLikeValidate) {
    test::TempDir dir;
    dir.write("p.toml", "[[stages]]\nid = \"x\"\nfunction = \"csv.reed\"\n");
    auto r = run_conveyor({"graph", dir.file("p.toml")});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("did you mean 'csv.read'"));
    EXPECT_EQ(r.out, "");
}

TEST(ObserveExplain, DagShowsLevelsAndWhatRunsInParallel) {
    auto r = run_conveyor({"explain", "pipelines/examples/fan_out.toml", "--executor", "dag"},
                          in_repo());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("executor        dag"));
    EXPECT_THAT(r.out, HasSubstr("levels (2 levels"));
    EXPECT_THAT(r.out, HasSubstr("level 1: 4 steps run in parallel"));
    EXPECT_THAT(r.out, HasSubstr("large (filter.apply) <- orders\n"
                                 "      streams into large_out (json.write) <- large"))
        << "a fork is a barrier; a one-to-one link streams inside its level";
    EXPECT_THAT(r.out, HasSubstr("memory cap"));
    EXPECT_THAT(r.out, HasSubstr("orders fans out to large, french, open, copy"));
}

TEST(ObserveExplain, AChainOfHoldingStagesSharesTheWholeLimitAndBuffersNoEdge) {
    // A sort feeding a group-by, no fork: explain said 32 MiB for buffered edges beside the
    // two stages' 32 MiB each (96 MiB of a 64 MiB limit); such a pipeline buffers no edge.
    test::TempDir dir;
    dir.write("in.csv", "id,k\n1,a\n");
    const std::string file = dir.write(
        "p.toml", "[global]\nexecutor = \"dag\"\nmemory_limit = \"64MiB\"\n"
                  "[[stages]]\nid = \"r\"\nfunction = \"csv.read\"\n[stages.config]\npath = \"" +
                      dir.file("in.csv") +
                      "\"\n"
                      "[[stages]]\nid = \"s\"\nfunction = \"sort.apply\"\ninputs = [\"r\"]\n"
                      "[stages.config]\nby = [\"k\"]\n"
                      "[[stages]]\nid = \"d\"\nfunction = \"distinct.apply\"\ninputs = [\"s\"]\n"
                      "[[stages]]\nid = \"w\"\nfunction = \"csv.write\"\ninputs = [\"d\"]\n"
                      "[stages.config]\npath = \"" +
                      dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"explain", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("memory limit    64.0 MiB, shared by the stages that hold "
                                 "their input\n"));
    EXPECT_THAT(r.out, HasSubstr("memory cap      none for edges"));
    EXPECT_THAT(r.out, HasSubstr("spills to"));
    EXPECT_THAT(r.out, HasSubstr("beyond 32.0 MiB]")); // each of the two holding stages
}

TEST(ObserveExplain, RunningApplyWithLeadShowsItsShareAndWhereItSpills) {
    // running.apply with lead holds the records waiting for their leads and takes a share of
    // memory_limit (half here, beside the sort); explain showed no share line for it.
    test::TempDir dir;
    dir.write("in.csv", "id,k\n1,a\n");
    const std::string file = dir.write(
        "p.toml", "[global]\nexecutor = \"dag\"\nmemory_limit = \"64MiB\"\n"
                  "[[stages]]\nid = \"r\"\nfunction = \"csv.read\"\n[stages.config]\npath = \"" +
                      dir.file("in.csv") +
                      "\"\n"
                      "[[stages]]\nid = \"s\"\nfunction = \"sort.apply\"\ninputs = [\"r\"]\n"
                      "[stages.config]\nby = [\"k\"]\n"
                      "[[stages]]\nid = \"next\"\nfunction = \"running.apply\"\ninputs = [\"s\"]\n"
                      "[stages.config]\nby = \"k\"\noperations = [{ column = \"id\", "
                      "operation = \"lead\", output_column = \"next_id\" }]\n"
                      "[[stages]]\nid = \"w\"\nfunction = \"csv.write\"\ninputs = [\"next\"]\n"
                      "[stages.config]\npath = \"" +
                      dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"explain", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("holds records waiting for later ones: spills to"));
    const auto at = r.out.find("holds records waiting for later ones");
    ASSERT_NE(at, std::string::npos);
    EXPECT_THAT(r.out.substr(at), HasSubstr("beyond 32.0 MiB]"));
}

TEST(ObserveExplain, ChannelShowsEveryChannelWithItsCapacity) {
    auto r = run_conveyor({"explain", "pipelines/examples/fan_out.toml", "--executor", "channel"},
                          in_repo());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("channels (7 channels, at most 100 records each"));
    EXPECT_THAT(r.out, HasSubstr("orders -> large  capacity 100"));
    EXPECT_THAT(r.out, HasSubstr("batch size      4096 records (more than channel_buffer_size "
                                 "100: a batch moves hand to hand"));
    EXPECT_THAT(r.out, HasSubstr("parallelism: all 8 stages work at once"));

    auto a = run_conveyor(
        {"explain", "pipelines/examples/merge_sources.toml", "--executor", "async"}, in_repo());
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_THAT(a.out, HasSubstr("mailboxes (at most 50 records each"));
    EXPECT_THAT(a.out, HasSubstr("all  capacity 50, fed by 2 inputs"));
    EXPECT_THAT(a.out, HasSubstr("fans in from"));
}

TEST(ObserveExplain, DryRunKeepsItsShortPlan) {
    auto r = run_conveyor(
        {"run", "pipelines/examples/fan_out.toml", "--dry-run", "--executor", "dag"}, in_repo());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("level 1 (runs concurrently):"));
    EXPECT_THAT(r.out, Not(HasSubstr("settings:")));
}

} // namespace
} // namespace conveyor
