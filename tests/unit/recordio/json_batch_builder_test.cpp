// BatchBuilder: a batch reserves about what its records take, whatever the blocks before it
// were; records go to the columns of their keys, whether or not they all share one key order.

#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/recordio/json_batch_builder.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

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

/// The batch of `records` as "name=value" rows ("-" for an absent field), its records added
/// with the same-keys hint `hint` (what json.read's chunks pass), or without one.
std::vector<std::string> built(const std::vector<std::string>& records, bool hint) {
    conveyor::json::Parser parser;
    BatchBuilder builder;
    for (const std::string& text : records) {
        const std::string padded = text + std::string(conveyor::json::Parser::kPadding, ' ');
        const Result<Value> v = parser.parse_padded({padded.data(), text.size()}, builder.arena());
        EXPECT_TRUE(v.ok()) << text;
        EXPECT_TRUE(builder.add(*v, hint && parser.same_keys_as_last())) << text;
    }
    const Batch batch = builder.build(false);
    std::vector<std::string> rows;
    for (std::size_t r = 0; r < batch.rows(); ++r) {
        std::string row;
        for (std::size_t c = 0; c < batch.width(); ++c) {
            const Value& v = batch.row(r)[c];
            row += std::string(c ? " " : "") + std::string(batch.schema().name(c)) + "=" +
                   (v.is_absent() ? "-" : conveyor::json::to_string(v));
        }
        rows.push_back(row);
    }
    return rows;
}

TEST(BatchBuilder, RecordsGoToTheColumnsOfTheirKeysInEveryShapeOfBatch) {
    using Rows = std::vector<std::string>;
    // One key order throughout: members go to columns as they are.
    EXPECT_EQ(built({R"({"a":1,"b":2})", R"({"a":3,"b":4})"}, true), (Rows{"a=1 b=2", "a=3 b=4"}));
    // A key more, or fewer, after the first: placed by their ids.
    EXPECT_EQ(built({R"({"a":1,"b":2})", R"({"a":3,"b":4})", R"({"a":5,"x":6,"b":7})"}, true),
              (Rows{"a=1 x=- b=2", "a=3 x=- b=4", "a=5 x=6 b=7"}));
    EXPECT_EQ(built({R"({"a":1,"b":2})", R"({"b":4})", R"({"b":5})"}, true),
              (Rows{"a=1 b=2", "a=- b=4", "a=- b=5"}));
    // A duplicate key in every record: the last value, in the column of the key.
    EXPECT_EQ(built({R"({"a":1,"b":2,"a":3})", R"({"a":4,"b":5,"a":6})"}, true),
              (Rows{"a=3 b=2", "a=6 b=5"}));
    for (const bool hint : {false, true})
        EXPECT_EQ(built({R"({"b":1})", R"({"a":2,"b":3})", R"({"a":4,"b":5})"}, hint),
                  (Rows{"a=- b=1", "a=2 b=3", "a=4 b=5"}));
}

} // namespace
} // namespace conveyor::recordio::json
