// BatchBuilder's arenas: a batch reserves about what its records take, whatever the blocks
// before it were.

#include "conveyor/format/json_parser.hpp"
#include "conveyor/recordio/json_batch_builder.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor::recordio::json {
namespace {

TEST(BatchBuilder, ABatchReservesAboutWhatItsRecordsTake) {
    // 1024 records that take a little more than 64 + 128 + 256 KiB (the first batch's blocks):
    // sized by what that batch reserved, every later batch reserved three times what it used.
    const std::string record =
        R"({"id":123456,"name":"a name of some length","email":"someone@example.com",)"
        R"("amount":1234.56,"text":")" +
        std::string(200, 'x') + R"("})";
    conveyor::json::Parser parser;
    Arena alone(1 << 24); // one block: what the records take
    for (int i = 0; i < 1024; ++i)
        ASSERT_TRUE(parser.parse(record, alone).ok());
    const std::size_t need = alone.used_bytes();
    ASSERT_GT(need, std::size_t{448} << 10);
    ASSERT_LT(need, std::size_t{600} << 10);

    BatchBuilder builder;
    for (int b = 0; b < 4; ++b) {
        for (int i = 0; i < 1024; ++i) {
            const Result<Value> v = parser.parse(record, builder.arena());
            ASSERT_TRUE(v.ok());
            ASSERT_TRUE(builder.add(*v));
        }
        const Batch batch = builder.build(false);
        ASSERT_EQ(batch.rows(), 1024u);
        if (b == 0) continue; // the first grows from 64 KiB
        EXPECT_GE(batch.payload_bytes(), need) << "batch " << b;
        EXPECT_LE(batch.payload_bytes(), need + need / 8 + (64 << 10)) << "batch " << b;
    }
}

// Found by fuzz_json_reader under UBSan: a record repeating the previous one's keys compared
// them with memcmp, and an empty key (a null view from the parser) reached it.
TEST(BatchBuilder, RepeatedEmptyKeysCompareWithoutTouchingTheirText) {
    conveyor::json::Parser parser;
    BatchBuilder builder;
    for (const char* text : {R"({"":1,"a":2})", R"({"":3,"a":4})", R"({"":5})", R"({"":6})"}) {
        const Result<Value> v = parser.parse(text, builder.arena());
        ASSERT_TRUE(v.ok()) << text;
        ASSERT_TRUE(builder.add(*v)) << text;
    }
    const Batch batch = builder.build(false);
    ASSERT_EQ(batch.rows(), 4u);
    ASSERT_EQ(batch.schema().size(), 2u);
    EXPECT_EQ(batch.schema().name(0), "");
    EXPECT_EQ(batch.row(1)[0].as_int(), 3);
    EXPECT_EQ(batch.row(3)[0].as_int(), 6);
    EXPECT_TRUE(batch.row(3)[1].is_absent());
}

} // namespace
} // namespace conveyor::recordio::json
