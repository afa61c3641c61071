// The expression functions a Miller user reaches for (fmtnum, sub, capitalize, typeof, the
// whitespace cleaners, Miller's own names for ours, c ? a : b, **), checked against what
// Miller 6 gives, and the arithmetic corners the Miller round found.

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

TEST(MillerNames, MillersFunctionNamesCallOurs) {
    const char* rec = R"({"name": "Ann Lee", "ts": 1700000000, "x": 3.14159})";
    EXPECT_EQ(eval("toupper(name)", rec), "\"ANN LEE\"");
    EXPECT_EQ(eval("tolower(name)", rec), "\"ann lee\"");
    EXPECT_EQ(eval("strlen('h\u00e9')", rec), "2");
    EXPECT_EQ(eval("sub(name, 'n', 'N')", rec), "\"ANn Lee\"");
    EXPECT_EQ(eval("gsub(name, 'e', 'E')", rec), "\"Ann LEE\"");
    EXPECT_EQ(eval("fmtnum(x, '%.2f')", rec), "\"3.14\"");
    EXPECT_EQ(eval("sec2gmt(ts)", rec), "\"2023-11-14T22:13:20Z\"");
    EXPECT_EQ(eval("gmt2sec('2023-11-14T22:13:20Z')", rec), "1700000000");
    EXPECT_EQ(eval("strftime(ts, '%Y-%m-%d')", rec), "\"2023-11-14\"");
    EXPECT_EQ(eval("strptime('2023-01-01', '%Y-%m-%d')", rec), "1672531200");
    EXPECT_EQ(eval("strip('  a b  ')", rec), "\"a b\"");
    EXPECT_EQ(eval("strrev(name)", rec), "\"eeL nnA\"");
    EXPECT_EQ(eval("systime() > 1700000000", rec), "true");
    // ssub is literal and replaces the first occurrence only; gsub and sub take regexes.
    EXPECT_EQ(eval("ssub('a.b.c', '.', '-')", rec), "\"a-b.c\"");
    EXPECT_EQ(eval("replace('a.b.c', '.', '-')", rec), "\"a-b-c\"");
    EXPECT_EQ(eval("replace_first('abc', 'x', '-')", rec), "\"abc\"");
    EXPECT_EQ(eval("regextract('abc123', '[0-9]+')", rec), "\"123\"");
    EXPECT_EQ(eval("splitax('1,2', ',')", rec), "[\"1\",\"2\"]");
    EXPECT_EQ(eval("boolean('true')", rec), "true");
    EXPECT_EQ(eval("strftime_local(0, '%H', 'Asia/Tokyo')", rec), "\"09\"");
    // A misspelt Miller name is suggested like ours.
    EXPECT_EQ(eval("touper(name)", rec)
                  .rfind("compile error: unknown function 'touper' (did you "
                         "mean 'toupper'?)",
                         0),
              0u);
    // An arity error names the function as written, then the signature it stands for.
    EXPECT_THAT(eval("toupper(name, 2)", rec),
                StartsWith("compile error: toupper() takes 1 argument, got 2: upper(s)"));
    // Every alias names a function there is.
    for (const FunctionAlias& a : function_aliases()) {
        bool found = false;
        for (const FunctionInfo& f : functions())
            found = found || f.name == a.name;
        EXPECT_TRUE(found) << a.alias << " -> " << a.name;
    }
}

TEST(Typeof, MillersNamesForTheKindsOfValueAndTheEmptinessTests) {
    const char* rec =
        R"({"i": 1, "f": 1.5, "b": true, "s": "x", "e": "", "n": null, "l": [1], "m": {"k": 1}})";
    EXPECT_EQ(eval("[typeof(i), typeof(f), typeof(b), typeof(s), typeof(e), typeof(n), "
                   "typeof(l), typeof(m), typeof(gone)]",
                   rec),
              "[\"int\",\"float\",\"boolean\",\"string\",\"empty\",\"empty\",\"array\","
              "\"map\",\"absent\"]");
    EXPECT_EQ(eval("[is_present(n), is_present(gone), is_absent(gone), is_absent(e)]", rec),
              "[true,false,true,false]");
    EXPECT_EQ(eval("[is_empty(e), is_empty(n), is_empty(s), is_empty(gone)]", rec),
              "[true,true,false,false]");
    EXPECT_EQ(eval("[is_not_empty(s), is_not_empty(i), is_not_empty(e), is_not_empty(gone)]", rec),
              "[true,true,false,false]");
}

TEST(Conditional, QuestionColonIsIfAndNestsToTheRight) {
    const char* rec = R"({"amount": 50, "n": null})";
    EXPECT_EQ(eval("amount > 100 ? 'big' : 'small'", rec), "\"small\"");
    EXPECT_EQ(eval("amount > 100 ? 'big' : amount > 10 ? 'mid' : 'small'", rec), "\"mid\"");
    EXPECT_EQ(eval("(amount > 10 ? 1 : 2) + 1", rec), "2");
    // Null counts as false, as in if(); the branch not taken is not evaluated.
    EXPECT_EQ(eval("n > 1 ? 'yes' : 'no'", rec), "\"no\"");
    EXPECT_EQ(eval("amount > 1 ? 'ok' : int('x')", rec), "\"ok\"");
    // It binds looser than or: a or b ? x : y is (a or b) ? x : y.
    EXPECT_EQ(eval("amount > 100 or amount < 60 ? 'out' : 'in'", rec), "\"out\"");
}

TEST(Power, StarStarAndTheMathFunctions) {
    EXPECT_EQ(eval("2 ** 10"), "1024");
    EXPECT_EQ(eval("-2 ** 2"), "-4");
    EXPECT_EQ(eval("2 ** 3 ** 2"), "512");
    EXPECT_EQ(eval("2 ** -1"), "0.5");
    EXPECT_EQ(eval("(-2) ** 3"), "-8");
    EXPECT_EQ(eval("3 * 2 ** 2"), "12");
    EXPECT_EQ(eval("pow(2, 0.5)"), "1.4142135623730951");
    EXPECT_EQ(eval("2 ** 63"), "9223372036854775808.0") << "past int64: a float";
    EXPECT_EQ(eval("sqrt(16)"), "4.0");
    EXPECT_EQ(eval("exp(0)"), "1.0");
    EXPECT_EQ(eval("log(1)"), "0.0");
    EXPECT_EQ(eval("log10(1000)"), "3.0");
    EXPECT_EQ(eval("sqrt(null)"), "null");
    EXPECT_THAT(eval("sqrt(-1)"), StartsWith("error: sqrt(number -1) is not a finite number"));
    EXPECT_THAT(eval("log(0)"), StartsWith("error: log(number 0) is not a finite number"));
    EXPECT_THAT(eval("pow(10, 400)"), StartsWith("error: pow("));
}

TEST(TextCut, WhitespaceTruncateReverseAndPadRight) {
    const char* rec = R"({"s": " \t a  b \n", "u": "h\u00e9llo"})";
    EXPECT_EQ(eval("lstrip(s)", rec), "\"a  b \\n\"");
    EXPECT_EQ(eval("rstrip(s)", rec), "\" \\t a  b\"");
    EXPECT_EQ(eval("collapse_whitespace(s)", rec), "\" a b \"");
    EXPECT_EQ(eval("clean_whitespace(s)", rec), "\"a b\"");
    EXPECT_EQ(eval("truncate(u, 2)", rec), "\"h\u00e9\"");
    EXPECT_EQ(eval("truncate(u, 99)", rec), "\"h\u00e9llo\"");
    EXPECT_THAT(eval("truncate(u, -1)", rec), StartsWith("error: truncate(): the length"));
    EXPECT_EQ(eval("reverse(u)", rec), "\"oll\u00e9h\"");
    EXPECT_EQ(eval("reverse([1, 'a', null])", rec), "[null,\"a\",1]");
    EXPECT_EQ(eval("pad_right('ab', 4, '.')", rec), "\"ab..\"");
    EXPECT_EQ(eval("pad_right(u, 3)", rec), "\"h\u00e9llo\"");
    EXPECT_EQ(eval("[lstrip(null), truncate(null, 1), reverse(null)]", rec), "[null,null,null]");
}

} // namespace
} // namespace conveyor::expr
