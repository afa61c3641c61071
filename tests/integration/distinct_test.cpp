// distinct.apply: golden output under every executor (by columns, by whole record, keep
// first or last), and equality with a naive reference on random input, in memory and spilled.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <random>

namespace conveyor {
namespace {

using test::csv_through;
using test::run_conveyor;
using ::testing::HasSubstr;

constexpr const char* kPeople = "id,email,city\n1,a@x,Paris\n2,b@x,Rome\n3,A@x,Oslo\n"
                                "4,a@x,Rome\n5,b@x,Rome\n6,,Oslo\n7,,Lima\n";

class DistinctTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DistinctTest, KeepsTheFirstOrLastRecordOfEachKeyInInputOrder) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", kPeople);
    const std::string global = "executor = \"" + GetParam() + "\"\n";
    const std::pair<std::string, std::string> cases[] = {
        {"columns = [\"email\"]", "id,email,city\n1,a@x,Paris\n2,b@x,Rome\n3,A@x,Oslo\n6,,Oslo\n"},
        {"columns = \"email\"\nkeep = \"last\"",
         "id,email,city\n3,A@x,Oslo\n4,a@x,Rome\n5,b@x,Rome\n7,,Lima\n"},
        {"columns = [\"lower(email)\"]", "id,email,city\n1,a@x,Paris\n2,b@x,Rome\n6,,Oslo\n"},
        // `by`, as sort.apply and groupby.apply name their keys.
        {"by = [\"lower(email)\"]", "id,email,city\n1,a@x,Paris\n2,b@x,Rome\n6,,Oslo\n"},
        {"columns = [\"city\", \"email\"]",
         "id,email,city\n1,a@x,Paris\n2,b@x,Rome\n3,A@x,Oslo\n4,a@x,Rome\n6,,Oslo\n7,,Lima\n"},
    };
    for (const auto& [config, want] : cases) {
        const std::string file = dir.write(
            "p.toml", csv_through(in, "distinct.apply", config, dir.file("out.csv"), global));
        auto r = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(test::read_file(dir.file("out.csv")), want) << config;
    }
}

TEST_P(DistinctTest, WithoutColumnsWholeRecordsAreCompared) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "a,b\n1,x\n1,y\n1,x\n1.0,x\n2,x\n");
    const std::string file =
        dir.write("p.toml", csv_through(in, "distinct.apply", "", dir.file("out.csv"),
                                        "executor = \"" + GetParam() + "\"\n"));
    auto r = run_conveyor({"run", file, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(dir.file("out.csv")), "a,b\n1,x\n1,y\n2,x\n");
}

INSTANTIATE_TEST_SUITE_P(Executors, DistinctTest, ::testing::Values("dag", "channel", "async"));

TEST(DistinctRun, RandomInputMatchesANaiveReferenceInMemoryAndSpilled) {
    std::mt19937 rng(3);
    std::vector<std::pair<int, int>> rows; // id, key
    std::string csv = "id,k\n";
    for (int i = 0; i < 50000; ++i) {
        rows.emplace_back(i, static_cast<int>(rng() % 8000));
        csv += std::to_string(i) + "," + std::to_string(rows.back().second) + "\n";
    }
    for (const std::string keep : {"first", "last"}) {
        std::map<int, int> chosen; // key -> index
        for (const auto& [id, k] : rows)
            if (keep == "last" || !chosen.contains(k)) chosen[k] = id;
        std::vector<int> ids;
        for (const auto& [k, id] : chosen)
            ids.push_back(id);
        std::sort(ids.begin(), ids.end());
        std::string want = "id,k\n";
        for (int id : ids)
            want += std::to_string(id) + "," + std::to_string(rows[id].second) + "\n";
        for (const std::string limit : {"", "32KiB"}) {
            test::TempDir dir;
            const std::string in = dir.write("in.csv", csv);
            const std::string global =
                (limit.empty() ? std::string() : "memory_limit = \"" + limit + "\"\n") +
                "state_dir = \"" + dir.file("state") + "\"\n";
            const std::string file =
                dir.write("p.toml", csv_through(in, "distinct.apply",
                                                "columns = \"k\"\nkeep = \"" + keep + "\"",
                                                dir.file("out.csv"), global));
            auto r = run_conveyor({"run", file});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(test::read_file(dir.file("out.csv")), want) << keep << " " << limit;
            if (!limit.empty()) {
                EXPECT_THAT(r.err, HasSubstr("spilled to"));
            }
            EXPECT_EQ(test::count_files(dir.file("state")), 0u);
        }
    }
}

TEST(DistinctRun, AnUnknownColumnOrKeepIsALoadError) {
    test::TempDir dir;
    const std::string in = dir.write("in.csv", kPeople);
    const std::pair<std::string, std::string> cases[] = {
        {"columns = \"emial\"", "field 'emial' is not in the input (did you mean 'email'?)"},
        {"keep = \"middle\"", "keep"},
    };
    for (const auto& [config, message] : cases) {
        const std::string file =
            dir.write("p.toml", csv_through(in, "distinct.apply", config, dir.file("out.csv")));
        auto r = run_conveyor({"run", file});
        EXPECT_EQ(r.exit_code, 78) << r.err;
        EXPECT_THAT(r.err, HasSubstr("step"));
        EXPECT_THAT(r.err, HasSubstr(message));
    }
}

} // namespace
} // namespace conveyor
