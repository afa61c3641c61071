// BatchBuilder's arenas: a batch reserves about what its records take, whatever the blocks
// before it were.

#include "conveyor/format/json_parser.hpp"
#include "json_batch_builder.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor::plugins::json {
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

} // namespace
} // namespace conveyor::plugins::json
