// groupby.apply over JSON records: a key or an aggregated field no record has is not an error
// (records may lack any field), but every record then falls in one group or sums nothing, so
// the end of the input says so.

#include "conveyor/obs/metrics.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(GroupByApply, AKeyOrAggregatedFieldNoRecordHasIsWarnedAtTheEnd) {
    StageMetrics metrics("t");
    OptionValue::List aggregations;
    aggregations.emplace_back(test::string_table({{"column", "amout"}, {"operation", "sum"}}));
    aggregations.emplace_back(test::string_table({{"column", "amount * 2"}, {"operation", "sum"}}));
    const std::string out = test::transform_jsonl(
        "groupby.apply",
        {{"by", test::string_list({"user.contry"})},
         {"aggregations", OptionValue(std::move(aggregations))}},
        {R"({"user":{"country":"DE"},"amount":1})", R"({"user":{"country":"FR"},"amount":2})"},
        &metrics);
    const auto warnings = metrics.warnings().entries();
    ASSERT_EQ(warnings.size(), 2U) << out;
    EXPECT_EQ(warnings[0].message,
              "no record has a value at 'user.contry' in the whole input (2 records) (in the "
              "first record that lacks it, 'user' has no 'contry' (did you mean 'country'?)); "
              "the group-by read it as null in every record");
    EXPECT_EQ(warnings[1].message,
              "field 'amout' did not appear in the whole input (2 records) (fields seen: user, "
              "amount) (did you mean 'amount'?); the group-by read it as null in every record");
}

} // namespace
} // namespace conveyor
