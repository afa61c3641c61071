// conveyor replay: dead-lettered records go back into their stage, which runs with
// everything downstream of it (and nothing upstream).

#include "support/paths.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using ::testing::HasSubstr;

const char* kPipeline = R"(
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "does-not-matter.csv"

[[stages]]
id = "big"
function = "filter.apply"
inputs = ["load"]
[stages.config]
column = "amount"
operator = ">="
value = 100

[[stages]]
id = "save"
function = "json.write"
inputs = ["big"]
[stages.config]
path = "out/replayed.jsonl"
)";

TEST(Replay, FeedsTheStagesDeadLettersBackIntoIt) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write(
        "failed.jsonl",
        R"({"stage":"big","error":{"kind":"temporary","message":"x"},"attempts":3,"timestamp":"t","record":{"id":1,"amount":150}})"
        "\n"
        R"({"stage":"big","error":{"kind":"temporary","message":"x"},"attempts":3,"timestamp":"t","record":{"id":2,"amount":5}})"
        "\n"
        R"({"stage":"load","error":{"kind":"data","message":"row"},"attempts":1,"timestamp":"t","where":"a.csv:3","raw":"1,2,3"})"
        "\n"
        R"({"stage":"save","error":{"kind":"data","message":"x"},"attempts":1,"timestamp":"t","record":{"id":9}})"
        "\n"
        R"({"stage":"big","error":{"kind":"temporary","message":"x"},"attempts":3,"timestamp":"t","record":{"id":3,"amount":700,"note":"fixed"}})"
        "\n");
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto r = test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "big"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("replaying 3 records into stage 'big'"));
    EXPECT_EQ(test::read_file(dir.file("out/replayed.jsonl")),
              "{\"id\":1,\"amount\":150}\n{\"id\":3,\"amount\":700,\"note\":\"fixed\"}\n");
}

TEST(Replay, ARecordComesBackWithItsBareEmptyFieldsAndItsBytesThatAreNotUtf8) {
    // A Latin-1 CSV read as text: the dead-letter file is JSON, which shows "" and U+FFFD, but
    // the replayed records reach csv.write as they were read, so the replay writes what a run
    // of the fixed pipeline writes.
    test::TempDir dir;
    dir.write("in.csv", "id,name,qty\n1,caf\xe9,2\n2,,x\n3,\xe8\xe9,y\n4,\"\",z\n");
    const auto pipeline = [](const std::string& qty, const std::string& out) {
        return R"(
[error_handling]
strategy = "continue"
[error_handling.dead_letter_queue]
enabled = true
path = "dead.jsonl"
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "in.csv"
infer_types = false
[[stages]]
id = "calc"
function = "map.apply"
inputs = ["load"]
[stages.config]
columns = { twice = ")" +
               qty + R"(" }
[[stages]]
id = "save"
function = "csv.write"
inputs = ["calc"]
[stages.config]
path = ")" + out +
               R"("
)";
    };
    dir.write("p.toml", pipeline("int(qty) * 2", "first.csv"));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto first = test::run_conveyor({"run", "p.toml", "-q"}, o);
    ASSERT_EQ(first.exit_code, 3) << first.err;
    EXPECT_EQ(test::read_file(dir.file("first.csv")), "id,name,qty,twice\n1,caf\xe9,2,4\n");
    // The fix: a column that takes text.
    dir.write("fixed.toml", pipeline("concat(qty, qty)", "replayed.csv"));
    auto replay = test::run_conveyor({"replay", "dead.jsonl", "fixed.toml", "--from-stage", "calc",
                                      "--set", "error_handling.dead_letter_queue.path=dead2.jsonl"},
                                     o);
    ASSERT_EQ(replay.exit_code, 0) << replay.err;
    EXPECT_THAT(replay.err, HasSubstr("replaying 3 records into stage 'calc'"));
    EXPECT_EQ(test::read_file(dir.file("replayed.csv")),
              "id,name,qty,twice\n2,,x,xx\n3,\xe8\xe9,y,yy\n4,\"\",z,zz\n");
    // A field fixed by hand in the file is replayed as fixed, not as the bytes first read.
    std::string dead = test::read_file(dir.file("dead.jsonl"));
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"\"name\":\"\"", "\"name\":\"Ann\""},
          {"\"name\":\"\xef\xbf\xbd\xef\xbf\xbd\"", "\"name\":\"Bob\""}}) {
        const auto at = dead.find(from);
        ASSERT_NE(at, std::string::npos) << dead;
        dead.replace(at, from.size(), to);
    }
    dir.write("fixed.jsonl", dead);
    auto again = test::run_conveyor({"replay", "fixed.jsonl", "fixed.toml", "--from-stage", "calc",
                                     "--set", "stages.save.path=fixed.csv", "--set",
                                     "error_handling.dead_letter_queue.path=dead3.jsonl"},
                                    o);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(test::read_file(dir.file("fixed.csv")),
              "id,name,qty,twice\n2,Ann,x,xx\n3,Bob,y,yy\n4,\"\",z,zz\n");
}

TEST(Replay, RefusesUnknownStagesAndSources) {
    test::TempDir dir;
    dir.write("p.toml", kPipeline);
    dir.write("failed.jsonl", "");
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto unknown =
        test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "bgi"}, o);
    EXPECT_EQ(unknown.exit_code, 64);
    EXPECT_THAT(unknown.err, HasSubstr("did you mean 'big'"));
    auto source =
        test::run_conveyor({"replay", "failed.jsonl", "p.toml", "--from-stage", "load"}, o);
    EXPECT_EQ(source.exit_code, 64);
    EXPECT_THAT(source.err, HasSubstr("is a source"));
    auto missing = test::run_conveyor({"replay", "nope.jsonl", "p.toml", "--from-stage", "big"}, o);
    EXPECT_EQ(missing.exit_code, 66);
}

} // namespace
} // namespace conveyor
