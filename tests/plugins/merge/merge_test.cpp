#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(MergeApply, EveryRecordGetsTheUnionOfTheInputsFields) {
    auto built = test::build_stage("merge.apply", {});
    ASSERT_TRUE(built.stage) << built.errors();
    const SchemaRef schemas[] = {make_schema({"id", "name"}), make_schema({"id", "score"})};
    OpenContext ctx;
    ctx.input_schemas = schemas;
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->initial_schema->names(), (std::vector<std::string>{"id", "name", "score"}));
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    ASSERT_TRUE(op->push(0, test::batch_from_json({R"({"id":1,"name":"a"})"}), out));
    ASSERT_TRUE(op->push(1, test::batch_from_json({R"({"id":2,"score":7})"}), out));
    // A field no input announced is kept, after the union's.
    ASSERT_TRUE(op->push(1, test::batch_from_json({R"({"id":3,"score":8,"extra":true})"}), out));
    EXPECT_EQ(test::jsonl(out.take()), "{\"id\":1,\"name\":\"a\",\"score\":null}\n"
                                       "{\"id\":2,\"name\":null,\"score\":7}\n"
                                       "{\"id\":3,\"name\":null,\"score\":8,\"extra\":true}\n");
}

TEST(MergeApply, AFieldMissingFromOneRecordIsNullLikeForAWholeInput) {
    auto built = test::build_stage("merge.apply", {});
    const SchemaRef schemas[] = {make_schema({"id", "name"})};
    OpenContext ctx;
    ctx.input_schemas = schemas;
    auto opened = built.stage->open(ctx);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    ASSERT_TRUE(op->push(0, test::batch_from_json({R"({"id":1,"name":"a"})", R"({"id":2})"}), out));
    EXPECT_EQ(test::jsonl(out.take()), "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":null}\n");
}

} // namespace
} // namespace conveyor
