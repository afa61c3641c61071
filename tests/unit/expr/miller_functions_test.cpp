// The expression functions a Miller user reaches for (fmtnum, sub, capitalize), checked
// against what Miller 6 gives, and the arithmetic corners the Miller round found.

#include "conveyor/expr/expression.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor::expr {
namespace {

using ::testing::StartsWith;

/// `text` evaluated against the record `json_object`, as compact JSON, or "error: ...".
std::string eval(std::string_view text, std::string_view json_object = "{}") {
    Arena arena;
    json::Parser parser;
    auto record = parser.parse(json_object, arena);
    if (!record) return "bad record";
    std::vector<std::string> names;
    std::vector<Value> row;
    for (const Member& m : record->as_object()) {
        names.emplace_back(m.key);
        row.push_back(m.value);
    }
    auto e = Expression::compile(text);
    if (!e) return "compile error: " + e.error().message;
    Evaluator ev(*e);
    ev.bind(make_schema(std::move(names)));
    auto v = ev.eval(row, arena);
    if (!v) return "error: " + ev.error();
    return json::to_string(*v);
}

TEST(FormatNumber, PrintfConversionsAsMillersFmtnum) {
    // mlr -n put 'end{print fmtnum(17, "%.2f")}' and so on: no function wrote 17.00.
    EXPECT_EQ(eval("format_number(17, '%.2f')"), "\"17.00\"");
    EXPECT_EQ(eval("format_number(17, '%08.3lf')"), "\"0017.000\"");
    EXPECT_EQ(eval("format_number(3.7, '%d')"), "\"3\"");
    EXPECT_EQ(eval("format_number(-3.5, '%d')"), "\"-3\"");
    EXPECT_EQ(eval("format_number(17, '%x')"), "\"11\"");
    EXPECT_EQ(eval("format_number(3.14159, '%.3e')"), "\"3.142e+00\"");
    EXPECT_EQ(eval("format_number(x, 'EUR %.2f (100%%)')", R"({"x":"2.5"})"),
              "\"EUR 2.50 (100%)\"");
    EXPECT_EQ(eval("format_number(x, '%.2f')", R"({"x":null})"), "null");
    EXPECT_EQ(eval("format_number(9223372036854775807, '%d')"), "\"9223372036854775807\"");
}

TEST(FormatNumber, WhatItCannotFormatIsARecordErrorSayingWhy) {
    EXPECT_THAT(
        eval("format_number(x, '%d')", R"({"x":"abc"})"),
        StartsWith("error: format_number() needs a number as argument 1, got string 'abc'"));
    EXPECT_THAT(eval("format_number(1, '%d%d')"),
                StartsWith("error: format_number(): '%d%d' has more than one conversion (write %% "
                           "for a %)"));
    EXPECT_THAT(
        eval("format_number(1, 'no conv')"),
        StartsWith("error: format_number(): 'no conv' has no conversion such as %.2f or %d"));
    EXPECT_THAT(
        eval("format_number(1, '%s')"),
        StartsWith("error: format_number(): '%s': the conversion at position 1 is not one of "
                   "d i o x X f F e E g G"));
    EXPECT_THAT(
        eval("format_number(1, '%1000d')"),
        StartsWith("error: format_number(): '%1000d': a width or precision of more than 999"));
    EXPECT_THAT(eval("format_number(1e300, '%d')"),
                StartsWith("error: format_number(): number 1e+300 is out of range for an integer "
                           "conversion"));
}

TEST(RegexReplaceFirst, OnlyTheFirstMatchAsMillersSub) {
    EXPECT_EQ(eval("regex_replace_first('ab.ab.AB', 'ab', 'X')"), "\"X.ab.AB\"");
    EXPECT_EQ(eval("regex_replace_first('foo123bar45', '([0-9]+)', '<\\\\1>')"),
              "\"foo<123>bar45\"");
    EXPECT_EQ(eval("regex_replace_first('none', '[0-9]', '#')"), "\"none\"");
    EXPECT_EQ(eval("regex_replace('ab.ab.AB', 'ab', 'X')"), "\"X.X.AB\"");
}

TEST(Capitalize, TheFirstCharacterUpperCased) {
    EXPECT_EQ(eval("capitalize('ab.ab')"), "\"Ab.ab\"");
    EXPECT_EQ(eval("capitalize('äpfel')"), "\"Äpfel\"");
    EXPECT_EQ(eval("capitalize('')"), "\"\"");
    EXPECT_EQ(eval("capitalize(x)", R"({"x":null})"), "null");
}

TEST(Arithmetic, IntegerCornersGiveNumbersNotTraps) {
    EXPECT_EQ(eval("x / -1", R"({"x":-9223372036854775808})"), "9223372036854775808.0");
    EXPECT_EQ(eval("x % -1", R"({"x":-9223372036854775808})"), "0");
    EXPECT_EQ(eval("round(1e300, 2)"), "1e+300");
    EXPECT_EQ(eval("floor(1234.5678, -2)"), "1200");
}

} // namespace
} // namespace conveyor::expr
