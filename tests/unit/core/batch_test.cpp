#include "conveyor/core/batch.hpp"
#include "conveyor/stage/emitter.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace conveyor {
namespace {

/// A batch of (id, name) rows whose names live in the batch's arena.
Batch make_batch(std::size_t rows) {
    Batch b(make_schema({"id", "name"}));
    for (std::size_t r = 0; r < rows; ++r) {
        auto row = b.append_row();
        row[0] = Value::integer(static_cast<std::int64_t>(r));
        row[1] = Value::string(b.arena().copy("name-" + std::to_string(r)));
    }
    return b;
}

std::vector<std::int64_t> ids(const Batch& b) {
    std::vector<std::int64_t> out;
    for (std::size_t r = 0; r < b.rows(); ++r)
        out.push_back(b.at(r, 0).as_int());
    return out;
}

TEST(BatchTest, AppendsRowsOfSchemaWidth) {
    Batch b = make_batch(3);
    EXPECT_EQ(b.width(), 2u);
    EXPECT_EQ(b.rows(), 3u);
    EXPECT_FALSE(b.empty());
    EXPECT_EQ(b.values().size(), 6u);
    EXPECT_EQ(b.row(2)[1].as_string(), "name-2");
    EXPECT_EQ(b.at(1, 0).as_int(), 1);

    // A new row starts absent.
    auto row = b.append_row();
    EXPECT_TRUE(row[0].is_absent());
    EXPECT_TRUE(row[1].is_absent());

    const Value copy[] = {Value::integer(9), Value::null()};
    b.append_row(copy);
    EXPECT_EQ(b.rows(), 5u);
    EXPECT_EQ(b.at(4, 0).as_int(), 9);
    EXPECT_TRUE(Batch().empty());
}

TEST(BatchTest, RetainRowsKeepsOrderAndScalesPayload) {
    Batch b = make_batch(5);
    b.set_payload_bytes(1000);
    const std::uint8_t keep[] = {1, 0, 1, 0, 1};
    b.retain_rows(keep);
    EXPECT_EQ(ids(b), (std::vector<std::int64_t>{0, 2, 4}));
    EXPECT_EQ(b.at(1, 1).as_string(), "name-2");
    EXPECT_EQ(b.payload_bytes(), 600u);

    const std::uint8_t none[] = {0, 0, 0};
    b.retain_rows(none);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.payload_bytes(), 0u);
}

TEST(BatchTest, TruncateDropsTheTail) {
    Batch b = make_batch(4);
    b.set_payload_bytes(400);
    b.truncate(10); // no-op beyond the end
    EXPECT_EQ(b.rows(), 4u);
    b.truncate(1);
    EXPECT_EQ(ids(b), std::vector<std::int64_t>{0});
    EXPECT_EQ(b.payload_bytes(), 100u);
    EXPECT_EQ(b.values().size(), 2u);
}

TEST(BatchTest, RemapColumnsReordersDropsAndAdds) {
    Batch b = make_batch(2);
    const std::size_t source[] = {1, Batch::npos, 0};
    b.remap_columns(make_schema({"name", "extra", "id"}), source);
    EXPECT_EQ(b.width(), 3u);
    EXPECT_EQ(b.rows(), 2u);
    EXPECT_EQ(b.schema().name(0), "name");
    EXPECT_EQ(b.at(1, 0).as_string(), "name-1");
    EXPECT_TRUE(b.at(1, 1).is_absent());
    EXPECT_EQ(b.at(1, 2).as_int(), 1);

    const std::size_t only_id[] = {2};
    b.remap_columns(make_schema({"id"}), only_id);
    EXPECT_EQ(b.width(), 1u);
    EXPECT_EQ(ids(b), (std::vector<std::int64_t>{0, 1}));
}

TEST(BatchTest, CloneCopiesValuesAndSharesStorage) {
    auto original = std::make_unique<Batch>(make_batch(3));
    original->set_payload_bytes(77);
    Arena* before = &original->arena();
    Batch copy = original->clone();
    EXPECT_EQ(copy.rows(), 3u);
    EXPECT_EQ(copy.schema_ref(), original->schema_ref()); // the schema is shared, not copied
    EXPECT_EQ(copy.payload_bytes(), 77u);
    // Same storage: the strings are the very same bytes.
    EXPECT_EQ(copy.at(2, 1).as_string().data(), original->at(2, 1).as_string().data());

    // The original's arena was frozen: its next writes go to a fresh one.
    EXPECT_NE(&original->arena(), before);

    // Changing one batch's rows does not change the other's.
    original->truncate(1);
    EXPECT_EQ(copy.rows(), 3u);

    // The clone keeps the storage alive after the original is gone.
    original.reset();
    EXPECT_EQ(copy.at(0, 1).as_string(), "name-0");
    EXPECT_EQ(copy.at(2, 1).as_string(), "name-2");
}

TEST(BatchTest, ShareStorageOfLetsValuesMoveBetweenBatches) {
    auto producer = std::make_unique<Batch>(make_batch(2));
    Arena* producer_arena = &producer->arena();
    Batch consumer(make_schema({"id", "name"}));
    consumer.share_storage_of(*producer);
    consumer.append_row(producer->row(1));
    EXPECT_NE(&producer->arena(), producer_arena); // frozen: nobody writes there again
    producer.reset();
    EXPECT_EQ(consumer.at(0, 1).as_string(), "name-1");

    // Sharing with itself is harmless.
    consumer.share_storage_of(consumer);
    EXPECT_EQ(consumer.rows(), 1u);
}

TEST(BatchTest, KeepAliveHoldsEachOwnerOnce) {
    auto buffer = std::make_shared<std::string>("input bytes");
    {
        Batch b(make_schema({"text"}));
        b.keep_alive(buffer);
        b.keep_alive(buffer);
        b.keep_alive(nullptr);
        EXPECT_EQ(buffer.use_count(), 2);
        auto row = b.append_row();
        row[0] = Value::string(*buffer);
        Batch c = b.clone();
        EXPECT_EQ(buffer.use_count(), 3);
    }
    EXPECT_EQ(buffer.use_count(), 1);
}

TEST(BatchTest, MemoryBytesCountsValuesAndPayload) {
    Batch b(make_schema({"a"}), 100);
    EXPECT_GE(b.memory_bytes(), 100 * sizeof(Value));
    const std::size_t without = b.memory_bytes();
    b.set_payload_bytes(5000);
    EXPECT_EQ(b.memory_bytes(), without + 5000);
}

TEST(BatchTest, MovesLeaveTheSourceEmpty) {
    Batch a = make_batch(2);
    Batch b = std::move(a);
    EXPECT_EQ(b.rows(), 2u);
    EXPECT_EQ(b.at(1, 1).as_string(), "name-1");
}

TEST(BatchTest, MetadataFollowsTheRecordsAndIsClonedForFanOut) {
    Batch b(make_schema({"a"}));
    b.append_row()[0] = Value::integer(1);
    EXPECT_FALSE(b.is_marker_only());
    b.add_info(WindowClosed{Value::integer(0), Value::integer(4), nullptr});
    Batch copy = b.clone();
    ASSERT_EQ(copy.infos().size(), 1U);
    EXPECT_EQ(std::get<WindowClosed>(copy.infos()[0]).end.as_int(), 4);
    const std::vector<BatchInfo> taken = b.take_infos();
    EXPECT_EQ(taken.size(), 1U);
    EXPECT_TRUE(b.infos().empty());
    EXPECT_EQ(copy.rows(), 1U) << "the records stay records";

    Batch alone = Batch::info_only(WindowClosed{Value::integer(4), Value::integer(8), nullptr});
    EXPECT_TRUE(alone.is_marker_only()) << "metadata without records is no data";
    EXPECT_EQ(alone.clone().infos().size(), 1U);
    CollectingEmitter em;
    em.emit(std::move(alone));
    EXPECT_FALSE(em.empty()) << "an emitter keeps metadata-only batches";
}

std::vector<std::uint64_t> lineage(const Batch& b) {
    std::vector<std::uint64_t> out;
    for (std::size_t r = 0; r < b.rows(); ++r)
        out.push_back(b.lineage(r));
    return out;
}

TEST(BatchTest, LineageFollowsEachRowThroughWhatMovesRows) {
    Batch b = make_batch(5);
    EXPECT_FALSE(b.has_lineage());
    EXPECT_EQ(b.lineage(0), 0u) << "no lineage reads as 0";
    b.set_lineage({11, 12, 13, 14, 15});
    ASSERT_TRUE(b.has_lineage());

    const std::vector<std::uint8_t> keep = {1, 0, 1, 0, 1};
    b.retain_rows(keep);
    EXPECT_EQ(ids(b), (std::vector<std::int64_t>{0, 2, 4}));
    EXPECT_EQ(lineage(b), (std::vector<std::uint64_t>{11, 13, 15}));

    b.truncate(2);
    EXPECT_EQ(lineage(b), (std::vector<std::uint64_t>{11, 13}));

    const std::size_t source[] = {1, Batch::npos, 0};
    b.remap_columns(make_schema({"name", "extra", "id"}), source);
    EXPECT_EQ(lineage(b), (std::vector<std::uint64_t>{11, 13})) << "columns move, rows do not";

    Batch copy = b.clone();
    EXPECT_EQ(lineage(copy), lineage(b)) << "a fan-out's copies keep the ids";

    Batch moved = std::move(copy);
    EXPECT_EQ(lineage(moved), (std::vector<std::uint64_t>{11, 13}));
}

TEST(BatchTest, RowsCopiedIntoANewBatchCarryTheirLineageWhenGivenIt) {
    Batch from = make_batch(3);
    from.set_lineage({7, 8, 9});
    Batch to(from.schema_ref());
    to.share_storage_of(from);
    to.append_row(from.row(2), from.lineage(2));
    to.append_row(from.row(0), from.lineage(0));
    EXPECT_EQ(lineage(to), (std::vector<std::uint64_t>{9, 7}));

    // Rows without an id before the first one with: 0 for them.
    Batch mixed(make_schema({"a"}));
    mixed.append_row()[0] = Value::integer(1);
    mixed.append_row(5)[0] = Value::integer(2);
    mixed.append_row()[0] = Value::integer(3);
    EXPECT_EQ(lineage(mixed), (std::vector<std::uint64_t>{0, 5, 0}));

    Batch none(make_schema({"a"}));
    none.append_row()[0] = Value::integer(1);
    EXPECT_FALSE(none.has_lineage()) << "batches without lineage hold no ids at all";
    EXPECT_EQ(none.memory_bytes(), Batch(make_schema({"a"}), 1).memory_bytes());
}

TEST(ArenaTest, CopiesStayValidAcrossBlocks) {
    Arena arena(64);
    std::vector<std::string_view> views;
    for (int i = 0; i < 500; ++i)
        views.push_back(arena.copy("value number " + std::to_string(i)));
    for (int i = 0; i < 500; ++i)
        EXPECT_EQ(views[i], "value number " + std::to_string(i));
    EXPECT_GT(arena.reserved_bytes(), 64u);
    EXPECT_TRUE(arena.copy("").empty());

    auto* ints = arena.allocate_array<std::int64_t>(4);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(ints) % alignof(std::int64_t), 0u);
    // A request larger than the next block still fits.
    void* big = arena.allocate(1 << 20);
    EXPECT_NE(big, nullptr);
}

TEST(ArenaTest, UsedBytesCountWhatWasHandedOutAndTheEndsOfFullBlocks) {
    Arena arena(100);
    EXPECT_EQ(arena.used_bytes(), 0u);
    arena.allocate(60, 1);
    EXPECT_EQ(arena.used_bytes(), 60u);
    EXPECT_EQ(arena.reserved_bytes(), 100u);
    arena.allocate(30, 1);
    EXPECT_EQ(arena.used_bytes(), 90u);
    // Does not fit: a second block (200 bytes); the first one's last 10 count as used.
    arena.allocate(50, 1);
    EXPECT_EQ(arena.used_bytes(), 150u);
    EXPECT_EQ(arena.reserved_bytes(), 300u);
}

} // namespace
} // namespace conveyor
