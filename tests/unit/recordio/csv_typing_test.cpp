#include "conveyor/recordio/csv_typing.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor::recordio::csv {
namespace {

TEST(CsvTyping, IntegersBecomeInts) {
    for (const auto& [text, expected] : std::initializer_list<std::pair<const char*, std::int64_t>>{
             {"0", 0},
             {"7", 7},
             {"42", 42},
             {"-1", -1},
             {"-42", -42},
             {"1234567890", 1234567890},
             {"9223372036854775807", INT64_MAX},
             {"-9223372036854775808", INT64_MIN}}) {
        const Value v = infer_value(text, false);
        ASSERT_EQ(v.kind(), Kind::Int) << text;
        EXPECT_EQ(v.as_int(), expected) << text;
    }
}

TEST(CsvTyping, DecimalsKeepTheirTextWithoutCopying) {
    for (const char* text : {"1.5", "0.0460", "-0.5", "1e3", "1E3", "1e+3", "1e-3", "2.50e10", "-0",
                             "0.0", "1e308", "1.7976931348623157e308", "1e-999", "0.00001e310"}) {
        const std::string_view view(text);
        const Value v = infer_value(view, false);
        ASSERT_EQ(v.kind(), Kind::Double) << text;
        ASSERT_TRUE(v.has_number_text()) << text;
        EXPECT_EQ(v.number_text(), view) << text;
        EXPECT_EQ(v.number_text().data(), view.data()) << "must view the input, not copy it";
    }
    EXPECT_DOUBLE_EQ(infer_value("0.0460", false).as_double(), 0.046);
}

TEST(CsvTyping, APointWithNoDigitBeforeOrAfterItIsStillADecimal) {
    // As Python, pandas, DuckDB and Miller read them; the text is kept as written.
    for (const auto& [text, expected] :
         std::initializer_list<std::pair<const char*, double>>{{".5", 0.5},
                                                               {"-.5", -0.5},
                                                               {"5.", 5.0},
                                                               {"-5.", -5.0},
                                                               {"0.", 0.0},
                                                               {".25e2", 25.0},
                                                               {"1.e5", 1e5}}) {
        const Value v = infer_value(text, false);
        ASSERT_EQ(v.kind(), Kind::Double) << text;
        ASSERT_TRUE(v.has_number_text()) << text;
        EXPECT_EQ(v.number_text(), text);
        EXPECT_EQ(v.as_double(), expected) << text;
        EXPECT_EQ(classify_number(text), NumberShape::Decimal) << text;
    }
    EXPECT_DOUBLE_EQ(infer_value("0.00001e310", false).as_double(), 1e305);
}

TEST(CsvTyping, NonNumbersStayStrings) {
    for (const char* text : {"007",
                             "00",
                             "-007",
                             "+1",
                             "+1.5",
                             "1e999",
                             "-1e999",
                             "1.8e308",
                             "9e99999999999999999",
                             ".",
                             "-.",
                             ".e5",
                             "..5",
                             "5..",
                             "00.5",
                             "1e",
                             "1e+",
                             "-",
                             "--1",
                             "1-",
                             "0x10",
                             "1_000",
                             " 1",
                             "1 ",
                             "1,5",
                             "NaN",
                             "inf",
                             "-inf",
                             "Infinity",
                             "true",
                             "false",
                             "null",
                             "abc",
                             "9223372036854775808",
                             "-9223372036854775809",
                             "123456789012345678901234567890",
                             "2024-01-15",
                             "1.2.3",
                             "01.5",
                             "١٢٣"}) {
        const std::string_view view(text);
        const Value v = infer_value(view, false);
        ASSERT_EQ(v.kind(), Kind::String) << text;
        EXPECT_EQ(v.as_string(), view) << text;
        EXPECT_EQ(v.as_string().data(), view.data()) << text;
    }
}

TEST(CsvTyping, EmptyUnquotedIsNullEmptyQuotedIsEmptyString) {
    EXPECT_EQ(infer_value("", false).kind(), Kind::Null);
    const Value quoted = infer_value("", true);
    ASSERT_EQ(quoted.kind(), Kind::String);
    EXPECT_EQ(quoted.as_string(), "");
}

TEST(CsvTyping, QuotedValuesAreTypedLikeUnquotedOnes) {
    EXPECT_EQ(infer_value("12", true).kind(), Kind::Int);
    EXPECT_EQ(infer_value("1.5", true).kind(), Kind::Double);
    EXPECT_EQ(infer_value("007", true).kind(), Kind::String);
}

TEST(CsvTyping, ClassifyNumber) {
    std::int64_t i = -1;
    EXPECT_EQ(classify_number("123", &i), NumberShape::Integer);
    EXPECT_EQ(i, 123);
    EXPECT_EQ(classify_number("-0"), NumberShape::Decimal);
    EXPECT_EQ(classify_number("0"), NumberShape::Integer);
    EXPECT_EQ(classify_number("1.25e-3"), NumberShape::Decimal);
    EXPECT_EQ(classify_number(""), NumberShape::None);
    EXPECT_EQ(classify_number("1e309"), NumberShape::None);
    EXPECT_EQ(classify_number("99999999999999999999"), NumberShape::None);
}

} // namespace
} // namespace conveyor::recordio::csv
