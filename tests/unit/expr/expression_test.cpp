#include "conveyor/expr/expression.hpp"
#include "conveyor/format/json_parser.hpp"
#include "conveyor/format/json_writer.hpp"
#include "conveyor/format/time_text.hpp"
#include "support/decimal_texts.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace conveyor::expr {
namespace {

/// One record given as a JSON object; expressions are evaluated against it and their results
/// shown as compact JSON ("null", "3", "\"abc\"", "[1,2]").
class Record {
public:
    explicit Record(std::string_view json_object = "{}") {
        json::Parser parser;
        auto v = parser.parse(json_object, arena_);
        EXPECT_TRUE(v.ok()) << json_object;
        std::vector<std::string> names;
        for (const Member& m : v->as_object()) {
            names.emplace_back(m.key);
            row_.push_back(m.value);
        }
        schema_ = make_schema(std::move(names));
    }

    /// The result as JSON text, or "error: <message>".
    std::string eval(std::string_view text) {
        auto e = Expression::compile(text);
        if (!e) return "compile error: " + e.error().message;
        Evaluator ev(*e);
        ev.bind(schema_);
        auto v = ev.eval(row_, arena_);
        if (!v) return "error: " + ev.error();
        return json::to_string(*v);
    }

    std::optional<bool> test(std::string_view text) {
        auto e = Expression::compile(text);
        EXPECT_TRUE(e.ok()) << text;
        if (!e) return std::nullopt;
        Evaluator ev(*e);
        ev.bind(schema_);
        return ev.test(row_, arena_);
    }

    const Schema& schema() const { return *schema_; }

private:
    Arena arena_;
    SchemaRef schema_;
    std::vector<Value> row_;
};

std::string compile_error(std::string_view text) {
    auto d = Expression::check(text);
    return d ? d->render(text) : std::string("(compiled)");
}

bool starts_with(const std::string& s, std::string_view p) {
    return s.rfind(p, 0) == 0;
}

// test() decides `field op literal` without walking the tree: it must say what eval() says,
// for every kind of value on either side, a missing field and a path into a nested one.
TEST(ExpressionTest, AFieldComparedWithALiteralTestsAsItEvaluates) {
    Record r(R"({"i":1000,"d":1854.94,"neg":-2.5,"z":0,"big":12345678901234567890,"s":"1000",)"
             R"("t":"abc","e":"","n":null,"b":true,"l":[1,2],"o":{"k":1000}})");
    const std::vector<std::string> fields = {"i", "d", "neg", "z", "big", "s",   "t",
                                             "e", "n", "b",   "l", "o",   "o.k", "missing"};
    const std::vector<std::string> literals = {
        "1000",  "999.99", "-3",   "0",    "'1000'",
        "'abc'", "''",     "null", "true", "12345678901234567891",
        "[1, 2]"};
    int compared = 0;
    for (const std::string op : {"==", "!=", "<", "<=", ">", ">="}) {
        for (const std::string& f : fields) {
            for (const std::string& lit : literals) {
                for (const std::string& text :
                     {f + " " + op + " " + lit, lit + " " + op + " " + f}) {
                    const std::string want = r.eval(text);
                    ASSERT_TRUE(want == "true" || want == "false") << text << ": " << want;
                    EXPECT_EQ(r.test(text), std::optional<bool>(want == "true")) << text;
                    ++compared;
                }
            }
        }
    }
    EXPECT_EQ(compared, 6 * 14 * 11 * 2);
}

TEST(ExpressionTest, LiteralsOfEveryKind) {
    Record r;
    EXPECT_EQ(r.eval("42"), "42");
    EXPECT_EQ(r.eval("-7"), "-7");
    EXPECT_EQ(r.eval("2.5"), "2.5");
    EXPECT_EQ(r.eval("'single'"), "\"single\"");
    EXPECT_EQ(r.eval("\"double\""), "\"double\"");
    EXPECT_EQ(r.eval("'it\\'s'"), "\"it's\"");
    EXPECT_EQ(r.eval("true"), "true");
    EXPECT_EQ(r.eval("false"), "false");
    EXPECT_EQ(r.eval("null"), "null");
    EXPECT_EQ(r.eval("[1, 'a', null]"), "[1,\"a\",null]");
    EXPECT_EQ(r.eval("[]"), "[]");
    EXPECT_EQ(r.eval("-9223372036854775808"), "-9223372036854775808");
}

TEST(ExpressionTest, PrecedenceAndParentheses) {
    Record r;
    EXPECT_EQ(r.eval("1 + 2 * 3"), "7");
    EXPECT_EQ(r.eval("(1 + 2) * 3"), "9");
    EXPECT_EQ(r.eval("10 - 4 - 3"), "3"); // left-associative
    EXPECT_EQ(r.eval("2 * 3 % 4"), "2");
    EXPECT_EQ(r.eval("-2 * 3"), "-6");
    EXPECT_EQ(r.eval("1 + 2 == 3"), "true");
    EXPECT_EQ(r.eval("true or false and false"), "true"); // and binds tighter than or
    EXPECT_EQ(r.eval("(true or false) and false"), "false");
    EXPECT_EQ(r.eval("not true or true"), "true"); // not binds tighter than or
    EXPECT_EQ(r.eval("not (true or true)"), "false");
    EXPECT_EQ(r.eval("null ?? 1 + 1"), "2");    // ?? below arithmetic
    EXPECT_EQ(r.eval("null ?? 3 > 2"), "true"); // ?? above comparison
    EXPECT_EQ(r.eval("1 < 2 and 3 < 4 or false"), "true");
}

TEST(ExpressionTest, IntegerArithmeticStaysIntegerUnlessItOverflowsOrDivides) {
    Record r;
    EXPECT_EQ(r.eval("7 + 3"), "10");
    EXPECT_EQ(r.eval("6 / 3"), "2");
    EXPECT_EQ(r.eval("7 / 2"), "3.5");
    EXPECT_EQ(r.eval("-7 % 3"), "2"); // the sign of the divisor
    EXPECT_EQ(r.eval("7 % -3"), "-2");
    EXPECT_EQ(r.eval("9223372036854775807 + 1"), "9223372036854775808.0");
    EXPECT_EQ(r.eval("2.5 * 2"), "5.0");
    EXPECT_TRUE(starts_with(r.eval("1 / 0"), "error: division by zero"));
    EXPECT_TRUE(starts_with(r.eval("1 % 0"), "error: modulo by zero"));
}

TEST(ExpressionTest, FieldsPathsIndicesAndBackquotes) {
    Record r(R"({"price": 2.5, "qty": 4, "user": {"address": {"city": "Lyon"}},
                 "tags": ["a", "b", "c"], "first name": "Ada", "a.b": 1, "a": {"b": 2}})");
    EXPECT_EQ(r.eval("price * qty"), "10.0");
    EXPECT_EQ(r.eval("user.address.city"), "\"Lyon\"");
    EXPECT_EQ(r.eval("tags[0]"), "\"a\"");
    EXPECT_EQ(r.eval("tags[-1]"), "\"c\"");
    EXPECT_EQ(r.eval("tags[9]"), "null");
    EXPECT_EQ(r.eval("`first name`"), "\"Ada\"");
    EXPECT_EQ(r.eval("`a.b`"), "1"); // the field whose name has a dot
    EXPECT_EQ(r.eval("a.b"), "2");   // the nested member
    EXPECT_EQ(r.eval("user.missing.x"), "null");
    EXPECT_EQ(r.eval("nope"), "null"); // a missing field reads as null
    EXPECT_EQ(r.eval("split('x,y', ',')[1]"), "\"y\"");
    EXPECT_EQ(r.eval("(user).address.city"), "\"Lyon\"");
}

TEST(ExpressionTest, FlattenedColumnsAreFoundByTheirDottedName) {
    Record r(R"({"user.city": "Oslo"})");
    EXPECT_EQ(r.eval("user.city"), "\"Oslo\"");
}

TEST(ExpressionTest, NullPropagatesThroughArithmeticAndStringFunctions) {
    Record r(R"({"a": null, "s": "x"})");
    EXPECT_EQ(r.eval("a + 1"), "null");
    EXPECT_EQ(r.eval("-a"), "null");
    EXPECT_EQ(r.eval("missing * 2"), "null");
    EXPECT_EQ(r.eval("upper(a)"), "null");
    EXPECT_EQ(r.eval("concat(s, a)"), "null");
    EXPECT_EQ(r.eval("substr(a, 1)"), "null");
    EXPECT_EQ(r.eval("a ?? 'default'"), "\"default\"");
    EXPECT_EQ(r.eval("coalesce(a, missing, s)"), "\"x\"");
    EXPECT_EQ(r.eval("is_null(a) and is_null(missing)"), "true");
}

TEST(ExpressionTest, ComparisonsNeverGiveNull) {
    Record r(R"({"amount": 1500, "text": "n/a", "n": null, "num_text": "1500"})");
    EXPECT_EQ(r.eval("amount >= 1000"), "true");
    EXPECT_EQ(r.eval("text >= 1000"), "false"); // a number and non-numeric text: false
    EXPECT_EQ(r.eval("text < 1000"), "false");
    EXPECT_EQ(r.eval("text == 1000"), "false");
    EXPECT_EQ(r.eval("text != 1000"), "true");
    EXPECT_EQ(r.eval("num_text == 1500"), "true"); // numeric text compares as a number
    EXPECT_EQ(r.eval("num_text > 999"), "true");
    EXPECT_EQ(r.eval("n < 5"), "false");
    EXPECT_EQ(r.eval("n == null"), "true");
    EXPECT_EQ(r.eval("missing == null"), "true");
    EXPECT_EQ(r.eval("n != null"), "false");
    EXPECT_EQ(r.eval("'abc' < 'abd'"), "true"); // text by bytes
    EXPECT_EQ(r.eval("'B' < 'a'"), "true");
    EXPECT_EQ(r.eval("1 == 1.0"), "true");
    EXPECT_EQ(r.eval("[1, 2] == [1, 2]"), "true");
}

TEST(ExpressionTest, IntegersBeyondInt64CompareByTheirDigits) {
    // 20-digit ids read from JSON are one double: id == 12345678901234567891 was true for
    // ...890 too, and a filter on one id kept both.
    Record r(R"({"id": 12345678901234567890, "text": "12345678901234567891",
                 "e": 1.2345678901234567e19, "n1": -12345678901234567891,
                 "n2": -12345678901234567890})");
    EXPECT_EQ(r.eval("id == 12345678901234567890"), "true");
    EXPECT_EQ(r.eval("id == 12345678901234567891"), "false");
    EXPECT_EQ(r.eval("id != 12345678901234567891"), "true");
    EXPECT_EQ(r.eval("id < 12345678901234567891"), "true");
    EXPECT_EQ(r.eval("id >= 12345678901234567891"), "false");
    EXPECT_EQ(r.eval("text > id"), "true");
    EXPECT_EQ(r.eval("id in [1, 12345678901234567891]"), "false");
    EXPECT_EQ(r.eval("id in [12345678901234567890]"), "true");
    EXPECT_EQ(r.eval("n1 < n2"), "true");
    EXPECT_EQ(r.eval("n1 == n2"), "false");
    // A number written with an exponent has no digits to tell: its double decides.
    EXPECT_EQ(r.eval("e == 12345678901234567891"), "true");
    EXPECT_EQ(r.eval("12345678901234567890 + 0"), "12345678901234567168.0");
}

TEST(ExpressionTest, NegatedIntegersBeyondInt64KeepTheirDigits) {
    // A unary minus made the literal one double: -12345678901234567891 <
    // -12345678901234567890 was false, while the same comparison on fields was true.
    Record r(R"({"id": 12345678901234567890, "n1": -12345678901234567891})");
    EXPECT_EQ(r.eval("-12345678901234567891 < -12345678901234567890"), "true");
    EXPECT_EQ(r.eval("-12345678901234567891 == -12345678901234567890"), "false");
    EXPECT_EQ(r.eval("n1 == -12345678901234567891"), "true");
    EXPECT_EQ(r.eval("n1 < -12345678901234567890"), "true");
    EXPECT_EQ(r.eval("- -12345678901234567891 == 12345678901234567891"), "true");
    // Negating a field keeps its digits too.
    EXPECT_EQ(r.eval("-id == -12345678901234567890"), "true");
    EXPECT_EQ(r.eval("-id > -12345678901234567891"), "true");
    EXPECT_EQ(r.eval("-n1 == 12345678901234567891"), "true");
    EXPECT_EQ(r.eval("-9223372036854775808"), "-9223372036854775808");
}

TEST(ExpressionTest, NumberTextAgainstAnIntegerOrdersAsItsDouble) {
    // Number text is ordered against an integer digit by digit (compare_short_decimal); on
    // either side of the operator the result is the double's, beyond 15 digits and with an
    // exponent as well (those take the double).
    for (const char* text :
         {"999.99", "1000.00", "1000.01", "1000.0", "-5.5", "-1000.000", "-999.5", "1e3",
          "1000.000000000001", "999.9999999999999999", "0.0", "-0.0"}) {
        const double d = std::strtod(text, nullptr);
        Record r(std::string("{\"a\":") + text + "}");
        const auto show = [](bool b) { return std::string(b ? "true" : "false"); };
        SCOPED_TRACE(text);
        EXPECT_EQ(r.eval("a >= 1000"), show(d >= 1000));
        EXPECT_EQ(r.eval("1000 <= a"), show(1000 <= d));
        EXPECT_EQ(r.eval("a < 1000"), show(d < 1000));
        EXPECT_EQ(r.eval("1000 > a"), show(1000 > d));
        EXPECT_EQ(r.eval("a > -1000"), show(d > -1000));
        EXPECT_EQ(r.eval("-1000 >= a"), show(-1000 >= d));
        EXPECT_EQ(r.eval("a <= 0"), show(d <= 0));
    }
}

TEST(ExpressionTest, NumericTextReadsAsFromCharsReadsIt) {
    // Short decimals are read without from_chars (core/short_decimal.hpp); whatever the path,
    // text must give what from_chars gives: an int64 when it is all digits, else the double.
    std::mt19937_64 rng(1000);
    std::vector<std::string> texts = {"0",
                                      "-0",
                                      "-0.0",
                                      "007",
                                      "00012.50",
                                      "1.5",
                                      "0.1",
                                      "+2.5",
                                      "1e3",
                                      "1.",
                                      ".5",
                                      "-.5",
                                      "+.5",
                                      ".25e2",
                                      "999999999999999.9",
                                      "42",
                                      "-7.25",
                                      "123456789012345",
                                      "1234567890123456",
                                      "9007199254740993",
                                      "4503599627370497.5"};
    for (int i = 0; i < 3000; ++i)
        texts.push_back(test::random_decimal_text(rng, 17));
    for (const std::string& t : texts) {
        // The reference: what filter.apply did before the shortcut.
        const std::string_view body = t[0] == '+' ? std::string_view(t).substr(1) : t;
        const char* const end = body.data() + body.size();
        std::string want;
        std::int64_t i = 0;
        double d = 0;
        if (auto r = std::from_chars(body.data(), end, i); r.ec == std::errc{} && r.ptr == end)
            want = json::to_string(Value::integer(i));
        else if (auto q = std::from_chars(body.data(), end, d); q.ec == std::errc{} && q.ptr == end)
            want = json::to_string(Value::real(d));
        else
            want = "error";
        // As a string field, and (when JSON takes it) as a JSON number keeping its text.
        Record as_text("{\"t\": \"" + t + "\"}");
        const std::string got = as_text.eval("t * 1");
        EXPECT_EQ(got.rfind("error", 0) == 0 ? "error" : got, want) << t;
        if (t[0] != '+' && t.back() != '.' && t[t[0] == '-'] != '.' &&
            !(t.size() > 1 && t[t[0] == '-'] == '0' && t[1 + (t[0] == '-')] != '.')) {
            Record as_number("{\"t\": " + t + "}");
            EXPECT_EQ(as_number.eval("t * 1"), want) << t;
        }
    }
}

TEST(ExpressionTest, APointWithNoDigitOnOneSideIsStillANumber) {
    // As literals...
    Record r(R"({"half": ".5", "neg": "-.5", "five": "5.", "comma": "1,50", "inf": "inf",
                 "hex": "0x1F", "dot": "."})");
    EXPECT_EQ(r.eval(".5"), "0.5");
    EXPECT_EQ(r.eval("5."), "5.0");
    EXPECT_EQ(r.eval("5. + 1"), "6.0");
    EXPECT_EQ(r.eval("[5.]"), "[5.0]");
    EXPECT_EQ(r.test("1 > .5"), true);
    // ... and as text read as a number by arithmetic and comparisons.
    EXPECT_EQ(r.eval("half * 2"), "1.0");
    EXPECT_EQ(r.eval("neg * 2"), "-1.0");
    EXPECT_EQ(r.eval("five * 2"), "10.0");
    EXPECT_EQ(r.test("half > .4"), true);
    EXPECT_EQ(r.test("half > 0"), true);
    EXPECT_EQ(r.test("neg < 0"), true);
    EXPECT_EQ(r.test("five == 5"), true);
    EXPECT_EQ(r.eval("float(half)"), "0.5");
    EXPECT_EQ(r.eval("is_number(half)"), "false") << "still text: is_number asks for the type";
    // A decimal comma, inf, hex and a point alone stay text.
    for (const char* text : {"comma", "inf", "hex", "dot"}) {
        EXPECT_EQ(r.eval(std::string(text) + " * 2").rfind("error", 0), 0u) << text;
        EXPECT_EQ(r.test(std::string(text) + " > 0"), false) << text;
    }
    // A dot followed by a name is a path step, as before: not a fraction.
    EXPECT_EQ(r.eval("5.x"), r.eval("(5).x"));
}

TEST(ExpressionTest, LogicShortCircuitsAndNullCountsAsFalse) {
    Record r(R"({"n": null, "x": 3})");
    EXPECT_EQ(r.eval("n and true"), "false");
    EXPECT_EQ(r.eval("n or true"), "true");
    EXPECT_EQ(r.eval("false and 1 / 0 == 1"), "false"); // right side never evaluated
    EXPECT_EQ(r.eval("true or 1 / 0 == 1"), "true");
    EXPECT_TRUE(starts_with(r.eval("x and true"), "error: expected true or false, got number 3"));
    EXPECT_EQ(r.test("n"), false);
    EXPECT_EQ(r.test("x > 2"), true);
    EXPECT_EQ(r.test("x"), std::nullopt);
}

TEST(ExpressionTest, InAndNotIn) {
    Record r(R"({"country": "DE", "n": 2, "tags": ["x", "y"]})");
    EXPECT_EQ(r.eval("country in ['DE', 'FR']"), "true");
    EXPECT_EQ(r.eval("country not in ['DE', 'FR']"), "false");
    EXPECT_EQ(r.eval("n in [1, 2, 3]"), "true");
    EXPECT_EQ(r.eval("'y' in tags"), "true");
    EXPECT_EQ(r.eval("missing in ['a']"), "false");
    EXPECT_EQ(r.eval("country in [lower('de'), upper('de')]"), "true");
}

TEST(ExpressionTest, RegexMatchesAnywhereUnlessAnchored) {
    Record r(R"({"email": "Ada@Example.com", "zip": 90210})");
    EXPECT_EQ(r.eval("email =~ 'example'"), "false");
    EXPECT_EQ(r.eval("email =~ '(?i)example'"), "true"); // case-insensitive
    EXPECT_EQ(r.eval("email =~ '@'"), "true");
    EXPECT_EQ(r.eval("email =~ '^@'"), "false");
    EXPECT_EQ(r.eval("email !~ '^@'"), "true");
    EXPECT_EQ(r.eval("zip =~ '^9'"), "true"); // numbers are matched by their text
    EXPECT_EQ(r.eval("missing =~ 'x'"), "false");
    EXPECT_EQ(r.eval("email =~ lower('EXAMPLE')"), "false"); // a pattern known at run time
    EXPECT_EQ(r.eval("lower(email) =~ lower('EXAMPLE')"), "true");
    EXPECT_EQ(r.eval("regex_replace('a1b22', '[0-9]+', '#')"), "\"a#b#\"");
    EXPECT_EQ(r.eval("regex_replace('2024-05-01', '(\\d+)-(\\d+)-(\\d+)', '\\3/\\2/\\1')"),
              "\"01/05/2024\"");
    EXPECT_EQ(r.eval("regex_extract('order #123 of 4', '#(\\d+)', 1)"), "\"123\"");
    EXPECT_EQ(r.eval("regex_extract('order', '\\d+')"), "null");
    EXPECT_TRUE(starts_with(r.eval("email =~ ('(' + '')"), "compile error"));
}

TEST(ExpressionTest, TextFunctions) {
    Record r(R"({"s": "  Hello World  ", "u": "Ærø ÉTÉ Straße", "n": 42})");
    EXPECT_EQ(r.eval("lower('ABC')"), "\"abc\"");
    EXPECT_EQ(r.eval("upper('abc')"), "\"ABC\"");
    EXPECT_EQ(r.eval("lower(u)"), "\"ærø été straße\"");
    EXPECT_EQ(r.eval("upper('été')"), "\"ÉTÉ\"");
    EXPECT_EQ(r.eval("trim(s)"), "\"Hello World\"");
    EXPECT_EQ(r.eval("len('héllo')"), "5"); // characters, not bytes
    EXPECT_EQ(r.eval("len([1, 2, 3])"), "3");
    EXPECT_EQ(r.eval("len(n)"), "2");
    EXPECT_EQ(r.eval("substr('héllo', 1, 3)"), "\"éll\"");
    EXPECT_EQ(r.eval("substr('hello', -3)"), "\"llo\"");
    EXPECT_EQ(r.eval("substr('hello', 10)"), "\"\"");
    EXPECT_EQ(r.eval("replace('a-b-c', '-', '+')"), "\"a+b+c\"");
    EXPECT_EQ(r.eval("split('a,b,,c', ',')"), "[\"a\",\"b\",\"\",\"c\"]");
    EXPECT_EQ(r.eval("join(['a', null, 'b', 3], '|')"), "\"a|b|3\"");
    EXPECT_EQ(r.eval("concat('a', 1, true)"), "\"a1true\"");
    EXPECT_EQ(r.eval("starts_with('hello', 'he')"), "true");
    EXPECT_EQ(r.eval("ends_with('hello', 'lo')"), "true");
    EXPECT_EQ(r.eval("contains('hello', 'ell')"), "true");
    EXPECT_EQ(r.eval("contains([1, 2], 2)"), "true");
    EXPECT_EQ(r.eval("pad_left(7, 3, '0')"), "\"007\"");
    EXPECT_EQ(r.eval("pad_left('abcd', 2)"), "\"abcd\"");
    EXPECT_EQ(r.eval("mask('4111111111111111')"), "\"************1111\"");
    EXPECT_EQ(r.eval("mask('abc', 1)"), "\"**c\"");
    EXPECT_TRUE(starts_with(r.eval("upper([1])"), "error: upper() needs text"));
}

TEST(ExpressionTest, NumberFunctions) {
    Record r;
    EXPECT_EQ(r.eval("abs(-3)"), "3");
    EXPECT_EQ(r.eval("abs(-2.5)"), "2.5");
    EXPECT_EQ(r.eval("round(2.5)"), "3");
    EXPECT_EQ(r.eval("round(-2.5)"), "-3");
    EXPECT_EQ(r.eval("round(3.14159, 2)"), "3.14");
    EXPECT_EQ(r.eval("round(1234, -2)"), "1200");
    EXPECT_EQ(r.eval("floor(2.7)"), "2");
    EXPECT_EQ(r.eval("ceil(2.1)"), "3");
    EXPECT_EQ(r.eval("floor(-2.1)"), "-3");
    EXPECT_EQ(r.eval("min(3, 1, 2)"), "1");
    EXPECT_EQ(r.eval("max(3, null, 7)"), "7");
    EXPECT_EQ(r.eval("max([4, 9, 2])"), "9");
    EXPECT_EQ(r.eval("min('b', 'a')"), "\"a\"");
}

TEST(ExpressionTest, CastsAndAFailedCastIsARecordError) {
    Record r(R"({"s": " 42 ", "d": "4.7", "bad": "abc", "b": "yes"})");
    EXPECT_EQ(r.eval("int(s)"), "42");
    EXPECT_EQ(r.eval("int(d)"), "4");
    EXPECT_EQ(r.eval("int(4.9)"), "4");
    EXPECT_EQ(r.eval("int(true)"), "1");
    EXPECT_EQ(r.eval("float('2')"), "2.0");
    EXPECT_EQ(r.eval("string(12)"), "\"12\"");
    EXPECT_EQ(r.eval("string([1, 'a'])"), "\"[1,\\\"a\\\"]\"");
    EXPECT_EQ(r.eval("bool(b)"), "true");
    EXPECT_EQ(r.eval("bool('0')"), "false");
    EXPECT_EQ(r.eval("int(null)"), "null");
    const std::string e = r.eval("int(bad)");
    EXPECT_TRUE(starts_with(e, "error: int(): cannot make an integer of string 'abc'")) << e;
    EXPECT_NE(e.find("(in 'int(bad)')"), std::string::npos) << e;
    EXPECT_TRUE(starts_with(r.eval("bool('maybe')"), "error: bool()"));
    EXPECT_TRUE(starts_with(r.eval("float(bad)"), "error: float()"));
    EXPECT_EQ(r.eval("is_number(1)"), "true");
    EXPECT_EQ(r.eval("is_number('1')"), "false");
    EXPECT_EQ(r.eval("is_string('1')"), "true");
}

TEST(ExpressionTest, IfAndCoalesceAreLazy) {
    Record r(R"({"x": 0})");
    EXPECT_EQ(r.eval("if(x == 0, 'zero', 10 / x)"), "\"zero\"");
    EXPECT_EQ(r.eval("if(null, 1, 2)"), "2");
    EXPECT_EQ(r.eval("coalesce(x, 1 / 0)"), "0");
}

TEST(ExpressionTest, TimeParsingFormattingAndOffsets) {
    Record r(R"({"ts": "04/12/2026 10:30", "iso": "2026-12-04T10:30:00+02:00"})");
    EXPECT_EQ(r.eval("parse_time('1970-01-02')"), "86400");
    EXPECT_EQ(r.eval("parse_time('2026-12-04T10:30:00Z')"), "1796380200");
    EXPECT_EQ(r.eval("parse_time(iso)"), "1796373000"); // +02:00 honoured
    EXPECT_EQ(r.eval("parse_time(ts, '%d/%m/%Y %H:%M')"), "1796380200");
    EXPECT_EQ(r.eval("parse_time('2026-12-04 10:30:00 -0130', '%Y-%m-%d %H:%M:%S %z')"),
              "1796385600");
    EXPECT_EQ(r.eval("parse_time('2026-12-04T10:30:00.250Z')"), "1796380200.25");
    EXPECT_EQ(r.eval("format_time(1796380200)"), "\"2026-12-04T10:30:00Z\"");
    EXPECT_EQ(r.eval("format_time(1796380200, '', '+02:00')"), "\"2026-12-04T12:30:00+02:00\"");
    EXPECT_EQ(r.eval("format_time(iso, '%Y-%m-%d %H:%M')"), "\"2026-12-04 08:30\"");
    EXPECT_EQ(r.eval("format_time(0, '%a %d %b %Y %I:%M %p %Z')"),
              "\"Thu 01 Jan 1970 12:00 AM UTC\"");
    EXPECT_EQ(r.eval("format_time(-1)"), "\"1969-12-31T23:59:59Z\"");
    EXPECT_EQ(r.eval("format_time(951782400, '%j')"), "\"060\""); // 2000-02-29
    EXPECT_EQ(r.eval("format_time(parse_time('29/02/2024', '%d/%m/%Y'), '%F')"), "\"2024-02-29\"");
    EXPECT_TRUE(starts_with(r.eval("parse_time('31/02/2024', '%d/%m/%Y')"), "error: parse_time()"));
    EXPECT_TRUE(starts_with(r.eval("parse_time('yesterday')"), "error: parse_time()"));
    // Before, a zone name was an error ("is not UTC or an offset"): now the zone's offset.
    EXPECT_EQ(r.eval("format_time(0, '', 'Europe/Paris')"), "\"1970-01-01T01:00:00+01:00\"");
    EXPECT_EQ(r.eval("now() > parse_time('2020-01-01')"), "true");
}

TEST(ExpressionTest, FractionalEpochSecondsAreTheTimeTheirDecimalTextNames) {
    // Milliseconds divided by 1000 gave "20.122999907Z": the digits of the nearest double.
    Record r(R"({"ms": 1700000000123, "late": 1700000000999})");
    EXPECT_EQ(r.eval("format_time(ms / 1000)"), "\"2023-11-14T22:13:20.123Z\"");
    EXPECT_EQ(r.eval("format_time(late / 1000)"), "\"2023-11-14T22:13:20.999Z\"");
    EXPECT_EQ(r.eval("format_time(0.1)"), "\"1970-01-01T00:00:00.1Z\"");
    EXPECT_EQ(r.eval("format_time(-1.5)"), "\"1969-12-31T23:59:58.5Z\"");
    // Past nine digits the fraction is rounded to the nanosecond, carrying into the second.
    EXPECT_EQ(r.eval("format_time(20.9999999996)"), "\"1970-01-01T00:00:21Z\"");
    EXPECT_EQ(r.eval("format_time(-0.0000000004)"), "\"1970-01-01T00:00:00Z\"");
    EXPECT_EQ(r.eval("format_time(1e-300)"), "\"1970-01-01T00:00:00Z\"");
}

TEST(ExpressionTest, TimesComeAsEpochSecondsOrIsoTextAsAsked) {
    Record r(R"({"ts": "04/12/2026 10:30 +0200"})");
    EXPECT_EQ(r.eval("parse_time(ts, '%d/%m/%Y %H:%M %z', 'iso')"), "\"2026-12-04T08:30:00Z\"");
    EXPECT_EQ(r.eval("parse_time(ts, '%d/%m/%Y %H:%M %z', 'epoch')"), "1796373000");
    EXPECT_EQ(r.eval("parse_time('2026-12-04T10:30:00.5Z', null, 'iso')"),
              "\"2026-12-04T10:30:00.5Z\"");
    EXPECT_TRUE(starts_with(r.eval("parse_time(ts, '%d/%m/%Y %H:%M %z', 'seconds')"),
                            "error: parse_time(): the result can be 'epoch' or 'iso'"));
    EXPECT_TRUE(starts_with(r.eval("now('iso')"), "\"20"));
    EXPECT_EQ(r.eval("now('iso') > '2026-01-01'"), "true");
    EXPECT_EQ(r.eval("is_number(now('epoch'))"), "true");
}

TEST(ExpressionTest, TimesInNamedZones) {
    // Expected values from GNU date: TZ=Europe/Berlin date -d @1711846800 '+%F %H:%M %Z', and
    // for local text the offset spelled out: date -d '2024-10-27 02:30 +0200' +%s.
    Record r(R"({"ts": 1711846800, "zone": "America/New_York", "bad": "Mars/Base",
                 "sneaky": "../../etc/passwd", "text": "2024-10-27 02:30"})");
    EXPECT_EQ(r.eval("format_time(ts, '%F %H:%M %Z', 'Europe/Berlin')"),
              "\"2024-03-31 03:00 CEST\"");
    EXPECT_EQ(r.eval("format_time(ts - 1, '', 'Europe/Berlin')"), "\"2024-03-31T01:59:59+01:00\"");
    EXPECT_EQ(r.eval("format_time(ts, '%H:%M %z %Z', zone)"), "\"21:00 -0400 EDT\"");
    EXPECT_EQ(r.eval("format_time('2024-07-01T12:00:00Z', '%H:%M %Z', 'Asia/Kolkata')"),
              "\"17:30 IST\"");
    // A local text in a zone: the hour skipped is moved forward (02:30 is 03:30 CEST), the hour
    // repeated is the earlier (+02:00).
    EXPECT_EQ(r.eval("parse_time('2024-03-31 02:30', '%Y-%m-%d %H:%M', null, 'Europe/Berlin')"),
              "1711848600");
    EXPECT_EQ(r.eval("format_time(parse_time('2024-03-31 02:30', null, 'epoch', "
                     "'Europe/Berlin'), '%H:%M %Z', 'Europe/Berlin')"),
              "\"03:30 CEST\"");
    EXPECT_EQ(r.eval("parse_time(text, null, 'epoch', 'Europe/Berlin')"), "1729989000");
    EXPECT_EQ(r.eval("parse_time(text, '%Y-%m-%d %H:%M', 'iso', 'Europe/Berlin')"),
              "\"2024-10-27T00:30:00Z\"");
    EXPECT_EQ(r.eval("parse_time('2024-06-15 09:00', null, null, zone)"), "1718456400");
    EXPECT_EQ(r.eval("parse_time('2024-06-15T09:00Z', null, null, zone)"), "1718442000");
    EXPECT_EQ(r.eval("parse_time(text, null, 'epoch', null)"), "1729996200"); // UTC
    // A zone from a field that does not exist is a record error naming it.
    EXPECT_TRUE(starts_with(r.eval("format_time(ts, '', bad)"),
                            "error: format_time(): unknown time zone 'Mars/Base' (in "));
    EXPECT_TRUE(starts_with(r.eval("parse_time(text, null, 'epoch', sneaky)"),
                            "error: parse_time(): '../../etc/passwd' is not a time zone name"));
}

TEST(ExpressionTest, UnknownZonesInTheTextAreErrorsAtLoad) {
    EXPECT_EQ(compile_error("format_time(t, '%H', 'Europe/Berln')"),
              "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)\n"
              "    format_time(t, '%H', 'Europe/Berln')\n"
              "                         ^^^^^^^^^^^^^^");
    EXPECT_EQ(compile_error("parse_time(s, null, 'epoch', '/etc/passwd')"),
              "'/etc/passwd' is not a time zone name (an IANA name such as Europe/Berlin, UTC, "
              "local, or an offset such as +02:00)\n"
              "    parse_time(s, null, 'epoch', '/etc/passwd')\n"
              "                                 ^^^^^^^^^^^^^");
    EXPECT_TRUE(starts_with(compile_error("format_time(t, null, 5)"), "a time zone must be text"));
    EXPECT_EQ(compile_error("format_time(t, null, 'Asia/Seoul')"), "(compiled)");
    EXPECT_EQ(compile_error("parse_time(s, null, null, null)"), "(compiled)");
    EXPECT_TRUE(starts_with(compile_error("parse_time(s, null, null, 'UTC', 1)"),
                            "parse_time() takes 1 to 4 arguments, got 5"));
}

TEST(ExpressionTest, HashesAndIds) {
    Record r;
    EXPECT_EQ(r.eval("sha256('abc')"),
              "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    EXPECT_EQ(r.eval("md5('abc')"), "\"900150983cd24fb0d6963f7d28e17f72\"");
    EXPECT_EQ(r.eval("hmac_sha256('The quick brown fox jumps over the lazy dog', 'key')"),
              "\"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8\"");
    const std::string u = r.eval("uuid()");
    ASSERT_EQ(u.size(), 38u) << u;
    EXPECT_EQ(u[15], '4'); // version 4
    EXPECT_NE(r.eval("uuid()"), u);
}

TEST(ExpressionTest, MalformedExpressionsAreLocated) {
    EXPECT_EQ(compile_error("lwoer(name) == 'x'"),
              "unknown function 'lwoer' (did you mean 'lower'?)\n"
              "    lwoer(name) == 'x'\n"
              "    ^^^^^");
    EXPECT_EQ(compile_error("amount = 5"), "'=' is not an operator here (did you mean '=='?)\n"
                                           "    amount = 5\n"
                                           "           ^");
    EXPECT_EQ(compile_error("(a + b"), "expected ')' to close this, found the end\n"
                                       "    (a + b\n"
                                       "    ^");
    EXPECT_EQ(compile_error("upper(a, b)"), "upper() takes 1 argument, got 2: upper(s)\n"
                                            "    upper(a, b)\n"
                                            "    ^^^^^^^^^^^");
    EXPECT_EQ(compile_error("a + 'x'"), "'+' works on numbers; use concat() to join text\n"
                                        "    a + 'x'\n"
                                        "        ^^^");
    EXPECT_EQ(compile_error("name =~ '(unclosed'"),
              "invalid regular expression: missing ): (unclosed\n"
              "    name =~ '(unclosed'\n"
              "            ^^^^^^^^^^^");
    EXPECT_EQ(
        compile_error("parse_time(t, '%Y-W%V')"),
        "unsupported time format directive %V (supported: " + std::string(timefmt::kDirectives) +
            ")\n"
            "    parse_time(t, '%Y-W%V')\n"
            "                  ^^^^^^^^");
    EXPECT_TRUE(starts_with(compile_error("format_time(t, '%G-W%V %k')"),
                            "unsupported time format directive %k (supported: " +
                                timefmt::supported_directives(timefmt::TimeUse::Format)));
    EXPECT_TRUE(starts_with(compile_error("parse_time(t, '%d.%m.%Y %k')"),
                            "unsupported time format directive %k"));
    EXPECT_TRUE(starts_with(compile_error("'abc"), "unclosed string"));
    EXPECT_TRUE(starts_with(compile_error("a b"), "unexpected 'b' after a complete expression"));
    EXPECT_TRUE(starts_with(compile_error(""), "expected a value, found the end"));
    EXPECT_TRUE(starts_with(compile_error("1 < 2 < 3"), "comparisons cannot be chained"));
    EXPECT_TRUE(starts_with(compile_error("x in 5"), "'in' needs a list"));
    EXPECT_TRUE(starts_with(compile_error("1 and true"), "'and' needs true/false"));
    EXPECT_TRUE(starts_with(compile_error("a[x]"), "expected an index"));
    EXPECT_TRUE(starts_with(compile_error("a > 1 ? b"),
                            "expected ':' (condition ? then : else) to close this"));
    EXPECT_TRUE(starts_with(compile_error("1 ? 2 : 3"), "'?' needs true/false before it"));
    EXPECT_TRUE(starts_with(compile_error("a . 'x'"),
                            "expected a field name after '.' (to join texts, use concat"));
    EXPECT_TRUE(starts_with(compile_error("'a' ** 2"), "'**' works on numbers"));
    EXPECT_TRUE(starts_with(compile_error("a[1:2]"), "expected ']'"));
    EXPECT_TRUE(starts_with(compile_error("and"), "'and' is an operator"));
    EXPECT_TRUE(starts_with(compile_error("2abc"), "a name cannot start with a digit"));
    // A hostile nesting depth is refused, not a stack overflow.
    EXPECT_TRUE(
        starts_with(compile_error(std::string(100000, '(') + "1"), "expression nested too deeply"));
    EXPECT_TRUE(
        starts_with(compile_error(std::string(100000, '-') + "1"), "expression nested too deeply"));
}

TEST(ExpressionTest, AliasesForCommonOperators) {
    Record r(R"({"a": 1})");
    EXPECT_EQ(r.eval("a == 1 && !(a == 2) || false"), "true");
    EXPECT_EQ(r.eval("a <> 2"), "true");
}

TEST(ExpressionTest, UnknownFieldsAgainstAKnownSchemaSuggestTheClosest) {
    Record r(R"({"amount": 1, "country": "DE"})");
    auto e = Expression::compile("amout > 5 and country == 'DE'");
    ASSERT_TRUE(e.ok());
    auto d = e->check_fields(r.schema());
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->render(e->text()), "unknown field 'amout' (did you mean 'amount'?)\n"
                                    "    amout > 5 and country == 'DE'\n"
                                    "    ^^^^^");
    auto ok = Expression::compile("amount > 5 and country == 'DE'");
    ASSERT_TRUE(ok.ok());
    EXPECT_FALSE(ok->check_fields(r.schema()).has_value());
}

TEST(ExpressionTest, FieldsListsEveryPathRead) {
    auto e = Expression::compile("a.b + c[0] + `d e`");
    ASSERT_TRUE(e.ok());
    std::vector<std::string> paths;
    for (const FieldPath& p : e->fields())
        paths.push_back(p.text());
    EXPECT_EQ(paths, (std::vector<std::string>{"a.b", "c[0]", "`d e`"}));
    auto f = Expression::compile("user.name");
    ASSERT_TRUE(f.ok());
    ASSERT_NE(f->as_field(), nullptr);
    EXPECT_EQ(f->as_field()->text(), "user.name");
    EXPECT_EQ(e->as_field(), nullptr);
}

TEST(ExpressionTest, EvaluatorRebindsWhenTheSchemaChanges) {
    auto e = Expression::compile("b * 2");
    ASSERT_TRUE(e.ok());
    Evaluator ev(*e);
    Arena arena;
    const Value row1[] = {Value::integer(1), Value::integer(5)};
    ev.bind(make_schema({"a", "b"}));
    EXPECT_EQ(ev.eval(row1, arena)->as_int(), 10);
    const Value row2[] = {Value::integer(7)};
    ev.bind(make_schema({"b"}));
    EXPECT_EQ(ev.eval(row2, arena)->as_int(), 14);
}

TEST(ExpressionTest, EveryDocumentedFunctionExists) {
    const char* required[] = {
        "lower",         "upper",         "trim",      "len",       "substr", "replace",
        "regex_replace", "regex_extract", "split",     "join",      "concat", "starts_with",
        "ends_with",     "contains",      "pad_left",  "abs",       "round",  "floor",
        "ceil",          "min",           "max",       "int",       "float",  "string",
        "bool",          "is_null",       "is_number", "is_string", "if",     "coalesce",
        "parse_time",    "format_time",   "now",       "sha256",    "md5",    "hmac_sha256",
        "mask",          "uuid"};
    for (const char* name : required) {
        bool found = false;
        for (const FunctionInfo& f : functions())
            found = found || f.name == name;
        EXPECT_TRUE(found) << name;
    }
}

} // namespace
} // namespace conveyor::expr
