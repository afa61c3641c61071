// reshape.wide_to_long and reshape.long_to_wide: the records they make, in memory and spilled,
// the record errors of long_to_wide and the options each refuses.

#include "support/pipelines.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

/// Pushes each group of `batches` (JSON objects, a batch each) through `function`, finishes it
/// and drains finish_more() as the driver does; what it emitted as JSON lines, or the error.
std::string run(const std::string& function, const std::map<std::string, OptionValue>& options,
                const std::vector<std::vector<std::string>>& batches,
                std::uint64_t memory_budget = 0, const std::string& spill_dir = {}) {
    return test::drained_jsonl(function, options, batches, 3, memory_budget, spill_dir);
}

std::map<std::string, OptionValue> list_option(const std::string& name,
                                               const std::vector<std::string>& items) {
    return {{name, test::string_list(items)}};
}

TEST(WideToLong, OneRecordPerChosenFieldWithTheOthersCopied) {
    EXPECT_EQ(run("reshape.wide_to_long", list_option("columns", {"feb", "jan"}),
                  {{R"({"id":1,"jan":3,"feb":4,"note":"x"})", R"({"id":2,"jan":5})"}}),
              "{\"id\":1,\"note\":\"x\",\"key\":\"feb\",\"value\":4}\n"
              "{\"id\":1,\"note\":\"x\",\"key\":\"jan\",\"value\":3}\n"
              "{\"id\":2,\"key\":\"jan\",\"value\":5}\n");
}

TEST(WideToLong, IdColumnsTurnEveryOtherFieldIntoRecordsAndNullsAreKeptUnlessSkipped) {
    const std::vector<std::vector<std::string>> in = {{R"({"id":1,"x":3,"y":null})"},
                                                      {R"({"id":2,"x":{"a":[1]},"y":"t"})"}};
    auto o = list_option("id_columns", {"id"});
    o["key_column"] = OptionValue("k");
    o["value_column"] = OptionValue("v");
    EXPECT_EQ(run("reshape.wide_to_long", o, in),
              "{\"id\":1,\"k\":\"x\",\"v\":3}\n{\"id\":1,\"k\":\"y\",\"v\":null}\n"
              "{\"id\":2,\"k\":\"x\",\"v\":{\"a\":[1]}}\n{\"id\":2,\"k\":\"y\",\"v\":\"t\"}\n");
    o["skip_nulls"] = OptionValue(true);
    EXPECT_EQ(run("reshape.wide_to_long", o, in),
              "{\"id\":1,\"k\":\"x\",\"v\":3}\n"
              "{\"id\":2,\"k\":\"x\",\"v\":{\"a\":[1]}}\n{\"id\":2,\"k\":\"y\",\"v\":\"t\"}\n");
}

TEST(WideToLong, RefusesOptionsThatSayNothingOrTooMuch) {
    EXPECT_NE(test::build_stage("reshape.wide_to_long", {}).errors().find("give either"),
              std::string::npos);
    auto both = list_option("columns", {"a"});
    both["id_columns"] = test::string_list({"id"});
    EXPECT_NE(test::build_stage("reshape.wide_to_long", both).errors().find("give either"),
              std::string::npos);
    auto same = list_option("columns", {"a"});
    same["value_column"] = OptionValue("key");
    EXPECT_NE(test::build_stage("reshape.wide_to_long", same).errors().find("both 'key'"),
              std::string::npos);
}

TEST(WideToLong, OverAHeaderAMisspeltColumnOrATakenKeyNameIsAnErrorAtOpen) {
    auto built = test::build_stage("reshape.wide_to_long", list_option("columns", {"jna"}));
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"id", "jan", "feb"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("did you mean 'jan'?"), std::string::npos)
        << opened.error().message;
    auto taken = test::build_stage("reshape.wide_to_long", list_option("columns", {"jan"}));
    opened = test::open_over(*taken.stage, {"key", "jan"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("already have a field 'key'"), std::string::npos)
        << opened.error().message;
}

TEST(LongToWide, OneRecordPerGroupWithAFieldPerKeyInFirstAppearanceOrder) {
    // Keys as written (a number names a field by its spelling); a repeated key keeps the last
    // value; every record gets every key, null where its group had none.
    EXPECT_EQ(run("reshape.long_to_wide", {},
                  {{R"({"id":1,"key":"x","value":3})", R"({"id":2,"key":2024,"value":5})"},
                   {R"({"id":1,"key":"y","value":"t"})", R"({"id":1,"key":"x","value":9})",
                    R"({"id":3,"key":"y"})"}}),
              "{\"id\":1,\"x\":9,\"2024\":null,\"y\":\"t\"}\n"
              "{\"id\":2,\"x\":null,\"2024\":5,\"y\":null}\n"
              "{\"id\":3,\"x\":null,\"2024\":null,\"y\":null}\n");
}

TEST(LongToWide, GroupsOfDifferentFieldsKeepTheirOwnFields) {
    EXPECT_EQ(run("reshape.long_to_wide", {},
                  {{R"({"a":1,"key":"x","value":1})"},
                   {R"({"b":2,"key":"y","value":2})"},
                   {R"({"a":1,"key":"y","value":3})"}}),
              "{\"a\":1,\"x\":1,\"y\":3}\n{\"b\":2,\"x\":null,\"y\":2}\n");
}

TEST(LongToWide, AKeyThatCannotNameAFieldIsARecordError) {
    EXPECT_EQ(run("reshape.long_to_wide", {}, {{R"({"id":1,"key":null,"value":3})"}}),
              "ERROR: key_column 'key' is null: it cannot name a field");
    EXPECT_EQ(run("reshape.long_to_wide", {}, {{R"({"id":1,"value":3})"}}),
              "ERROR: the record has no field 'key' (key_column)");
    EXPECT_EQ(run("reshape.long_to_wide", {}, {{R"({"id":1,"key":"id","value":3})"}}),
              "ERROR: key 'id' (from key) names a field the record already has");
    EXPECT_EQ(run("reshape.long_to_wide", {}, {{R"({"id":1,"key":[1],"value":3})"}}),
              "ERROR: key_column 'key' is a list or an object: it cannot name a field");
}

TEST(LongToWide, SpilledGivesTheSameRecordsAsInMemory) {
    std::vector<std::vector<std::string>> batches;
    for (int b = 0; b < 40; ++b) {
        std::vector<std::string> records;
        for (int i = 0; i < 50; ++i) {
            const int n = b * 50 + i;
            records.push_back("{\"g\":" + std::to_string((n * 7919) % 300) + ",\"key\":\"k" +
                              std::to_string(n % 7) + "\",\"value\":" + std::to_string(n) + "}");
        }
        batches.push_back(std::move(records));
    }
    const std::string memory = run("reshape.long_to_wide", {}, batches);
    ASSERT_EQ(std::count(memory.begin(), memory.end(), '\n'), 300);
    test::TempDir dir;
    EXPECT_EQ(run("reshape.long_to_wide", {}, batches, 1, dir.file("spill")), memory);
    EXPECT_EQ(test::count_files(dir.file("spill")), 0U);
}

TEST(LongToWide, OverAHeaderAMissingKeyColumnIsAnErrorAtOpen) {
    auto built = test::build_stage("reshape.long_to_wide", {{"key_column", OptionValue("mtric")}});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"id", "metric", "value"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("did you mean 'metric'?"), std::string::npos)
        << opened.error().message;
}

} // namespace
} // namespace conveyor
