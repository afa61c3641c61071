#include "conveyor/format/column_types.hpp"
#include "conveyor/format/json_writer.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using coltype::ColumnType;

/// `v` converted to `type`, as JSON text, or "ERROR: why".
std::string as(const Value& v, ColumnType type) {
    Arena arena;
    std::string why;
    std::optional<Value> out = coltype::convert(v, type, arena, &why);
    if (!out) return "ERROR: " + why;
    return json::to_string(*out);
}

TEST(ColumnTypes, StringGivesBackANumbersTextExactly) {
    EXPECT_EQ(as(Value::integer(1234), ColumnType::String), "\"1234\"");
    EXPECT_EQ(as(Value::number_text("219.0"), ColumnType::String), "\"219.0\"");
    EXPECT_EQ(as(Value::string("01234"), ColumnType::String), "\"01234\"");
    EXPECT_EQ(as(Value::boolean(true), ColumnType::String), "\"true\"");
}

TEST(ColumnTypes, IntAcceptsIntegersAndWholeNumbersOnly) {
    EXPECT_EQ(as(Value::string(" 42 "), ColumnType::Int), "42");
    EXPECT_EQ(as(Value::string("+7"), ColumnType::Int), "7");
    EXPECT_EQ(as(Value::string("2.0"), ColumnType::Int), "2");
    EXPECT_EQ(as(Value::real(3.0), ColumnType::Int), "3");
    EXPECT_EQ(as(Value::string("1.5"), ColumnType::Int), "ERROR: '1.5' is not an integer");
    EXPECT_EQ(as(Value::real(1.5), ColumnType::Int), "ERROR: '1.5' is not a whole number");
    EXPECT_EQ(as(Value::string("abc"), ColumnType::Int), "ERROR: 'abc' is not an integer");
    EXPECT_EQ(as(Value::string("99999999999999999999"), ColumnType::Int).substr(0, 6), "ERROR:");
}

TEST(ColumnTypes, FloatAcceptsAnyNumber) {
    EXPECT_EQ(as(Value::integer(3), ColumnType::Float), "3.0");
    EXPECT_EQ(as(Value::string("2.5e3"), ColumnType::Float), "2500.0");
    EXPECT_EQ(as(Value::string("nan"), ColumnType::Float), "ERROR: 'nan' is not a number");
    EXPECT_EQ(as(Value::string(""), ColumnType::Float), "ERROR: '' is not a number");
}

TEST(ColumnTypes, BoolAcceptsTheUsualSpellings) {
    for (const char* t : {"true", "TRUE", "1", "yes", "On", "t"})
        EXPECT_EQ(as(Value::string(t), ColumnType::Bool), "true") << t;
    for (const char* f : {"false", "0", "no", "OFF", "f"})
        EXPECT_EQ(as(Value::string(f), ColumnType::Bool), "false") << f;
    EXPECT_EQ(as(Value::integer(1), ColumnType::Bool), "true");
    EXPECT_EQ(as(Value::string("maybe"), ColumnType::Bool), "ERROR: 'maybe' is not true or false");
}

TEST(ColumnTypes, TimestampsAreNormalisedToUtcIso8601) {
    EXPECT_EQ(as(Value::string("2024-05-01T12:00:00+02:00"), ColumnType::Timestamp),
              "\"2024-05-01T10:00:00Z\"");
    EXPECT_EQ(as(Value::string("2024-05-01"), ColumnType::Timestamp), "\"2024-05-01T00:00:00Z\"");
    EXPECT_EQ(as(Value::integer(0), ColumnType::Timestamp), "\"1970-01-01T00:00:00Z\"");
    EXPECT_EQ(as(Value::real(1.5), ColumnType::Timestamp), "\"1970-01-01T00:00:01.5Z\"");
    EXPECT_EQ(as(Value::string("yesterday"), ColumnType::Timestamp).substr(0, 37),
              "ERROR: 'yesterday' is not a timestamp");
}

TEST(ColumnTypes, NullAndAbsentStayAsTheyAre) {
    for (ColumnType t : {ColumnType::String, ColumnType::Int, ColumnType::Float, ColumnType::Bool,
                         ColumnType::Timestamp}) {
        Arena arena;
        EXPECT_TRUE(coltype::convert(Value::null(), t, arena, nullptr)->kind() == Kind::Null);
        EXPECT_TRUE(coltype::convert(Value::absent(), t, arena, nullptr)->is_absent());
    }
}

TEST(ColumnTypes, NamesParseWithTheirAliases) {
    EXPECT_EQ(coltype::parse("integer"), ColumnType::Int);
    EXPECT_EQ(coltype::parse("number"), ColumnType::Float);
    EXPECT_EQ(coltype::parse("boolean"), ColumnType::Bool);
    EXPECT_FALSE(coltype::parse("date"));
}

} // namespace
} // namespace conveyor
