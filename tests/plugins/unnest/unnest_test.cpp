#include "support/stage_harness.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

namespace conveyor {
namespace {

std::string run_unnest(const std::map<std::string, OptionValue>& options,
                       const std::vector<std::string>& records) {
    return test::transform_jsonl("unnest.apply", options, records);
}

TEST(UnnestApply, OneRecordPerElementWithTheOtherFieldsCopied) {
    EXPECT_EQ(run_unnest({{"column", OptionValue("tags")}},
                         {R"({"id":1,"tags":["a","b"]})", R"({"id":2,"tags":["c"]})"}),
              "{\"id\":1,\"tags\":\"a\"}\n{\"id\":1,\"tags\":\"b\"}\n{\"id\":2,\"tags\":\"c\"}\n");
}

TEST(UnnestApply, EmptyNullOrAbsentArraysDropTheRecordUnlessKept) {
    const std::vector<std::string> in = {R"({"id":1,"tags":[]})", R"({"id":2,"tags":null})",
                                         R"({"id":3})", R"({"id":4,"tags":["x"]})"};
    EXPECT_EQ(run_unnest({{"column", OptionValue("tags")}}, in), "{\"id\":4,\"tags\":\"x\"}\n");
    EXPECT_EQ(run_unnest({{"column", OptionValue("tags")}, {"keep_empty", OptionValue(true)}}, in),
              "{\"id\":1,\"tags\":null}\n{\"id\":2,\"tags\":null}\n{\"id\":3,\"tags\":null}\n"
              "{\"id\":4,\"tags\":\"x\"}\n");
}

TEST(UnnestApply, AScalarCountsAsAnArrayOfOne) {
    EXPECT_EQ(run_unnest({{"column", OptionValue("tags")}}, {R"({"tags":"solo"})"}),
              "{\"tags\":\"solo\"}\n");
}

TEST(UnnestApply, IndexColumnGivesEachElementsPosition) {
    EXPECT_EQ(run_unnest({{"column", OptionValue("t")}, {"index_column", OptionValue("i")}},
                         {R"({"t":[{"k":1},{"k":2}]})"}),
              "{\"t\":{\"k\":1},\"i\":0}\n{\"t\":{\"k\":2},\"i\":1}\n");
}

TEST(UnnestApply, LongArraysAreSplitIntoBatchesOfBatchSize) {
    auto built = test::build_stage("unnest.apply", {{"column", OptionValue("t")}});
    ASSERT_TRUE(built.stage);
    OpenContext ctx;
    ctx.stage_id = "u";
    ctx.batch_size = 2;
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    ASSERT_TRUE(op->push(0, test::batch_from_json({R"({"t":[1,2,3,4,5]})"}), out));
    const std::vector<Batch> batches = out.take();
    ASSERT_EQ(batches.size(), 3U);
    EXPECT_EQ(batches[0].rows(), 2U);
    EXPECT_EQ(batches[2].rows(), 1U);
    EXPECT_EQ(test::jsonl(batches), "{\"t\":1}\n{\"t\":2}\n{\"t\":3}\n{\"t\":4}\n{\"t\":5}\n");
}

TEST(UnnestApply, MissingColumnIsALoadErrorOverAKnownSchema) {
    auto none = test::build_stage("unnest.apply", {});
    EXPECT_FALSE(none.stage);
    EXPECT_NE(none.errors().find("column"), std::string::npos) << none.errors();

    auto built = test::build_stage("unnest.apply", {{"column", OptionValue("tgas")}});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"id", "tags"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("did you mean 'tags'?"), std::string::npos)
        << opened.error().message;
}

TEST(UnnestApply, AColumnNoRecordHasIsWarnedAtTheEndNamingTheFields) {
    // Records without the field are dropped (as documented); when no record has it, a
    // misspelt name would drop everything without a word: FieldWatch says so when the input
    // ends.
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    sink->set_pattern("%l: %v");
    spdlog::default_logger()->sinks().push_back(sink);
    const std::vector<std::string> in = {R"({"a":1,"b":{"c":[1,2]}})", R"({"a":2,"b":{"c":[]}})"};
    EXPECT_EQ(run_unnest({{"column", OptionValue("bb")}}, in), "");
    EXPECT_EQ(run_unnest({{"column", OptionValue("a")}}, in),
              "{\"a\":1,\"b\":{\"c\":[1,2]}}\n{\"a\":2,\"b\":{\"c\":[]}}\n");
    std::erase(spdlog::default_logger()->sinks(), sink);
    const std::vector<std::string> lines = sink->last_formatted();
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_NE(lines[0].find("stage 't': field 'bb' did not appear in the whole input (2 records) "
                            "(fields seen: a, b) (did you mean 'b'?); every record was dropped"),
              std::string::npos)
        << lines[0];
}

TEST(UnnestApply, APathReachesIntoObjectsAndListsAndTheElementTakesTheArraysPlace) {
    const std::vector<std::string> in = {
        R"({"id":1,"order":{"no":"A","items":[{"sku":"x"},{"sku":"y"}],"n":2}})",
        R"({"id":2,"order":{"no":"B","items":[]}})",
        R"({"id":3,"order":{"no":"C"}})",
        R"({"id":4,"lists":[{"tags":["p","q"]},{"tags":["r"]}]})",
    };
    EXPECT_EQ(run_unnest(
                  {{"column", OptionValue("order.items")}, {"index_column", OptionValue("i")}}, in),
              "{\"id\":1,\"order\":{\"no\":\"A\",\"items\":{\"sku\":\"x\"},\"n\":2},\"i\":0}\n"
              "{\"id\":1,\"order\":{\"no\":\"A\",\"items\":{\"sku\":\"y\"},\"n\":2},\"i\":1}\n");
    // Counted from either end; the other elements of the outer list stay as they were.
    EXPECT_EQ(run_unnest({{"column", OptionValue("lists[0].tags")}}, in),
              "{\"id\":4,\"lists\":[{\"tags\":\"p\"},{\"tags\":[\"r\"]}]}\n"
              "{\"id\":4,\"lists\":[{\"tags\":\"q\"},{\"tags\":[\"r\"]}]}\n");
    EXPECT_EQ(run_unnest({{"column", OptionValue("lists[-1].tags")}}, in),
              "{\"id\":4,\"lists\":[{\"tags\":[\"p\",\"q\"]},{\"tags\":\"r\"}]}\n");
    // keep_empty: an empty list becomes null where it was; a record the path does not reach
    // into is kept as it is.
    EXPECT_EQ(
        run_unnest({{"column", OptionValue("order.items")}, {"keep_empty", OptionValue(true)}},
                   {in[1], in[2]}),
        "{\"id\":2,\"order\":{\"no\":\"B\",\"items\":null}}\n"
        "{\"id\":3,\"order\":{\"no\":\"C\"}}\n");
}

TEST(UnnestApply, AFieldNamedWithADotIsFoundAsWrittenOrBackquoted) {
    // flatten.apply writes fields named "b.c"; such a field is what "b.c" finds when there is
    // no field b, and `b.c` (backquoted) never reaches into b.
    EXPECT_EQ(run_unnest({{"column", OptionValue("b.c")}}, {R"({"b.c":[1,2]})"}),
              "{\"b.c\":1}\n{\"b.c\":2}\n");
    EXPECT_EQ(run_unnest({{"column", OptionValue("`b.c`")}}, {R"({"b":{"c":[1]},"b.c":[7,8]})"}),
              "{\"b\":{\"c\":[1]},\"b.c\":7}\n{\"b\":{\"c\":[1]},\"b.c\":8}\n");
}

TEST(UnnestApply, APathThatReachesNoRecordIsWarnedWithWhereItStops) {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    sink->set_pattern("%l: %v");
    spdlog::default_logger()->sinks().push_back(sink);
    const std::vector<std::string> in = {R"({"id":1,"order":{"no":"A","items":[1,2]}})",
                                         R"({"id":2,"lists":[[1]]})"};
    EXPECT_EQ(run_unnest({{"column", OptionValue("order.itms")}}, in), "");
    EXPECT_EQ(run_unnest({{"column", OptionValue("lists[2]")}}, in), "");
    EXPECT_EQ(run_unnest({{"column", OptionValue("id.x")}}, in), "");
    EXPECT_EQ(run_unnest({{"column", OptionValue("order.items")}}, in),
              "{\"id\":1,\"order\":{\"no\":\"A\",\"items\":1}}\n{\"id\":1,\"order\":{\"no\":\"A\","
              "\"items\":2}}\n");
    std::erase(spdlog::default_logger()->sinks(), sink);
    const std::vector<std::string> lines = sink->last_formatted();
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_NE(lines[0].find("no record has a value at 'order.itms' in the whole input (2 "
                            "records) (in the first record that lacks it, 'order' has no 'itms' "
                            "(did you mean 'items'?)); every record was dropped"),
              std::string::npos)
        << lines[0];
    EXPECT_NE(lines[1].find("'lists' has 1 element)"), std::string::npos) << lines[1];
    EXPECT_NE(lines[2].find("'id' is not an object"), std::string::npos) << lines[2];
}

TEST(UnnestApply, APathWhoseTopFieldIsNotInAKnownSchemaIsALoadError) {
    auto built = test::build_stage("unnest.apply", {{"column", OptionValue("ordr.items")}});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"id", "order"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("field 'ordr' is not in the input (did you mean "
                                          "'order'?)"),
              std::string::npos)
        << opened.error().message;
}

} // namespace
} // namespace conveyor
