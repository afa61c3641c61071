// sort.apply: golden output under every executor, a stable sorted permutation of random input
// (checked against std::stable_sort), the same output when a tiny memory_limit makes it spill
// many runs (more than one merge pass), and no spill file left behind.

#include "support/process.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <random>
#include <sstream>

namespace conveyor {
namespace {

using test::run_conveyor;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string pipeline(const std::string& in, const std::string& sort_config, const std::string& out,
                     const std::string& global = "") {
    return "[global]\n" + global +
           "\n[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\n[stages.config]\npath = \"" + in +
           "\"\n\n[[stages]]\nid = \"sorted\"\nfunction = \"sort.apply\"\ninputs = [\"in\"]\n"
           "[stages.config]\n" +
           sort_config +
           "\n[[stages]]\nid = \"out\"\nfunction = \"csv.write\"\ninputs = [\"sorted\"]\n"
           "[stages.config]\npath = \"" +
           out + "\"\n";
}

class SortTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SortTest, SortsByKeysWithTheirDirectionsStablyWithNullsLast) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,country,amount\n1,FR,10\n2,DE,5\n3,FR,\n"
                                               "4,DE,20\n5,FR,10\n6,US,7.5\n7,DE,5\n");
    const std::string file = dir.write(
        "p.toml", pipeline(in, "by = [\"country\", \"amount\"]\ndescending = [false, true]\n",
                           dir.file("out.csv"), "executor = \"" + GetParam() + "\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,country,amount\n4,DE,20\n2,DE,5\n7,DE,5\n"
                                                    "1,FR,10\n5,FR,10\n3,FR,\n6,US,7.5\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, SortTest, ::testing::Values("dag", "channel", "async"));

struct Row {
    int id;
    std::optional<int> k1;
    std::string k2;
};

std::vector<Row> random_rows(int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<Row> rows;
    for (int i = 0; i < n; ++i) {
        Row r{i, std::nullopt, std::string(1, static_cast<char>('a' + rng() % 5))};
        if (rng() % 10 != 0) r.k1 = static_cast<int>(rng() % 40) - 10;
        rows.push_back(r);
    }
    return rows;
}

std::string to_csv(const std::vector<Row>& rows) {
    std::string s = "id,k1,k2\n";
    for (const Row& r : rows)
        s += std::to_string(r.id) + "," + (r.k1 ? std::to_string(*r.k1) : "") + "," + r.k2 + "\n";
    return s;
}

/// by = ["k1", "k2"], descending = [true, false], nulls last: the reference order.
std::string expected_sorted(std::vector<Row> rows) {
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.k1.has_value() != b.k1.has_value()) return a.k1.has_value(); // nulls last
        if (a.k1 && *a.k1 != *b.k1) return *a.k1 > *b.k1;
        return a.k2 < b.k2;
    });
    return to_csv(rows);
}

std::size_t files_in(const std::string& dir) {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         it != fs::recursive_directory_iterator(); ++it)
        n += it->is_regular_file() ? 1 : 0;
    return n;
}

TEST(SortRun, RandomInputComesOutAsAStableSortedPermutationInMemoryAndSpilled) {
    const std::vector<Row> rows = random_rows(60000, 7);
    const std::string want = expected_sorted(rows);
    // No limit (in memory), then a budget so small that it spills about a hundred runs
    // (merged in two passes).
    for (const std::string& global : {std::string(), std::string("memory_limit = \"64KiB\"\n")}) {
        test::TempDir dir;
        const std::string in = dir.write("in.csv", to_csv(rows));
        const std::string file =
            dir.write("p.toml", pipeline(in, "by = [\"k1\", \"k2\"]\ndescending = [true, false]\n",
                                         dir.file("out.csv"),
                                         global + "state_dir = \"" + dir.file("state") + "\"\n"));
        auto r = run_conveyor({"run", file});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.csv")), want) << global;
        if (!global.empty()) {
            EXPECT_THAT(r.err, HasSubstr("spilled to"));
            // The share in the unit that shows it; it was "(0 MiB)" below a MiB.
            EXPECT_THAT(r.err, HasSubstr("beyond its memory share (64.0 KiB)"));
        }
        EXPECT_EQ(files_in(dir.file("state")), 0u) << "no spill file is left";
    }
}

TEST(SortRun, JsonRecordsOfDifferentShapesSurviveASpillUnchanged) {
    test::TempDir dir;
    std::string jsonl;
    for (int i = 0; i < 5000; ++i) {
        jsonl += "{\"id\":" + std::to_string(i) + ",\"k\":" + std::to_string((i * 7919) % 1000);
        if (i % 3 == 0) jsonl += ",\"tags\":[\"x\",{\"n\":1.50}],\"note\":\"caf\\u00e9 \\\"q\\\"\"";
        if (i % 5 == 0) jsonl += ",\"gone\":null";
        jsonl += "}\n";
    }
    const std::string in = dir.write("in.jsonl", jsonl);
    std::string outputs[2];
    for (int spill = 0; spill < 2; ++spill) {
        const std::string out = dir.file("out" + std::to_string(spill) + ".jsonl");
        const std::string file = dir.write(
            "p.toml",
            std::string("[global]\n") + (spill ? "memory_limit = \"16KiB\"\n" : "") +
                "state_dir = \"" + dir.file("state") +
                "\"\n\n[[stages]]\nid = \"in\"\nfunction = \"json.read\"\n"
                "[stages.config]\npath = \"" +
                in +
                "\"\n\n[[stages]]\nid = \"s\"\nfunction = \"sort.apply\"\ninputs = "
                "[\"in\"]\n[stages.config]\nby = \"k\"\n\n[[stages]]\nid = \"out\"\n"
                "function = \"json.write\"\ninputs = [\"s\"]\n[stages.config]\npath = \"" +
                out + "\"\n");
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        outputs[spill] = test::read_file(out);
    }
    EXPECT_EQ(outputs[0], outputs[1]) << "spilled runs give back the same records";
    EXPECT_THAT(outputs[1], HasSubstr("\"tags\":[\"x\",{\"n\":1.50}],\"note\":\"café \\\"q\\\"\""));
}

/// A pipeline whose sort spills many runs of a large input, for the signal tests.
std::string spilling_pipeline(test::TempDir& dir, const std::string& memory_limit = "64KiB") {
    std::string csv = "id,k\n";
    for (int i = 0; i < 300000; ++i)
        csv += std::to_string(i) + "," + std::to_string((i * 7919LL) % 100003) + "\n";
    const std::string in = dir.write("in.csv", csv);
    return dir.write("p.toml", pipeline(in, "by = \"k\"\n", dir.file("out.csv"),
                                        "memory_limit = \"" + memory_limit + "\"\nstate_dir = \"" +
                                            dir.file("state") + "\"\n"));
}

TEST(SortRun, SigtermWhileSpillingLeavesNoSpillFileAndNoOutput) {
    test::TempDir dir;
    const std::string file = spilling_pipeline(dir);
    auto child = test::spawn_conveyor({"run", file});
    ASSERT_TRUE(child->wait_for_stderr("spilled to", std::chrono::seconds(60)));
    child->signal(SIGTERM);
    const auto r = child->wait();
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_EQ(files_in(dir.file("state/spill")), 0u);
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(SortRun, TheSpillFilesOfAKilledRunAreRemovedByTheNextOne) {
    test::TempDir dir;
    const std::string file = spilling_pipeline(dir);
    auto child = test::spawn_conveyor({"run", file});
    ASSERT_TRUE(child->wait_for_stderr("spilled to", std::chrono::seconds(60)));
    child->signal(SIGKILL);
    child->wait();
    EXPECT_GT(files_in(dir.file("state/spill")), 0u) << "kill -9 leaves them";
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(files_in(dir.file("state/spill")), 0u) << "the next run removed them";
}

// A full disk (EFBIG past `ulimit -f` here) while writing a run, or while merging runs in
// passes: exit 73 naming the spill file, the old output kept, and no spill file left (the file
// being written was not among the stage's runs yet, so nothing removed it).
TEST(SortRun, ASpillFileThatCannotBeWrittenExits73AndLeavesNoSpillFile) {
    struct Limit {
        std::string memory_limit;
        std::uint64_t file_size;
    };
    // The first run is too large; runs fit but the first merged one is too large.
    for (const Limit& limit : {Limit{"1MiB", 16 << 10}, Limit{"64KiB", 64 << 10}}) {
        SCOPED_TRACE(limit.memory_limit);
        test::TempDir dir;
        const std::string file = spilling_pipeline(dir, limit.memory_limit);
        dir.write("out.csv", "old\n");
        test::ProcessOptions opts;
        opts.file_size_limit = limit.file_size;
        auto r = run_conveyor({"run", file, "-q"}, opts);
        EXPECT_EQ(r.exit_code, 73) << r.err;
        EXPECT_THAT(r.err, HasSubstr("cannot write a spill file: File too large"));
        EXPECT_THAT(r.err, HasSubstr(dir.file("state/spill/")));
        EXPECT_EQ(files_in(dir.file("state")), 0u);
        EXPECT_EQ(test::read_file(dir.file("out.csv")), "old\n");
    }
}

TEST(SortRun, AMisspeltKeyOverACsvHeaderIsAConfigError) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount\n1,2\n");
    const std::string file =
        dir.write("p.toml", pipeline(in, "by = \"amont\"\n", dir.file("out.csv")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("by: field 'amont' is not in the input (did you mean 'amount'?)"));
}

TEST(SortRun, DescendingMustMatchTheKeys) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,amount\n1,2\n");
    const std::string file = dir.write(
        "p.toml", pipeline(in, "by = [\"id\"]\ndescending = [true, false]\n", dir.file("o.csv")));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("'descending' lists 2 directions for 1 keys"));
}

TEST(SortRun, InStreamingModeASortIsALoadError) {
    test::TempDir dir;
    const std::string file = dir.write("p.toml", pipeline("-", "by = \"id\"\n", dir.file("o.csv"),
                                                          "execution_mode = \"streaming\"\n"));
    auto r = run_conveyor({"validate", file});
    EXPECT_EQ(r.exit_code, 78);
    EXPECT_THAT(r.err, HasSubstr("sort.apply"));
}

TEST(SortRun, ASortBeforeALimitKeepsATopNEqualToTheHeadOfTheFullSort) {
    const std::vector<Row> rows = random_rows(60000, 9);
    const std::string sorted = expected_sorted(rows);
    // The header and the first 250 records of the full, stable sort (ties included).
    std::size_t end = 0;
    for (int line = 0; line < 251; ++line)
        end = sorted.find('\n', end) + 1;
    test::TempDir dir;
    const std::string in = dir.write("in.csv", to_csv(rows));
    const std::string file = dir.write(
        "p.toml",
        "[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\n[stages.config]\npath = \"" + in +
            "\"\n\n[[stages]]\nid = \"sorted\"\nfunction = \"sort.apply\"\ninputs = [\"in\"]\n"
            "[stages.config]\nby = [\"k1\", \"k2\"]\ndescending = [true, false]\n\n"
            "[[stages]]\nid = \"top\"\nfunction = \"limit.apply\"\ninputs = [\"sorted\"]\n"
            "[stages.config]\ncount = 200\noffset = 50\n\n[[stages]]\nid = \"out\"\n"
            "function = \"csv.write\"\ninputs = [\"top\"]\n[stages.config]\npath = \"" +
            dir.file("out.csv") + "\"\n");
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Records 51..250 of the sort.
    std::size_t from = sorted.find('\n') + 1;
    for (int line = 0; line < 50; ++line)
        from = sorted.find('\n', from) + 1;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "id,k1,k2\n" + sorted.substr(from, end - from));
    auto explain = run_conveyor({"explain", file});
    ASSERT_EQ(explain.exit_code, 0) << explain.err;
    EXPECT_THAT(explain.out, HasSubstr("sorted (sort.apply) <- in  [top 250: a limit takes at "
                                       "most 250 records, so the sort keeps only that many]"));
}

} // namespace
} // namespace conveyor
