// running.apply with lead under a small memory_limit: the records waiting for their leads
// spill to state_dir/spill and are read back in order, so that the output equals the run that
// held them in memory (and a naive reference) byte for byte; leads that never come stay null;
// several leads with different offsets over interleaved partitions keep their values across
// spilled batches; the spill files are gone after the run, after a failure and after SIGTERM.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace conveyor {
namespace {

using test::csv_through;
using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;
using ::testing::Not;

struct Row {
    std::string id, k, g, name;
};

std::string csv_of(const std::vector<Row>& rows) {
    std::string s = "id,k,g,name\n";
    for (const Row& r : rows)
        s += r.id + "," + r.k + "," + r.g + "," + r.name + "\n";
    return s;
}

/// Per row, the value of `field` `offset` rows ahead within its partition (`part`), or "".
std::vector<std::string> naive_lead(const std::vector<Row>& rows, std::string Row::*part,
                                    std::string Row::*field, std::size_t offset) {
    std::map<std::string, std::vector<std::size_t>> members;
    for (std::size_t r = 0; r < rows.size(); ++r)
        members[rows[r].*part].push_back(r);
    std::vector<std::string> lead(rows.size());
    for (const auto& [key, idx] : members)
        for (std::size_t i = 0; i + offset < idx.size(); ++i)
            lead[idx[i]] = rows[idx[i + offset]].*field;
    return lead;
}

/// The output of csv.read -> running.apply (`config`) -> csv.write, run twice: with the
/// default memory_limit (in memory) and with a tiny one (spilling).
struct Runs {
    test::ProcessResult in_memory;
    test::ProcessResult spilled;
    std::string in_memory_out;
    std::string spilled_out;
    std::size_t files_left = 0;
};

Runs run_both(test::TempDir& dir, const std::string& csv, const std::string& config,
              const std::string& executor, const std::string& extra_stage = "") {
    const std::string in = dir.write("in.csv", csv);
    Runs runs;
    for (const bool tiny : {false, true}) {
        const std::string out = dir.file(tiny ? "spilled.csv" : "memory.csv");
        std::string global = "executor = \"" + executor + "\"\nbatch_size = 128\nstate_dir = \"" +
                             dir.file("state") + "\"\n";
        if (tiny) global += "memory_limit = \"64KiB\"\n";
        std::string p = "[global]\n" + global +
                        stage_toml("in", "csv.read", "", "path = \"" + in + "\"") +
                        stage_toml("step", "running.apply", "\"in\"", config);
        std::string last = "step";
        if (!extra_stage.empty()) {
            p += stage_toml("step2", "running.apply", "\"step\"", extra_stage);
            last = "step2";
        }
        p += stage_toml("out", "csv.write", "\"" + last + "\"", "path = \"" + out + "\"");
        const std::string file = dir.write("p.toml", p);
        test::ProcessResult r = run_conveyor({"run", file});
        (tiny ? runs.spilled : runs.in_memory) = r;
        (tiny ? runs.spilled_out : runs.in_memory_out) = test::read_file(out);
    }
    runs.files_left = test::count_files(dir.file("state"));
    return runs;
}

class RunningSpillTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RunningSpillTest, AFarLeadSpillsAndTheOutputEqualsTheInMemoryRun) {
    // The lead of record 0 comes 30000 records (about 2 MB) later, far beyond a 64 KiB budget:
    // every record after it waits. They used to pile up in memory; now they spill and come
    // back in order with the same values.
    std::vector<Row> rows;
    const std::string pad(40, 'x');
    rows.push_back({"0", "far", "a", "first" + pad});
    for (int i = 1; i < 30000; ++i)
        rows.push_back(
            {std::to_string(i), "p" + std::to_string(i % 7), "a", "n" + std::to_string(i) + pad});
    rows.push_back({"30000", "far", "a", "last" + pad});
    test::TempDir dir;
    const Runs runs = run_both(dir, csv_of(rows),
                               "by = \"k\"\noperations = [{ column = \"name\", operation = "
                               "\"lead\", output_column = \"next\" }]",
                               GetParam());
    ASSERT_EQ(runs.in_memory.exit_code, 0) << runs.in_memory.err;
    ASSERT_EQ(runs.spilled.exit_code, 0) << runs.spilled.err;
    EXPECT_THAT(runs.in_memory.err, Not(HasSubstr("spilled to")));
    EXPECT_THAT(runs.spilled.err, HasSubstr("records waiting for their leads"));
    EXPECT_THAT(runs.spilled.err, HasSubstr("spilled to"));
    EXPECT_EQ(runs.spilled_out, runs.in_memory_out);
    const std::vector<std::string> next = naive_lead(rows, &Row::k, &Row::name, 1);
    std::string want = "id,k,g,name,next\n";
    for (std::size_t r = 0; r < rows.size(); ++r)
        want += rows[r].id + "," + rows[r].k + "," + rows[r].g + "," + rows[r].name + "," +
                next[r] + "\n";
    EXPECT_EQ(runs.spilled_out, want);
    EXPECT_EQ(runs.files_left, 0u) << "spill files left behind";
}

TEST_P(RunningSpillTest, ALeadThatNeverComesStaysNullWithEveryRecordSpilledBehindIt) {
    // "alone" has no second record: its lead stays null, and every record after it waits
    // until the end of the input, on disk.
    std::vector<Row> rows;
    rows.push_back({"0", "alone", "a", "solo"});
    for (int i = 1; i <= 20000; ++i)
        rows.push_back({std::to_string(i), i % 2 ? "odd" : "even", "a", "r" + std::to_string(i)});
    test::TempDir dir;
    const Runs runs =
        run_both(dir, csv_of(rows),
                 "by = \"k\"\noperations = [\n"
                 "  { column = \"id\", operation = \"lead\", output_column = \"n1\" },\n"
                 "  { operation = \"row_number\", output_column = \"rn\" },\n"
                 "]",
                 GetParam());
    ASSERT_EQ(runs.in_memory.exit_code, 0) << runs.in_memory.err;
    ASSERT_EQ(runs.spilled.exit_code, 0) << runs.spilled.err;
    EXPECT_THAT(runs.spilled.err, HasSubstr("spilled to"));
    EXPECT_EQ(runs.spilled_out, runs.in_memory_out);
    const std::vector<std::string> n1 = naive_lead(rows, &Row::k, &Row::id, 1);
    std::map<std::string, int> rn;
    std::string want = "id,k,g,name,n1,rn\n";
    for (std::size_t r = 0; r < rows.size(); ++r)
        want += rows[r].id + "," + rows[r].k + "," + rows[r].g + "," + rows[r].name + "," + n1[r] +
                "," + std::to_string(++rn[rows[r].k]) + "\n";
    EXPECT_EQ(runs.spilled_out, want);
    EXPECT_THAT(runs.spilled_out, HasSubstr("\n0,alone,a,solo,,1\n"));
    EXPECT_EQ(runs.files_left, 0u) << "spill files left behind";
}

TEST_P(RunningSpillTest, SeveralLeadsWithDifferentOffsetsAndPartitionsKeepTheirValues) {
    // Random partitions interleave across spilled batches; three leads of one stage (offsets
    // 1, 7 and 500, numbers and text) and a second stage partitioned otherwise (offset 2, its
    // first partition's next record at the end) both spill.
    std::mt19937 rng(11);
    std::vector<Row> rows;
    for (int i = 0; i < 25000; ++i) {
        const unsigned k = rng() % 100 < 2 ? 50 + rng() % 3 : rng() % 6;
        rows.push_back({std::to_string(i), "k" + std::to_string(k), "g" + std::to_string(rng() % 3),
                        "name-" + std::to_string(rng() % 100000)});
    }
    // The second stage's partition "gx" has its second record only at the end.
    rows.front().g = "gx";
    rows.back().g = "gx";
    test::TempDir dir;
    const Runs runs = run_both(
        dir, csv_of(rows),
        "by = \"k\"\noperations = [\n"
        "  { column = \"id\", operation = \"lead\", output_column = \"a1\" },\n"
        "  { column = \"name\", operation = \"lead\", offset = 7, output_column = \"a7\" },\n"
        "  { column = \"id\", operation = \"lag\", output_column = \"b1\" },\n"
        "  { column = \"id\", operation = \"lead\", offset = 500, output_column = \"a500\" },\n"
        "]",
        GetParam(),
        "by = \"g\"\noperations = [{ column = \"name\", operation = \"lead\", offset = 2, "
        "output_column = \"g2\" }]");
    ASSERT_EQ(runs.in_memory.exit_code, 0) << runs.in_memory.err;
    ASSERT_EQ(runs.spilled.exit_code, 0) << runs.spilled.err;
    EXPECT_THAT(runs.spilled.err, HasSubstr("stage 'step': records waiting for their leads"));
    EXPECT_THAT(runs.spilled.err, HasSubstr("stage 'step2': records waiting for their leads"));
    EXPECT_EQ(runs.spilled_out, runs.in_memory_out);
    const auto a1 = naive_lead(rows, &Row::k, &Row::id, 1);
    const auto a7 = naive_lead(rows, &Row::k, &Row::name, 7);
    const auto a500 = naive_lead(rows, &Row::k, &Row::id, 500);
    const auto g2 = naive_lead(rows, &Row::g, &Row::name, 2);
    std::map<std::string, std::string> prev;
    std::string want = "id,k,g,name,a1,a7,b1,a500,g2\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const Row& row = rows[r];
        want += row.id + "," + row.k + "," + row.g + "," + row.name + "," + a1[r] + "," + a7[r] +
                "," + prev[row.k] + "," + a500[r] + "," + g2[r] + "\n";
        prev[row.k] = row.id;
    }
    EXPECT_EQ(runs.spilled_out, want);
    EXPECT_EQ(runs.files_left, 0u) << "spill files left behind";
}

INSTANTIATE_TEST_SUITE_P(Executors, RunningSpillTest, ::testing::Values("dag", "channel", "async"));

TEST(RunningSpillRun, AFailureAfterSpillingLeavesNoSpillFile) {
    // The last record's amount is not a number: the run fails when it is read back, at the
    // end, after everything before it went to disk behind "alone".
    std::string csv = "id,k,amount\n0,alone,1\n";
    for (int i = 1; i <= 20000; ++i)
        csv += std::to_string(i) + ",k" + std::to_string(i % 5) + "," + std::to_string(i) + "\n";
    csv += "20001,k1,oops\n";
    test::TempDir dir;
    const std::string in = dir.write("in.csv", csv);
    const std::string file =
        dir.write("p.toml", csv_through(in, "running.apply",
                                        "by = \"k\"\noperations = [\n"
                                        "  { column = \"id\", operation = \"lead\" },\n"
                                        "  { column = \"amount\", operation = \"running_sum\" },\n"
                                        "]",
                                        dir.file("out.csv"),
                                        "executor = \"channel\"\nbatch_size = 128\nmemory_limit = "
                                        "\"64KiB\"\nstate_dir = \"" +
                                            dir.file("state") + "\"\n"));
    auto r = run_conveyor({"run", file});
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("spilled to"));
    EXPECT_THAT(r.err, HasSubstr("not a number"));
    EXPECT_EQ(test::count_files(dir.file("state")), 0u) << "spill files left behind";
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

/// stdin (CSV "v,k", the first record alone in its partition) -> running.apply with lead
/// -> out.csv, under a 64 KiB memory_limit.
std::string stdin_pipeline(test::TempDir& dir) {
    return dir.write(
        "p.toml",
        "[global]\nexecutor = \"channel\"\nmemory_limit = \"64KiB\"\nstate_dir = \"" +
            dir.file("state") + "\"\n" + stage_toml("in", "stdin.read", "", "format = \"csv\"") +
            stage_toml("step", "running.apply", "\"in\"",
                       "by = \"k\"\noperations = [{ column = \"v\", operation = "
                       "\"lead\" }]") +
            stage_toml("out", "csv.write", "\"step\"", "path = \"" + dir.file("out.csv") + "\""));
}

std::string stdin_rows(int n) {
    std::string csv = "v,k\n-1,alone\n";
    for (int i = 0; i < n; ++i)
        csv += std::to_string(i) + ",k" + std::to_string(i % 3) + "\n";
    return csv;
}

TEST(RunningSpillRun, SigtermWhileSpillingLeavesNoSpillFileAndNoOutput) {
    // The input comes through stdin and stays open until the signal: the spill files exist
    // while the run waits for more.
    test::TempDir dir;
    const std::string file = stdin_pipeline(dir);
    auto child = test::spawn_conveyor({"run", file});
    child->write_stdin(stdin_rows(50000));
    ASSERT_TRUE(child->wait_for_stderr("spilled to", std::chrono::seconds(60)));
    EXPECT_GT(test::count_files(dir.file("state/spill")), 0u);
    child->signal(SIGTERM);
    const auto r = child->wait();
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u);
    EXPECT_FALSE(test::file_exists(dir.file("out.csv")));
}

TEST(RunningSpillRun, TheSpillFilesOfAKilledRunAreRemovedByTheNextOne) {
    test::TempDir dir;
    const std::string file = stdin_pipeline(dir);
    auto child = test::spawn_conveyor({"run", file});
    child->write_stdin(stdin_rows(50000));
    ASSERT_TRUE(child->wait_for_stderr("spilled to", std::chrono::seconds(60)));
    child->signal(SIGKILL);
    child->wait();
    EXPECT_GT(test::count_files(dir.file("state/spill")), 0u) << "kill -9 leaves them";
    // A run that does not spill removes them too.
    test::ProcessOptions opts;
    opts.stdin_data = stdin_rows(10);
    auto r = run_conveyor({"run", file, "-q"}, opts);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::count_files(dir.file("state/spill")), 0u) << "the next run removed them";
    EXPECT_EQ(test::read_file(dir.file("out.csv")),
              "v,k,v_lead\n-1,alone,\n0,k0,3\n1,k1,4\n2,k2,5\n3,k0,6\n4,k1,7\n5,k2,8\n"
              "6,k0,9\n7,k1,\n8,k2,\n9,k0,\n");
}

} // namespace
} // namespace conveyor
