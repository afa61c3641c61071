// SplitPlan: the numbered names of rolled files.

#include "conveyor/stage/split_sink.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

TEST(SplitPlan, ThePartNumberGoesBeforeTheFirstExtension) {
    EXPECT_EQ(SplitPlan::numbered("out/data.csv", 1), "out/data-00001.csv");
    EXPECT_EQ(SplitPlan::numbered("out/data.csv.gz", 12), "out/data-00012.csv.gz");
    EXPECT_EQ(SplitPlan::numbered("data", 3), "data-00003");
    EXPECT_EQ(SplitPlan::numbered("./v1.2/x.jsonl", 2), "./v1.2/x-00002.jsonl");
    EXPECT_EQ(SplitPlan::numbered("out/.hidden.csv", 1), "out/.hidden-00001.csv");
    EXPECT_EQ(SplitPlan::numbered("out/d.csv", 123456), "out/d-123456.csv");
}

} // namespace
} // namespace conveyor
