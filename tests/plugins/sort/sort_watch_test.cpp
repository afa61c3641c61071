// sort.apply over JSON records: a key no record has is not an error (records may lack any
// field), but it sorts nothing, so the end of the input says so.

#include "conveyor/obs/metrics.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(SortApply, AKeyNoRecordHasIsWarnedAtTheEnd) {
    StageMetrics metrics("t");
    (void)test::transform_jsonl(
        "sort.apply", {{"by", test::string_list({"user.nmae", "idd", "id"})}},
        {R"({"id":2,"user":{"name":"b"}})", R"({"id":1,"user":{"name":"a"}})"}, &metrics);
    const auto warnings = metrics.warnings().entries();
    ASSERT_EQ(warnings.size(), 2U);
    EXPECT_EQ(warnings[0].message,
              "no record has a value at 'user.nmae' in the whole input (2 records) (in the first "
              "record that lacks it, 'user' has no 'nmae' (did you mean 'name'?)); that key was "
              "null for every record");
    EXPECT_EQ(warnings[1].message,
              "field 'idd' did not appear in the whole input (2 records) (fields seen: id, user) "
              "(did you mean 'id'?); that key was null for every record");
}

TEST(SortApply, KeysEveryRecordHasAreNotWarnedAbout) {
    StageMetrics metrics("t");
    (void)test::transform_jsonl("sort.apply", {{"by", test::string_list({"user.name", "id"})}},
                                {R"({"id":2,"user":{"name":"b"}})", R"({"id":1})"}, &metrics);
    EXPECT_TRUE(metrics.warnings().entries().empty());
}

} // namespace
} // namespace conveyor
