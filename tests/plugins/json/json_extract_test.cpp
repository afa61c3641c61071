#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

std::string run_extract(const std::map<std::string, OptionValue>& options,
                        const std::vector<std::string>& records) {
    return test::transform_jsonl("json.extract", options, records);
}

TEST(JsonExtract, PicksATypedValueOutOfJsonText) {
    EXPECT_EQ(run_extract({{"column", OptionValue("p")}, {"path", OptionValue("user.age")}},
                          {R"({"id":1,"p":"{\"user\":{\"age\":41}}"})"}),
              "{\"id\":1,\"p\":\"{\\\"user\\\":{\\\"age\\\":41}}\",\"age\":41}\n");
}

TEST(JsonExtract, DescendsIntoANestedValueAndKeepsObjectsNested) {
    EXPECT_EQ(run_extract({{"column", OptionValue("o")},
                           {"path", OptionValue("$.items[1]")},
                           {"output_column", OptionValue("second")}},
                          {R"({"o":{"items":[{"sku":"a"},{"sku":"b"}]}})"}),
              "{\"o\":{\"items\":[{\"sku\":\"a\"},{\"sku\":\"b\"}]},\"second\":{\"sku\":\"b\"}}\n");
}

TEST(JsonExtract, AMissingPathOrColumnGivesNull) {
    EXPECT_EQ(run_extract({{"column", OptionValue("p")}, {"path", OptionValue("a.b")}},
                          {R"({"p":"{\"a\":1}"})", R"({"q":1})"}),
              "{\"p\":\"{\\\"a\\\":1}\",\"b\":null}\n{\"q\":1,\"b\":null}\n");
}

TEST(JsonExtract, TheWholeDocumentWithDollar) {
    EXPECT_EQ(run_extract({{"column", OptionValue("p")},
                           {"path", OptionValue("$")},
                           {"output_column", OptionValue("p")}},
                          {R"({"p":"[1, 2]"})"}),
              "{\"p\":[1,2]}\n");
}

TEST(JsonExtract, TextThatIsNotJsonIsARecordError) {
    auto built = test::build_stage("json.extract",
                                   {{"column", OptionValue("p")}, {"path", OptionValue("a")}});
    ASSERT_TRUE(built.stage) << built.errors();
    OpenContext ctx;
    ctx.stage_id = "x";
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    const Status st = op->push(0, test::batch_from_json({R"({"p":"{not json"})"}), out);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::Data);
    EXPECT_NE(st.error().message.find("'p' is not JSON"), std::string::npos) << st.error().message;
}

TEST(JsonExtract, BadOptionsAreLoadErrorsNamingTheKey) {
    auto bad_path = test::build_stage(
        "json.extract", {{"column", OptionValue("p")}, {"path", OptionValue("a..b")}});
    EXPECT_FALSE(bad_path.stage);
    EXPECT_NE(bad_path.errors().find("invalid path"), std::string::npos) << bad_path.errors();
    auto unnamed = test::build_stage("json.extract",
                                     {{"column", OptionValue("p")}, {"path", OptionValue("[0]")}});
    EXPECT_FALSE(unnamed.stage);
    EXPECT_NE(unnamed.errors().find("give 'output_column'"), std::string::npos) << unnamed.errors();
}

} // namespace
} // namespace conveyor
