// A dag edge's spill file gives back what was spilled: the records, in order, with their
// checkpoint marker and each record's lineage id.

#include "../../lib/src/exec/edge_spill.hpp"
#include "conveyor/core/run_context.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

namespace conveyor::exec {
namespace {

TEST(EdgeSpill, RecordsComeBackInOrderWithTheirLineageAndMarker) {
    test::TempDir dir;
    TempFiles temp;
    EdgeSpillWriter writer(dir.path(), "src", 0, temp);

    Batch first(make_schema({"id", "name"}));
    for (int i = 0; i < 3; ++i) {
        auto row = first.append_row(static_cast<std::uint64_t>(100 + i));
        row[0] = Value::integer(i);
        row[1] = Value::string(first.arena().copy("n" + std::to_string(i)));
    }
    first.set_checkpoint(4);
    Batch second(make_schema({"id", "name"}));
    second.append_row()[0] = Value::integer(9); // no lineage

    Result<EdgeItem> a = writer.spill(std::move(first));
    ASSERT_TRUE(a) << a.error().to_string();
    Result<EdgeItem> b = writer.spill(std::move(second));
    ASSERT_TRUE(b) << b.error().to_string();
    ASSERT_TRUE(writer.close());

    EdgeSpillReader reader;
    Result<Batch> back = reader.restore(std::move(*a));
    ASSERT_TRUE(back) << back.error().to_string();
    ASSERT_EQ(back->rows(), 3u);
    EXPECT_EQ(back->checkpoint_id(), 4u);
    for (std::size_t r = 0; r < 3; ++r) {
        EXPECT_EQ(back->at(r, 0).as_int(), static_cast<std::int64_t>(r));
        EXPECT_EQ(back->at(r, 1).as_string(), "n" + std::to_string(r));
        EXPECT_EQ(back->lineage(r), 100 + r);
    }
    Result<Batch> next = reader.restore(std::move(*b));
    ASSERT_TRUE(next) << next.error().to_string();
    ASSERT_EQ(next->rows(), 1u);
    EXPECT_EQ(next->at(0, 0).as_int(), 9);
    EXPECT_FALSE(next->has_lineage());
}

} // namespace
} // namespace conveyor::exec
