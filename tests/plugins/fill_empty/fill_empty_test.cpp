// fill_empty.apply: Miller's fill-empty, checked against what `mlr fill-empty` gives.

#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(FillEmptyApply, NullAndEmptyTextGetNaOrTheValueReadAsANumber) {
    const std::vector<std::string> records = {R"({"a":1,"b":null,"c":""})",
                                              R"({"a":"","b":"x","c":" "})", R"({"b":[]})"};
    // `mlr fill-empty`: N/A; white space is a value; a field a record lacks stays out.
    EXPECT_EQ(test::transform_jsonl("fill_empty.apply", {}, records),
              "{\"a\":1,\"b\":\"N/A\",\"c\":\"N/A\"}\n"
              "{\"a\":\"N/A\",\"b\":\"x\",\"c\":\" \"}\n"
              "{\"b\":[]}\n");
    // `mlr fill-empty -v 0`: the number 0; `-S`: the text "0"; decimals keep their text.
    EXPECT_EQ(test::transform_jsonl("fill_empty.apply", {{"value", OptionValue("0")}}, records),
              "{\"a\":1,\"b\":0,\"c\":0}\n{\"a\":0,\"b\":\"x\",\"c\":\" \"}\n{\"b\":[]}\n");
    EXPECT_EQ(
        test::transform_jsonl("fill_empty.apply",
                              {{"value", OptionValue("0")}, {"infer_types", OptionValue(false)}},
                              {R"({"a":null})"}),
        "{\"a\":\"0\"}\n");
    // TOML numbers and booleans as they are.
    EXPECT_EQ(
        test::transform_jsonl("fill_empty.apply", {{"value", OptionValue(0)}}, {R"({"a":null})"}),
        "{\"a\":0}\n");
    EXPECT_EQ(
        test::transform_jsonl("fill_empty.apply", {{"value", OptionValue(false)}}, {R"({"a":""})"}),
        "{\"a\":false}\n");
    EXPECT_EQ(test::transform_jsonl("fill_empty.apply", {{"value", OptionValue("1.50")}},
                                    {R"({"a":null})"}),
              "{\"a\":1.50}\n");
}

TEST(FillEmptyApply, OnlyTheColumnsNamedAndAnUnknownOneOverAHeaderIsALoadError) {
    EXPECT_EQ(test::transform_jsonl("fill_empty.apply",
                                    {{"columns", test::string_list({"b", "gone"})}},
                                    {R"({"a":null,"b":null})"}),
              "{\"a\":null,\"b\":\"N/A\"}\n");
    auto built = test::build_stage("fill_empty.apply", {{"columns", test::string_list({"citty"})}});
    ASSERT_TRUE(built.stage) << built.errors();
    auto opened = test::open_over(*built.stage, {"id", "city"});
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().kind, ErrorKind::Config);
    EXPECT_EQ(opened.error().message,
              "columns: field 'citty' is not in the input (did you mean 'city'?)");
}

} // namespace
} // namespace conveyor
