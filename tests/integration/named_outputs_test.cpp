// Named outputs (route.apply's routes, validate.schema's `invalid`): downstream stages read one
// with inputs = ["<stage>.<output>"]; each gets only its records, in input order, while
// checkpoint markers reach every consumer, under every executor.

#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;

/// ids 0..n-1, amount = id * 10, country cycling DE, US, FR.
std::string orders_csv(int n) {
    std::string s = "id,amount,country\n";
    const char* countries[] = {"DE", "US", "FR"};
    for (int i = 0; i < n; ++i)
        s += std::to_string(i) + "," + std::to_string(i * 10) + "," + countries[i % 3] + "\n";
    return s;
}

std::string source(const std::string& in) {
    return "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\ninputs = []\n[stages.config]\n"
           "path = \"" +
           in + "\"\n\n";
}

std::string router(const std::string& mode) {
    return "[[stages]]\nid = \"router\"\nfunction = \"route.apply\"\ninputs = [\"in\"]\n"
           "[stages.config]\nroutes = { big = \"amount >= 500\", eu = \"country in ['DE', "
           "'FR']\" }\nmode = \"" +
           mode + "\"\n\n";
}

std::string sink(const std::string& id, const std::string& input, const std::string& path) {
    return "[[stages]]\nid = \"" + id + "\"\nfunction = \"csv.write\"\ninputs = [\"" + input +
           "\"]\n[stages.config]\npath = \"" + path + "\"\n\n";
}

/// The expected CSV of the records 0..n-1 that `keep` selects, in order.
template <class Keep>
std::string expected(int n, Keep keep) {
    std::string s = "id,amount,country\n";
    const char* countries[] = {"DE", "US", "FR"};
    for (int i = 0; i < n; ++i)
        if (keep(i, i * 10, std::string(countries[i % 3])))
            s += std::to_string(i) + "," + std::to_string(i * 10) + "," + countries[i % 3] + "\n";
    return s;
}

class NamedOutputsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NamedOutputsTest, ModeFirstSendsEachRecordToTheFirstRouteItMeetsAndTheRestToUnmatched) {
    constexpr int n = 3000; // several batches
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(n));
    const std::string file = dir.write(
        "p.toml", source(in) + router("first") + sink("big", "router.big", dir.file("big.csv")) +
                      sink("eu", "router.eu", dir.file("eu.csv")) +
                      sink("rest", "router.unmatched", dir.file("rest.csv")));
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("big.csv")),
              expected(n, [](int, int amount, const std::string&) { return amount >= 500; }));
    EXPECT_EQ(test::read_file(dir.file("eu.csv")),
              expected(n, [](int, int amount, const std::string& c) {
                  return amount < 500 && (c == "DE" || c == "FR");
              }));
    EXPECT_EQ(test::read_file(dir.file("rest.csv")),
              expected(n, [](int, int amount, const std::string& c) {
                  return amount < 500 && c == "US";
              }));
}

TEST_P(NamedOutputsTest, ModeAllCopiesARecordToEveryRouteItMeets) {
    constexpr int n = 200;
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(n));
    const std::string file = dir.write(
        "p.toml", source(in) + router("all") + sink("big", "router.big", dir.file("big.csv")) +
                      sink("eu", "router.eu", dir.file("eu.csv")) +
                      sink("rest", "router.unmatched", dir.file("rest.csv")));
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("big.csv")),
              expected(n, [](int, int amount, const std::string&) { return amount >= 500; }));
    EXPECT_EQ(test::read_file(dir.file("eu.csv")),
              expected(n, [](int, int, const std::string& c) { return c == "DE" || c == "FR"; }));
    EXPECT_EQ(test::read_file(dir.file("rest.csv")),
              expected(n, [](int, int amount, const std::string& c) {
                  return amount < 500 && c == "US";
              }));
}

TEST_P(NamedOutputsTest, TwoOutputsMergedAgainWithCheckpointsOnNeitherHangsNorLosesARecord) {
    // A fan-in of two outputs aligns checkpoint markers from both: each output must bring every
    // marker, even the batches whose records all went elsewhere.
    constexpr int n = 5000;
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(n));
    const std::string merge =
        "[[stages]]\nid = \"both\"\nfunction = \"merge.apply\"\ninputs = [\"router.big\", "
        "\"router.unmatched\"]\n\n";
    const std::string file =
        dir.write("p.toml", "[global]\ncheckpoint_interval = 50\n\n" + source(in) +
                                router("first") + merge + sink("out", "both", dir.file("out.csv")) +
                                sink("eu", "router.eu", dir.file("eu.csv")));
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string out = test::read_file(dir.file("out.csv"));
    const std::string eu = test::read_file(dir.file("eu.csv"));
    const auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
    // Every record once: big or unmatched through the merge, the others in eu.csv.
    EXPECT_EQ(lines(out) - 1 + lines(eu) - 1, n);
    EXPECT_EQ(eu, expected(n, [](int, int amount, const std::string& c) {
                  return amount < 500 && (c == "DE" || c == "FR");
              }));
}

TEST_P(NamedOutputsTest, ValidateSendsInvalidRecordsWithTheirErrorsToTheInvalidOutput) {
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "id,amount,status\n1,10,ok\n2,,ok\nx,5,ok\n4,7,bad\n5,1,ok\n");
    const std::string validate =
        "[[stages]]\nid = \"check\"\nfunction = \"validate.schema\"\ninputs = [\"in\"]\n"
        "[stages.config]\nnon_nullable = [\"amount\"]\nfield_types = { id = \"int\" }\n"
        "patterns = { status = \"^ok$\" }\n\n";
    const std::string bad_sink =
        "[[stages]]\nid = \"bad\"\nfunction = \"json.write\"\ninputs = [\"check.invalid\"]\n"
        "[stages.config]\npath = \"" +
        dir.file("bad.jsonl") + "\"\n";
    const std::string file = dir.write(
        "p.toml", source(in) + validate + sink("good", "check", dir.file("good.csv")) + bad_sink);
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    ASSERT_EQ(r.exit_code, 0) << "routed, not failed: " << r.err;
    EXPECT_EQ(test::read_file(dir.file("good.csv")), "id,amount,status\n1,10,ok\n5,1,ok\n");
    EXPECT_EQ(test::read_file(dir.file("bad.jsonl")),
              "{\"id\":2,\"amount\":null,\"status\":\"ok\",\"_errors\":[{\"rule\":\"non_"
              "nullable\",\"field\":\"amount\",\"message\":\"'amount' is null\"}]}\n"
              "{\"id\":\"x\",\"amount\":5,\"status\":\"ok\",\"_errors\":[{\"rule\":\"field_"
              "types\",\"field\":\"id\",\"message\":\"'id' should be int, got string x\"}]}\n"
              "{\"id\":4,\"amount\":7,\"status\":\"bad\",\"_errors\":[{\"rule\":\"patterns\","
              "\"field\":\"status\",\"message\":\"'status' does not match /^ok$/: bad\"}]}\n");
}

TEST_P(NamedOutputsTest, WithoutAReaderOfInvalidAnInvalidRecordStillFailsTheRunUnderStop) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount,status\n1,10,ok\n2,,ok\n");
    const std::string validate =
        "[[stages]]\nid = \"check\"\nfunction = \"validate.schema\"\ninputs = [\"in\"]\n"
        "[stages.config]\nnon_nullable = [\"amount\"]\n\n";
    const std::string file =
        dir.write("p.toml", source(in) + validate + sink("good", "check", dir.file("good.csv")));
    auto r = run_conveyor({"run", file, "--executor", GetParam(), "-q"});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("'amount' is null"));
    EXPECT_FALSE(test::file_exists(dir.file("good.csv")));
}

INSTANTIATE_TEST_SUITE_P(Executors, NamedOutputsTest, ::testing::Values("dag", "channel", "async"));

TEST(NamedOutputsLoad, APlainInputOfARouterIsALoadErrorNamingItsOutputs) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(3));
    const std::string file = dir.write("p.toml", source(in) + router("first") +
                                                     sink("out", "router", dir.file("o.csv")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'out': stage 'router' sends its records to named "
                                 "outputs only"));
    EXPECT_THAT(r.err, HasSubstr("(outputs: router.big, router.eu, router.unmatched)"));
    EXPECT_THAT(r.err, HasSubstr("p.toml:"));
}

TEST(NamedOutputsLoad, AMisspeltOutputIsALoadErrorWithASuggestion) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(3));
    const std::string file = dir.write("p.toml", source(in) + router("first") +
                                                     sink("out", "router.bgi", dir.file("o.csv")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'router' has no output 'bgi' (did you mean 'big'?)"));
}

TEST(NamedOutputsLoad, AnOutputOfAStageWithoutNamedOutputsIsALoadError) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(3));
    const std::string file = dir.write("p.toml", source(in) + sink("out", "in.x", dir.file("o")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("stage 'in' has no named outputs (write inputs = [\"in\"])"));
}

TEST(NamedOutputsLoad, AStageWhoseIdHasADotIsReadByItsFullId) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id\n1\n");
    std::string src = source(in);
    src.replace(src.find("id = \"in\""), 9, "id = \"in.v2\"");
    const std::string file = dir.write("p.toml", src + sink("out", "in.v2", dir.file("o.csv")));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("o.csv")), "id\n1\n");
}

TEST(NamedOutputsLoad, AnUnreadRouteIsWarnedAboutAndTheSummaryCountsEachOutput) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(9));
    const std::string file = dir.write(
        "p.toml", source(in) + router("first") + sink("big", "router.big", dir.file("big.csv")) +
                      sink("eu", "router.eu", dir.file("eu.csv")));
    auto r = run_conveyor({"run", file, "--stats"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("output 'router.unmatched' is not read by any stage: the "
                                 "records sent to it are dropped"));
    // amounts 0..80: none big; DE/FR ids 0,2,3,5,6,8 eu; US ids 1,4,7 unmatched.
    EXPECT_THAT(r.err,
                HasSubstr("outputs of 'router': router.big 0, router.eu 6, router.unmatched 3"));
}

TEST(NamedOutputsLoad, GraphLabelsTheEdgesOfNamedOutputs) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", orders_csv(3));
    const std::string file = dir.write("p.toml", source(in) + router("first") +
                                                     sink("big", "router.big", dir.file("b")));
    auto r = run_conveyor({"graph", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"router\" -> \"big\" [label=\"big\"];"));
}

} // namespace
} // namespace conveyor
