#include "conveyor/obs/metrics.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

std::string run_map(const std::map<std::string, OptionValue>& options,
                    const std::vector<std::string>& records) {
    return test::transform_jsonl("map.apply", options, records);
}

OptionValue columns(const std::vector<std::pair<std::string, std::string>>& m) {
    return test::string_table(m);
}

TEST(MapApply, ComputesNewFieldsInTheOrderWrittenAndReplacesInPlace) {
    const std::string out =
        run_map({{"columns", columns({{"total", "price * qty"},
                                      {"name", "upper(name)"},
                                      {"big", "price * qty >= 10"}})}},
                {R"({"name":"ann","price":2.5,"qty":4})", R"({"name":"bob","price":1,"qty":3})"});
    EXPECT_EQ(out, "{\"name\":\"ANN\",\"price\":2.5,\"qty\":4,\"total\":10.0,\"big\":true}\n"
                   "{\"name\":\"BOB\",\"price\":1,\"qty\":3,\"total\":3,\"big\":false}\n");
}

TEST(MapApply, EveryExpressionSeesTheRecordAsItCameIn) {
    const std::string out =
        run_map({{"columns", columns({{"a", "a + 1"}, {"b", "a * 10"}})}}, {R"({"a":1,"b":0})"});
    EXPECT_EQ(out, "{\"a\":2,\"b\":10}\n");
}

TEST(MapApply, TheEarlierToolsExpressionAndOutputColumnForm) {
    const std::string out = run_map({{"expression", OptionValue("coalesce(user.email, 'none')")},
                                     {"output_column", OptionValue("email")}},
                                    {R"({"user":{"email":"a@b.c"}})", R"({"user":{}})"});
    EXPECT_EQ(out, "{\"user\":{\"email\":\"a@b.c\"},\"email\":\"a@b.c\"}\n"
                   "{\"user\":{},\"email\":\"none\"}\n");
}

TEST(MapApply, LiteralStringsAndNewStringsOutliveTheExpressionsScratch) {
    const std::string out = run_map({{"columns", columns({{"tag", "'constant'"},
                                                          {"id_text", "concat('#', id)"},
                                                          {"parts", "split(csv, ';')"}})}},
                                    {R"({"id":7,"csv":"x;y"})"});
    EXPECT_EQ(out, "{\"id\":7,\"csv\":\"x;y\",\"tag\":\"constant\",\"id_text\":\"#7\","
                   "\"parts\":[\"x\",\"y\"]}\n");
}

TEST(MapApply, ARecordAnExpressionFailsOnIsARecordError) {
    auto built = test::build_stage("map.apply", {{"columns", columns({{"n", "int(s)"}})}});
    ASSERT_TRUE(built.stage);
    OpenContext ctx;
    ctx.stage_id = "m";
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    Status st = op->push(0, test::batch_from_json({R"({"s":"1"})", R"({"s":"x"})"}), out);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::Data);
    EXPECT_NE(st.error().message.find("'n': int(): cannot make an integer of string 'x'"),
              std::string::npos)
        << st.error().message;
}

TEST(MapApply, MistakesAreReportedWhenThePipelineLoads) {
    auto typo = test::build_stage("map.apply", {{"columns", columns({{"t", "prce * 2"}})}});
    EXPECT_TRUE(typo.stage) << "fields are checked against the input when it is known";
    auto bad = test::build_stage("map.apply", {{"columns", columns({{"t", "uper(x)"}})}});
    EXPECT_FALSE(bad.stage);
    EXPECT_NE(bad.errors().find("columns.t: unknown function 'uper' (did you mean 'upper'?)"),
              std::string::npos)
        << bad.errors();
    auto neither = test::build_stage("map.apply", {});
    EXPECT_FALSE(neither.stage);
    EXPECT_NE(neither.errors().find("map.apply needs columns"), std::string::npos);
    auto no_output = test::build_stage("map.apply", {{"expression", OptionValue("1")}});
    EXPECT_FALSE(no_output.stage);
    EXPECT_NE(no_output.errors().find("needs 'output_column'"), std::string::npos);
}

TEST(MapApply, AnUnknownFieldOverAFixedSchemaIsReportedWhenTheStageOpens) {
    auto built = test::build_stage("map.apply", {{"columns", columns({{"t", "prce * 2"}})}});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"id", "price"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("unknown field 'prce' (did you mean 'price'?)"),
              std::string::npos)
        << opened.error().message;
    EXPECT_EQ(opened.error().kind, ErrorKind::Config);
}

TEST(MapApply, AFieldOrPathNoRecordHasIsWarnedAtTheEnd) {
    // JSON records may lack any field, so a misspelt one is not an error: every expression
    // reading it gets null. The end of the input says so, with where a path stops.
    StageMetrics metrics("t");
    const std::string out = test::transform_jsonl(
        "map.apply",
        {{"columns",
          columns({{"a", "usr.name"}, {"b", "coalesce(order.nno, 0)"}, {"c", "id + 1"}})}},
        {R"({"id":1,"order":{"no":"A"}})", R"({"id":2,"order":{"no":"B"}})"}, &metrics);
    EXPECT_EQ(out, "{\"id\":1,\"order\":{\"no\":\"A\"},\"b\":0,\"c\":2}\n"
                   "{\"id\":2,\"order\":{\"no\":\"B\"},\"b\":0,\"c\":3}\n");
    const auto warnings = metrics.warnings().entries();
    ASSERT_EQ(warnings.size(), 2U);
    EXPECT_EQ(warnings[0].message,
              "field 'usr.name' did not appear in the whole input (2 records) (fields seen: id, "
              "order); the expressions read it as missing (null)");
    EXPECT_EQ(warnings[1].message,
              "no record has a value at 'order.nno' in the whole input (2 records) (in the first "
              "record that lacks it, 'order' has no 'nno' (did you mean 'no'?)); the expressions "
              "read it as missing (null)");
}

} // namespace
} // namespace conveyor
