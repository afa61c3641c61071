#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

std::string run_flatten(const std::map<std::string, OptionValue>& options,
                        const std::vector<std::string>& records) {
    return test::transform_jsonl("flatten.apply", options, records);
}

TEST(FlattenApply, NestedObjectsBecomeFieldsNamedByTheirPath) {
    EXPECT_EQ(run_flatten({}, {R"({"id":1,"user":{"name":"ann","address":{"city":"Oslo"}}})"}),
              "{\"id\":1,\"user.name\":\"ann\",\"user.address.city\":\"Oslo\"}\n");
}

TEST(FlattenApply, FieldsAreTheUnionInTheOrderFirstSeen) {
    EXPECT_EQ(run_flatten({}, {R"({"a":{"x":1}})", R"({"a":{"y":2,"x":3},"b":true})"}),
              "{\"a.x\":1}\n{\"a.x\":3,\"a.y\":2,\"b\":true}\n");
}

TEST(FlattenApply, ArraysStayValuesUnlessIndexed) {
    const std::vector<std::string> in = {R"({"tags":["a","b"],"o":{"l":[1]}})"};
    EXPECT_EQ(run_flatten({}, in), "{\"tags\":[\"a\",\"b\"],\"o.l\":[1]}\n");
    EXPECT_EQ(run_flatten({{"arrays", OptionValue("index")}}, in),
              "{\"tags.0\":\"a\",\"tags.1\":\"b\",\"o.l.0\":1}\n");
}

TEST(FlattenApply, TheSeparatorAndTheColumnsOptions) {
    EXPECT_EQ(run_flatten({{"separator", OptionValue("_")},
                           {"columns", OptionValue(OptionValue::List{OptionValue("a")})}},
                          {R"({"a":{"b":1},"c":{"d":2}})"}),
              "{\"a_b\":1,\"c\":{\"d\":2}}\n");
}

TEST(FlattenApply, EmptyObjectsAndScalarsStayAsTheyAre) {
    EXPECT_EQ(run_flatten({}, {R"({"e":{},"n":null,"s":"x"})"}),
              "{\"e\":{},\"n\":null,\"s\":\"x\"}\n");
}

TEST(FlattenApply, ANameGivenTwiceIsARecordErrorNotALostValue) {
    auto built = test::build_stage("flatten.apply", {});
    ASSERT_TRUE(built.stage);
    OpenContext ctx;
    ctx.stage_id = "f";
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    const Status st = op->push(0, test::batch_from_json({R"({"a.b":1,"a":{"b":2}})"}), out);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("'a.b' twice"), std::string::npos) << st.error().message;
}

TEST(FlattenApply, BadOptionsAreLoadErrorsNamingTheKey) {
    auto empty = test::build_stage("flatten.apply", {{"separator", OptionValue("")}});
    EXPECT_FALSE(empty.stage);
    EXPECT_NE(empty.errors().find("'separator' cannot be empty"), std::string::npos)
        << empty.errors();
}

} // namespace
} // namespace conveyor
