// --tap STAGE[:N] prints exactly N records leaving a stage, as JSON lines on stderr, under every
// executor and without changing the run's outputs; --keep-intermediate keeps every stage's
// output.

#include "conveyor/core/arena.hpp"
#include "conveyor/format/json_parser.hpp"
#include "support/paths.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        out.push_back(l);
    return out;
}

test::ProcessOptions in_repo(const test::TempDir& out) {
    test::ProcessOptions o;
    o.cwd = test::source_dir();
    o.env["OUT_DIR"] = out.path();
    o.unset_env = {"CONVEYOR_LOG"};
    return o;
}

class ObserveTap : public ::testing::TestWithParam<std::string> {};

TEST_P(ObserveTap, PrintsExactlyNRecordsAndChangesNothingDownstream) {
    test::TempDir out;
    auto r = run_conveyor({"run", "pipelines/examples/quickstart.toml", "-q", "--executor",
                           GetParam(), "--tap", "shipped:2"},
                          in_repo(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 2u) << r.err;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        Arena arena;
        json::Parser parser;
        Result<Value> v = parser.parse(lines[i], arena);
        ASSERT_TRUE(v) << lines[i];
        EXPECT_EQ(v->find("tap")->as_string(), "shipped");
        EXPECT_EQ(v->find("n")->as_int(), static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(v->find("record")->find("status")->as_string(), "shipped");
    }
    const std::string expected = test::source_dir() + "/pipelines/examples/expected/quickstart/";
    EXPECT_EQ(r.out, test::read_file(expected + "stdout.txt"));
    EXPECT_EQ(test::read_file(out.file("shipped_orders.json")),
              test::read_file(expected + "shipped_orders.json"));
}

INSTANTIATE_TEST_SUITE_P(AllExecutors, ObserveTap, ::testing::Values("dag", "channel", "async"));

TEST(ObserveTapCli, DefaultCountIsTenAndSeveralTapsAreLabelled) {
    test::TempDir out;
    auto r = run_conveyor({"run", "pipelines/examples/quickstart.toml", "-q", "--tap", "orders",
                           "--tap", "summary:1"},
                          in_repo(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::size_t orders = 0, summary = 0;
    for (const std::string& l : lines_of(r.err)) {
        orders += l.rfind("{\"tap\":\"orders\"", 0) == 0;
        summary += l.rfind("{\"tap\":\"summary\"", 0) == 0;
    }
    EXPECT_EQ(orders, 10u) << "orders.csv has 12 records; the default tap shows 10";
    EXPECT_EQ(summary, 1u);
    EXPECT_EQ(lines_of(r.err).size(), 11u);
}

TEST(ObserveTapCli, UnknownStageOrSinkIsAUsageError) {
    test::TempDir out;
    auto unknown = run_conveyor({"run", "pipelines/examples/quickstart.toml", "--tap", "shiped"},
                                in_repo(out));
    EXPECT_EQ(unknown.exit_code, 64);
    EXPECT_THAT(unknown.err, HasSubstr("did you mean 'shipped'"));
    auto sink =
        run_conveyor({"run", "pipelines/examples/quickstart.toml", "--tap", "save"}, in_repo(out));
    EXPECT_EQ(sink.exit_code, 64);
    EXPECT_THAT(sink.err, HasSubstr("'save' is a sink"));
    EXPECT_THAT(sink.err, HasSubstr("'summary'"));
    auto count = run_conveyor({"run", "pipelines/examples/quickstart.toml", "--tap", "orders:0"},
                              in_repo(out));
    EXPECT_EQ(count.exit_code, 64);
    EXPECT_EQ(test::list_dir(out.path()), std::vector<std::string>{}) << "nothing ran";
}

TEST(ObserveTapCli, KeepIntermediateWritesEveryStagesOutput) {
    for (const char* executor : {"dag", "channel"}) {
        test::TempDir out;
        auto r = run_conveyor({"run", "pipelines/examples/quickstart.toml", "-q", "--executor",
                               executor, "--keep-intermediate", out.file("inter")},
                              in_repo(out));
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.err, "");
        EXPECT_EQ(test::list_dir(out.file("inter")),
                  (std::vector<std::string>{"orders.jsonl", "shipped.jsonl", "summary.jsonl"}))
            << "one file per stage that passes records on (sinks do not)";
        EXPECT_EQ(lines_of(test::read_file(out.file("inter/orders.jsonl"))).size(), 12u);
        // summary's output is what json.write saved: the same records, one per line.
        auto saved = lines_of(test::read_file(out.file("shipped_orders.json")));
        saved.erase(saved.begin());
        saved.pop_back();
        for (std::string& l : saved)
            if (!l.empty() && l.back() == ',') l.pop_back();
        EXPECT_EQ(lines_of(test::read_file(out.file("inter/summary.jsonl"))), saved) << executor;
    }
}

} // namespace
} // namespace conveyor
