// join.apply: golden output under every executor, every join type equal to a nested-loop join
// on random inputs with null and duplicate keys (built on either side, in memory and as a
// grace hash join spilling partitions), and load errors naming stage and key.

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <random>
#include <set>

namespace conveyor {
namespace {

using test::run_conveyor;
using test::stage_toml;
using ::testing::HasSubstr;

std::string join_pipeline(const std::string& left, const std::string& right,
                          const std::string& config, const std::string& out,
                          const std::string& global = "") {
    return "[global]\n" + global + "\n" +
           stage_toml("orders", "csv.read", "", "path = \"" + left + "\"") +
           stage_toml("customers", "csv.read", "", "path = \"" + right + "\"") +
           stage_toml("joined", "join.apply", "\"orders\", \"customers\"", config) +
           stage_toml("out", "csv.write", "\"joined\"", "path = \"" + out + "\"");
}

constexpr const char* kOrders = "order_id,customer_id,amount\n1,c1,10\n2,c2,5\n3,c9,7\n"
                                "4,c1,20\n5,,3\n";
constexpr const char* kCustomers = "customer_id,name,amount\nc1,Ann,100\nc2,Bob,200\n"
                                   "c3,Cid,300\n";

class JoinTest : public ::testing::TestWithParam<std::string> {};

TEST_P(JoinTest, InnerAndLeftJoinsKeepTheLeftOrderAndSuffixClashingNames) {
    test::TempDir dir;
    const std::string l = dir.write("orders.csv", kOrders);
    const std::string r = dir.write("customers.csv", kCustomers);
    const std::string global = "executor = \"" + GetParam() + "\"\n";
    const std::string inner = dir.write(
        "inner.toml", join_pipeline(l, r, "on = \"customer_id\"", dir.file("inner.csv"), global));
    auto res = run_conveyor({"run", inner, "-q"});
    ASSERT_EQ(res.exit_code, 0) << res.err;
    EXPECT_EQ(test::read_file(dir.file("inner.csv")),
              "order_id,customer_id,amount,name,amount_right\n1,c1,10,Ann,100\n2,c2,5,Bob,200\n"
              "4,c1,20,Ann,100\n");
    const std::string left = dir.write(
        "left.toml", join_pipeline(l, r,
                                   "on = \"customer_id\"\ntype = \"left\"\nsuffixes = [\"_order\", "
                                   "\"_customer\"]",
                                   dir.file("left.csv"), global));
    res = run_conveyor({"run", left, "-q"});
    ASSERT_EQ(res.exit_code, 0) << res.err;
    EXPECT_EQ(test::read_file(dir.file("left.csv")),
              "order_id,customer_id,amount_order,name,amount_customer\n1,c1,10,Ann,100\n"
              "2,c2,5,Bob,200\n3,c9,7,,\n4,c1,20,Ann,100\n5,,3,,\n");
}

TEST_P(JoinTest, FullSemiAndAntiJoins) {
    test::TempDir dir;
    const std::string l = dir.write("orders.csv", kOrders);
    const std::string r = dir.write("customers.csv", kCustomers);
    const std::string global = "executor = \"" + GetParam() + "\"\n";
    const std::pair<std::string, std::string> cases[] = {
        {"full", "order_id,customer_id,amount,name,amount_right\n1,c1,10,Ann,100\n"
                 "2,c2,5,Bob,200\n3,c9,7,,\n4,c1,20,Ann,100\n5,,3,,\n,c3,,Cid,300\n"},
        {"semi", "order_id,customer_id,amount\n1,c1,10\n2,c2,5\n4,c1,20\n"},
        {"anti", "order_id,customer_id,amount\n3,c9,7\n5,,3\n"},
    };
    for (const auto& [type, want] : cases) {
        const std::string file = dir.write(
            type + ".toml", join_pipeline(l, r, "on = \"customer_id\"\ntype = \"" + type + "\"",
                                          dir.file(type + ".csv"), global));
        auto res = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(res.exit_code, 0) << res.err;
        EXPECT_EQ(test::read_file(dir.file(type + ".csv")), want) << type;
    }
}

TEST_P(JoinTest, KeysThatAreNumbersMeetTheSameNumbersWrittenAsTextInMemoryAndSpilled) {
    // CSV ids are numbers, the JSON side gives them as text: the left join kept no name, exit 0.
    // Plain integer text ("42") meets the number; other text ("007", "+1", and decimal text
    // such as "2.5", which could be a version or a code) stays text.
    std::string csv = "id,amt\n";
    std::string jsonl;
    std::string want = "id,amt,name\n";
    for (int i = 1; i <= 2000; ++i) {
        const std::string id = std::to_string(i);
        csv += id + "," + id + "\n";
        jsonl += "{\"id\":\"" + id + "\",\"name\":\"n" + id + "\"}\n";
        want += id + "," + id + ",n" + id + "\n";
    }
    csv += "2.50,x\n007,y\n+1,z\n";
    // "+1" would be 1 and "007" 7, which the right has as "1" and "7".
    jsonl += "{\"id\":\"2.5\",\"name\":\"half\"}\n";
    want += "2.50,x,\n007,y,\n+1,z,\n";
    for (const std::string limit : {"", "memory_limit = \"64KiB\"\n"}) {
        test::TempDir dir;
        const std::string l = dir.write("amts.csv", csv);
        const std::string r = dir.write("names.jsonl", jsonl);
        const std::string file =
            dir.write("p.toml", "[global]\nexecutor = \"" + GetParam() + "\"\n" + limit +
                                    stage_toml("amts", "csv.read", "", "path = \"" + l + "\"") +
                                    stage_toml("names", "json.read", "", "path = \"" + r + "\"") +
                                    stage_toml("joined", "join.apply", "\"amts\", \"names\"",
                                               "on = \"id\"\ntype = \"left\"") +
                                    stage_toml("out", "csv.write", "\"joined\"",
                                               "path = \"" + dir.file("out.csv") +
                                                   "\"\ncolumns = [\"id\", \"amt\", "
                                                   "\"name\"]"));
        auto res = run_conveyor({"run", file, "-q"});
        ASSERT_EQ(res.exit_code, 0) << res.err;
        const std::string got = test::read_file(dir.file("out.csv"));
        // Where they differ, not 2000 lines of each.
        const auto at = static_cast<std::size_t>(
            std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin());
        EXPECT_TRUE(got == want) << limit << ": from byte " << at << ", got '"
                                 << got.substr(at > 40 ? at - 40 : 0, 120) << "', want '"
                                 << want.substr(at > 40 ? at - 40 : 0, 120) << "'";
    }
}

INSTANTIATE_TEST_SUITE_P(Executors, JoinTest, ::testing::Values("dag", "channel", "async"));

struct Row {
    int id;
    std::optional<int> key;
};

std::vector<Row> random_side(std::mt19937& rng, int n, int keys) {
    std::vector<Row> rows;
    for (int i = 0; i < n; ++i) {
        Row r{i, std::nullopt};
        if (rng() % 8 != 0) r.key = static_cast<int>(rng() % static_cast<unsigned>(keys));
        rows.push_back(r);
    }
    return rows;
}

std::string side_csv(const std::string& id, const std::vector<Row>& rows) {
    std::string s = id + ",k\n";
    for (const Row& r : rows)
        s += std::to_string(r.id) + "," + (r.key ? std::to_string(*r.key) : "") + "\n";
    return s;
}

std::string cell(const std::optional<int>& v) {
    return v ? std::to_string(*v) : "";
}

/// The nested-loop join: output lines "lid,k,rid" (or "lid,k" for semi/anti), left order
/// first, then unmatched right records in their order.
std::vector<std::string> nested_loop(const std::vector<Row>& l, const std::vector<Row>& r,
                                     const std::string& type) {
    std::vector<std::string> out;
    std::set<int> matched_right;
    for (const Row& a : l) {
        std::vector<const Row*> m;
        for (const Row& b : r)
            if (a.key && b.key && *a.key == *b.key) m.push_back(&b);
        if (type == "semi" || type == "anti") {
            if (m.empty() == (type == "anti"))
                out.push_back(std::to_string(a.id) + "," + cell(a.key));
            continue;
        }
        for (const Row* b : m) {
            matched_right.insert(b->id);
            out.push_back(std::to_string(a.id) + "," + cell(a.key) + "," + std::to_string(b->id));
        }
        if (m.empty() && (type == "left" || type == "full"))
            out.push_back(std::to_string(a.id) + "," + cell(a.key) + ",");
    }
    if (type == "right" || type == "full")
        for (const Row& b : r)
            if (!matched_right.contains(b.id))
                out.push_back("," + cell(b.key) + "," + std::to_string(b.id));
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t at = text.find('\n'); // past the header
    while (at != std::string::npos && at + 1 < text.size()) {
        const std::size_t nl = text.find('\n', at + 1);
        lines.push_back(text.substr(at + 1, nl - at - 1));
        at = nl;
    }
    return lines;
}

TEST(JoinRun, EveryJoinTypeEqualsANestedLoopJoinInMemoryAndSpilled) {
    std::mt19937 rng(5);
    // Keys of the right beyond the left's: many right records match nothing (right and full
    // joins put those out last, in the right's order, spilled or not).
    const std::vector<Row> left = random_side(rng, 700, 40);
    const std::vector<Row> right = random_side(rng, 500, 120);
    test::TempDir dir;
    const std::string l = dir.write("l.csv", side_csv("lid", left));
    const std::string r = dir.write("r.csv", side_csv("rid", right));
    for (const std::string type : {"inner", "left", "right", "full", "semi", "anti"}) {
        const std::vector<std::string> want = nested_loop(left, right, type);
        for (const std::string build : {"right", "left"}) {
            for (const std::string limit : {"", "2KiB"}) {
                const std::string state = dir.file("state-" + type + build + limit);
                const std::string global =
                    (limit.empty() ? std::string() : "memory_limit = \"" + limit + "\"\n") +
                    "state_dir = \"" + state + "\"\n";
                const std::string out = dir.file("out.csv");
                const std::string file =
                    dir.write("p.toml", join_pipeline(l, r,
                                                      "on = \"k\"\ntype = \"" + type +
                                                          "\"\nbuild = \"" + build + "\"",
                                                      out, global));
                auto res = run_conveyor({"run", file});
                ASSERT_EQ(res.exit_code, 0) << res.err;
                std::vector<std::string> got = lines_of(test::read_file(out));
                const std::string what = type + ", build " + build + ", limit " + limit;
                if (build == "right") {
                    EXPECT_EQ(got, want) << what; // the left's order, unmatched right last
                } else {
                    // Built on the left, pairs follow the right's order: compared as sets.
                    std::vector<std::string> w = want;
                    std::sort(w.begin(), w.end());
                    std::sort(got.begin(), got.end());
                    EXPECT_EQ(got, w) << what;
                }
                if (!limit.empty()) {
                    EXPECT_THAT(res.err, HasSubstr("grace hash join")) << what;
                }
                EXPECT_EQ(test::count_files(state), 0u) << what;
            }
        }
    }
}

TEST(JoinRun, BadOptionsAreLoadErrorsNamingStageAndKey) {
    test::TempDir dir;
    const std::string l = dir.write("orders.csv", kOrders);
    const std::string r = dir.write("customers.csv", kCustomers);
    const std::pair<std::string, std::string> cases[] = {
        {"on = \"customer\"", "field 'customer' is not in the input (did you mean 'customer_id'?)"},
        {"type = \"inner\"", "join.apply needs its key"},
        {"on = \"customer_id\"\nleft_on = \"customer_id\"", "not both"},
        {"left_on = [\"customer_id\", \"amount\"]\nright_on = \"customer_id\"",
         "give as many on each side"},
        {"on = \"customer_id\"\ntype = \"outer\"", "type"},
        {"on = \"customer_id\"\nsuffixes = [\"_x\"]", "suffixes"},
    };
    for (const auto& [config, message] : cases) {
        const std::string file =
            dir.write("p.toml", join_pipeline(l, r, config, dir.file("out.csv")));
        auto res = run_conveyor({"run", file});
        EXPECT_EQ(res.exit_code, 78) << config << "\n" << res.err;
        EXPECT_THAT(res.err, HasSubstr("joined")) << config;
        EXPECT_THAT(res.err, HasSubstr(message)) << config;
    }
    // One input only.
    const std::string one = dir.write(
        "one.toml",
        "[global]\n" + stage_toml("orders", "csv.read", "", "path = \"" + l + "\"") +
            stage_toml("joined", "join.apply", "\"orders\"", "on = \"customer_id\"") +
            stage_toml("out", "csv.write", "\"joined\"", "path = \"" + dir.file("out.csv") + "\""));
    auto res = run_conveyor({"run", one});
    EXPECT_EQ(res.exit_code, 78) << res.err;
    EXPECT_THAT(res.err, HasSubstr("joined"));
}

} // namespace
} // namespace conveyor
