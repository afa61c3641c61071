// postgres.read's decoding of the server's text output and postgres.write's COPY text, without
// a server (the server round trips are in tests/integration/postgres_*_test.cpp).

#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "pg_values.hpp"

#include <gtest/gtest.h>

namespace conveyor::plugins::postgres {
namespace {

std::string decoded(const PgDecoder& d, std::string_view text) {
    Arena arena;
    json::Parser parser;
    Result<Value> v = d.decode(text, arena, parser);
    if (!v) return "ERROR " + v.error().message;
    std::string out = std::string(to_string(v->kind())) + " ";
    json::append_value(out, *v);
    return out;
}

PgDecoder of(PgDecoder::Kind kind, NumericAs numeric = NumericAs::Auto) {
    PgDecoder d;
    d.kind = kind;
    d.numeric = numeric;
    return d;
}

TEST(PgValues, ScalarsBecomeTheirKinds) {
    using K = PgDecoder::Kind;
    EXPECT_EQ(decoded(of(K::Int), "-9007199254740993"), "int -9007199254740993");
    EXPECT_EQ(decoded(of(K::Float), "0.1"), "double 0.1");
    EXPECT_EQ(decoded(of(K::Float), "NaN"), "string \"NaN\"");
    EXPECT_EQ(decoded(of(K::Bool), "t"), "bool true");
    EXPECT_EQ(decoded(of(K::Timestamp), "2024-01-02 03:04:05.25"),
              "string \"2024-01-02T03:04:05.25\"");
    EXPECT_EQ(decoded(of(K::TimestampTz), "2024-01-02 03:04:05+00"),
              "string \"2024-01-02T03:04:05Z\"");
    EXPECT_EQ(decoded(of(K::TimestampTz), "infinity"), "string \"infinity\"");
    EXPECT_EQ(decoded(of(K::Json), "{\"a\": [1, null]}"), "object {\"a\":[1,null]}");
}

TEST(PgValues, NumericIsANumberWhenADoubleHoldsItExactly) {
    using K = PgDecoder::Kind;
    EXPECT_EQ(decoded(of(K::Numeric), "12.50"), "double 12.50");
    EXPECT_EQ(decoded(of(K::Numeric), "123456789012345"), "double 123456789012345");
    EXPECT_EQ(decoded(of(K::Numeric), "1234567890123456"), "string \"1234567890123456\"");
    EXPECT_EQ(decoded(of(K::Numeric), "0.000000000000000000001"), "double 0.000000000000000000001");
    EXPECT_EQ(decoded(of(K::Numeric, NumericAs::String), "1.5"), "string \"1.5\"");
    EXPECT_EQ(decoded(of(K::Numeric, NumericAs::Number), "1234567890123456.7"),
              "double 1234567890123456.7");
    EXPECT_EQ(decoded(of(K::Numeric), "NaN"), "string \"NaN\"");
    EXPECT_TRUE(numeric_fits_double("-100000000000000"));
    EXPECT_FALSE(numeric_fits_double("1000000000000000"));
}

TEST(PgValues, ArraysBecomeListsWithQuotingNullsAndNesting) {
    PgDecoder text_array = of(PgDecoder::Kind::Array);
    text_array.element = std::make_shared<PgDecoder>(of(PgDecoder::Kind::Text));
    EXPECT_EQ(decoded(text_array, R"({"x y","q\"uo\\te",NULL,plain,"NULL"})"),
              R"(array ["x y","q\"uo\\te",null,"plain","NULL"])");
    EXPECT_EQ(decoded(text_array, "{}"), "array []");
    PgDecoder ints = of(PgDecoder::Kind::Array);
    ints.element = std::make_shared<PgDecoder>(of(PgDecoder::Kind::Int));
    EXPECT_EQ(decoded(ints, "{{1,2},{3,NULL}}"), "array [[1,2],[3,null]]");
    EXPECT_EQ(decoded(ints, "[0:1]={5,6}"), "array [5,6]");
    EXPECT_EQ(decoded(ints, "{1,2"), "ERROR malformed array from the server: {1,2");
}

std::string copy_field(const std::string& json, PgColumnKind column) {
    Arena arena;
    json::Parser parser;
    Result<Value> v = parser.parse(json, arena);
    EXPECT_TRUE(v.ok()) << json;
    std::string out;
    std::string scratch;
    append_copy_field(out, *v, column, scratch);
    return out;
}

TEST(PgValues, CopyTextEscapesAndWritesListsAsArraysOrJson) {
    EXPECT_EQ(copy_field("null", PgColumnKind::Plain), "\\N");
    EXPECT_EQ(copy_field("\"a\\tb\\\\c\\nd\"", PgColumnKind::Plain), "a\\tb\\\\c\\nd");
    EXPECT_EQ(copy_field("true", PgColumnKind::Plain), "true");
    EXPECT_EQ(copy_field("true", PgColumnKind::Json), "true");
    EXPECT_EQ(copy_field("12.50", PgColumnKind::Plain), "12.50");
    EXPECT_EQ(copy_field("\"héllo\"", PgColumnKind::Json), "\"héllo\"");
    EXPECT_EQ(copy_field("[1,null,\"x \\\"y\\\"\"]", PgColumnKind::Array),
              "{1,NULL,\"x \\\\\"y\\\\\"\"}");
    EXPECT_EQ(copy_field("[1,{\"a\":2}]", PgColumnKind::Plain), "[1,{\"a\":2}]");
    EXPECT_EQ(copy_field("{\"a\":\"t\\tb\"}", PgColumnKind::Json), "{\"a\":\"t\\\\tb\"}");

    // Number text CSV read as a number (".5", "5.") is valid JSON in a json column and kept as
    // it came in a numeric one, which PostgreSQL reads.
    std::string out;
    std::string scratch;
    for (const auto& [text, json] :
         {std::pair{".5", "0.5"}, std::pair{"-.5", "-0.5"}, std::pair{"5.", "5.0"}}) {
        out.clear();
        append_copy_field(out, Value::number_text(text), PgColumnKind::Json, scratch);
        EXPECT_EQ(out, json);
        out.clear();
        append_copy_field(out, Value::number_text(text), PgColumnKind::Plain, scratch);
        EXPECT_EQ(out, text);
    }
}

TEST(PgValues, ATimestampTzOfAYearPastNineThousandNineHundredNinetyNineIsIso8601Too) {
    // The server writes such a year with five digits; the date's end was looked for at a
    // fixed place, so "10000-01-02 03:04:05+00" came through as the server's text.
    using K = PgDecoder::Kind;
    EXPECT_EQ(decoded(of(K::TimestampTz), "10000-01-02 03:04:05.5+00"),
              "string \"10000-01-02T03:04:05.5Z\"");
    EXPECT_EQ(decoded(of(K::Timestamp), "294276-12-31 23:59:59"),
              "string \"294276-12-31T23:59:59\"");
    EXPECT_EQ(decoded(of(K::TimestampTz), "0044-03-15 12:00:00+00 BC"),
              "string \"0044-03-15 12:00:00+00 BC\"");
}

TEST(PgValues, ATimeWithAnOffsetGoesIntoATimestampColumnInUtc) {
    // A timestamp (without time zone) column ignores an offset in its input: 03:04:05+02:00
    // was stored as 03:04:05, two hours off, without a word.
    EXPECT_EQ(copy_field("\"2024-01-02T03:04:05+02:00\"", PgColumnKind::Timestamp),
              "2024-01-02T01:04:05Z");
    EXPECT_EQ(copy_field("\"2024-01-02 03:04:05.25-05:30\"", PgColumnKind::Timestamp),
              "2024-01-02T08:34:05.25Z");
    EXPECT_EQ(copy_field("\"2024-01-02T03:04:05Z\"", PgColumnKind::Timestamp),
              "2024-01-02T03:04:05Z");
    // Without an offset, or in a spelling conveyor does not read, the server decides.
    EXPECT_EQ(copy_field("\"2024-01-02 03:04:05\"", PgColumnKind::Timestamp),
              "2024-01-02 03:04:05");
    EXPECT_EQ(copy_field("\"2024-01-02\"", PgColumnKind::Timestamp), "2024-01-02");
    EXPECT_EQ(copy_field("\"infinity\"", PgColumnKind::Timestamp), "infinity");
    // Other columns get the text as it is.
    EXPECT_EQ(copy_field("\"2024-01-02T03:04:05+02:00\"", PgColumnKind::Plain),
              "2024-01-02T03:04:05+02:00");
}

} // namespace
} // namespace conveyor::plugins::postgres
