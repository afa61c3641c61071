#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

std::string run_select(const std::map<std::string, OptionValue>& options,
                       const std::vector<std::string>& records) {
    return test::transform_jsonl("select.apply", options, records);
}

TEST(SelectApply, ColumnsKeepsThoseFieldsInTheOrderListed) {
    EXPECT_EQ(run_select({{"columns", OptionValue::List{"c", "a"}}},
                         {R"({"a":1,"b":2,"c":3})", R"({"a":4,"c":6})"}),
              "{\"c\":3,\"a\":1}\n{\"c\":6,\"a\":4}\n");
    EXPECT_EQ(run_select({{"columns", "a"}}, {R"({"a":1,"b":2})"}), "{\"a\":1}\n")
        << "a single string";
}

TEST(SelectApply, AFieldARecordLacksStaysAbsent) {
    EXPECT_EQ(run_select({{"columns", OptionValue::List{"a", "z"}}}, {R"({"a":1,"b":2})"}),
              "{\"a\":1}\n");
}

TEST(SelectApply, ExcludeDropsFieldsAndKeepsTheRestInOrder) {
    EXPECT_EQ(run_select({{"exclude", OptionValue::List{"b"}}}, {R"({"a":1,"b":2,"c":{"d":3}})"}),
              "{\"a\":1,\"c\":{\"d\":3}}\n");
}

TEST(SelectApply, MistakesAreReportedWhenThePipelineLoads) {
    auto neither = test::build_stage("select.apply", {});
    EXPECT_FALSE(neither.stage);
    EXPECT_NE(neither.errors().find("missing 'columns'"), std::string::npos);
    auto both = test::build_stage("select.apply", {{"columns", "a"}, {"exclude", "b"}});
    EXPECT_FALSE(both.stage);
    auto twice = test::build_stage("select.apply", {{"columns", OptionValue::List{"a", "a"}}});
    EXPECT_FALSE(twice.stage);
    EXPECT_NE(twice.errors().find("listed twice"), std::string::npos);
}

TEST(SelectApply, UnknownColumnsOfAFixedSchemaAreReportedWhenTheStageOpens) {
    auto built = test::build_stage("select.apply", {{"columns", OptionValue::List{"id", "nmae"}}});
    ASSERT_TRUE(built.stage);
    SchemaRef schema = make_schema({"id", "name"});
    const bool fixed[] = {true};
    OpenContext ctx;
    ctx.input_schemas = std::span<const SchemaRef>(&schema, 1);
    ctx.input_schemas_fixed = fixed;
    auto opened = built.stage->open(ctx);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("did you mean 'name'"), std::string::npos);
}

TEST(SelectApply, AStarInColumnsIsEveryFieldNotListedInInputOrder) {
    // mlr reorder -f amount / reorder -e -f id: columns had to list every field.
    const std::vector<std::string> in = {R"({"id":1,"region":"e","amount":5,"qty":2})"};
    EXPECT_EQ(run_select({{"columns", test::string_list({"amount", "*"})}}, in),
              "{\"amount\":5,\"id\":1,\"region\":\"e\",\"qty\":2}\n");
    EXPECT_EQ(run_select({{"columns", test::string_list({"region", "*", "id"})}}, in),
              "{\"region\":\"e\",\"amount\":5,\"qty\":2,\"id\":1}\n");
    // A path after the star still takes its nested value.
    EXPECT_EQ(
        run_select({{"columns", test::string_list({"*", "u.c"})}}, {R"({"id":1,"u":{"c":"X"}})"}),
        "{\"id\":1,\"u\":{\"c\":\"X\"},\"u.c\":\"X\"}\n");
    // Over a header the star needs no field of its own; excluding it is refused.
    auto built = test::build_stage("select.apply", {{"columns", test::string_list({"id", "*"})}});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"x", "id"});
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->initial_schema->names(), (std::vector<std::string>{"id", "x"}));
    EXPECT_NE(test::build_stage("select.apply", {{"exclude", test::string_list({"*"})}})
                  .errors()
                  .find("belongs in 'columns'"),
              std::string::npos);
}

} // namespace
} // namespace conveyor
