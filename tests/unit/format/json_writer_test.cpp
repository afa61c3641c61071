#include "conveyor/core/arena.hpp"
#include "conveyor/format/json_writer.hpp"
#include "support/page_end.hpp"

#include <cmath>
#include <cstdlib>
#include <gtest/gtest.h>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace conveyor::json {
namespace {

std::string str(std::string_view s) {
    std::string out;
    append_string(out, s);
    return out;
}

std::string dbl(double d) {
    std::string out;
    append_double(out, d);
    return out;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControls) {
    EXPECT_EQ(str(""), "\"\"");
    EXPECT_EQ(str("plain text"), "\"plain text\"");
    EXPECT_EQ(str("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(str("\b\f\n\r\t"), R"("\b\f\n\r\t")");
    EXPECT_EQ(str(std::string_view("\0", 1)), R"("\u0000")");
    EXPECT_EQ(str("\x01\x1f"), R"("\u0001\u001f")");
    EXPECT_EQ(str("/"), "\"/\"");       // no need to escape the solidus
    EXPECT_EQ(str("\x7f"), "\"\x7f\""); // DEL is allowed as is
}

TEST(JsonWriter, EveryControlCharacterIsEscaped) {
    for (int c = 0; c < 0x20; ++c) {
        const std::string out = str(std::string(1, static_cast<char>(c)));
        ASSERT_EQ(out[1], '\\') << c;
        for (char ch : out)
            EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << c;
    }
}

TEST(JsonWriter, EscapesInLongRunsAreFound) {
    // Exercise the 16-byte scanner: specials at every position of a long string.
    for (std::size_t pos = 0; pos < 40; ++pos) {
        std::string s(40, 'x');
        s[pos] = '"';
        std::string expected = "\"" + s.substr(0, pos) + "\\\"" + s.substr(pos + 1) + "\"";
        EXPECT_EQ(str(s), expected) << pos;
    }
}

TEST(JsonWriter, ValidUtf8PassesThroughRaw) {
    const std::string korean = "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"; // 한국어
    EXPECT_EQ(str(korean), "\"" + korean + "\"");
    const std::string mixed = "caf\xC3\xA9 \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
    EXPECT_EQ(str(mixed), "\"" + mixed + "\"");
}

TEST(JsonWriter, InvalidUtf8IsReplaced) {
    const std::string fffd = "\xEF\xBF\xBD";
    struct Case {
        std::string in;
        std::string out;
    };
    const std::vector<Case> cases = {
        {"a\xFF"
         "b",
         "a" + fffd + "b"},                              // never valid
        {"\x80", fffd},                                  // stray continuation
        {"\xC0\xAF", fffd + fffd},                       // overlong '/'
        {"\xE0\x80\xAF", fffd + fffd + fffd},            // overlong, 3 bytes
        {"\xED\xA0\x80", fffd + fffd + fffd},            // UTF-16 surrogate D800
        {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd}, // above U+10FFFF
        {"\xF5\x80", fffd + fffd},                       // lead byte out of range
        {"x\xE2\x82", "x" + fffd},                       // truncated at the end
        {"\xE2\x82x", fffd + "x"},                       // truncated in the middle
        {"\xF0\x9F\x98", fffd},                          // truncated 4-byte sequence
        {"\xC3\xA9\xC3", "\xC3\xA9" + fffd},             // valid then truncated
    };
    for (const Case& c : cases)
        EXPECT_EQ(str(c.in), "\"" + c.out + "\"") << c.in;
}

TEST(JsonWriter, Integers) {
    std::string out;
    append_int(out, 0);
    out += ' ';
    append_int(out, -42);
    out += ' ';
    append_int(out, std::numeric_limits<std::int64_t>::max());
    out += ' ';
    append_int(out, std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(out, "0 -42 9223372036854775807 -9223372036854775808");
}

TEST(JsonWriter, Doubles) {
    EXPECT_EQ(dbl(2.0), "2.0");
    EXPECT_EQ(dbl(-3.0), "-3.0");
    EXPECT_EQ(dbl(0.0), "0.0");
    EXPECT_EQ(dbl(-0.0), "-0.0");
    EXPECT_EQ(dbl(0.1), "0.1");
    EXPECT_EQ(dbl(1.0 / 3.0), "0.3333333333333333");
    EXPECT_EQ(dbl(1e21), "1e+21");
    EXPECT_EQ(dbl(1e-7), "1e-07");
    EXPECT_EQ(dbl(123456789.5), "123456789.5");
    // Plain digits from 1e-4 to below 1e16, as Python and JavaScript write them: 100000.0 was
    // "1e+05" beside 200000 in one column.
    EXPECT_EQ(dbl(100000.0), "100000.0");
    EXPECT_EQ(dbl(-2e15), "-2000000000000000.0");
    EXPECT_EQ(dbl(1e15 + 0.5), "1000000000000000.5");
    EXPECT_EQ(dbl(0.0001), "0.0001");
    EXPECT_EQ(dbl(0.00012), "0.00012");
    EXPECT_EQ(dbl(1e16), "1e+16");
    EXPECT_EQ(dbl(0.00001), "1e-05");
    EXPECT_EQ(dbl(std::nan("")), "null");
    EXPECT_EQ(dbl(std::numeric_limits<double>::infinity()), "null");
    EXPECT_EQ(dbl(-std::numeric_limits<double>::infinity()), "null");
    // Shortest text that reads back as the same double.
    for (double d : {0.1 + 0.2, 5e-324, 1.7976931348623157e308, 123.456, 1e5, 9.999999999999998e15,
                     0.00010000000000000002, 123456789012.25e3}) {
        const std::string s = dbl(d);
        EXPECT_EQ(std::strtod(s.c_str(), nullptr), d) << s;
    }
}

TEST(JsonWriter, NumberTextIsWrittenVerbatim) {
    EXPECT_EQ(to_string(Value::number_text("1.0")), "1.0");
    EXPECT_EQ(to_string(Value::number_text("12345678901234567890")), "12345678901234567890");
    EXPECT_EQ(to_string(Value::number_text("-2.50E+3")), "-2.50E+3");
    EXPECT_EQ(to_string(Value::real(1.5)), "1.5");
}

TEST(JsonWriter, NumberTextThatIsNotJsonIsWrittenFromItsValue) {
    // The output stays valid JSON even if a producer breaks the number-text promise.
    EXPECT_EQ(to_string(Value::number_text("1.")), "1.0");
    EXPECT_EQ(to_string(Value::number_text("007")), "7.0");
    // JSON grammar beyond a double's range keeps its digits (json.read reads 1e400 so).
    EXPECT_EQ(to_string(Value::number_text("1e999")), "1e999");
    // CSV reads these as numbers (csv_typing.hpp); JSON has no such spelling.
    EXPECT_EQ(to_string(Value::number_text(".5")), "0.5");
    EXPECT_EQ(to_string(Value::number_text("-.5")), "-0.5");
    EXPECT_EQ(to_string(Value::number_text("5.")), "5.0");
    EXPECT_EQ(to_string(Value::number_text("-5.")), "-5.0");
}

TEST(JsonWriter, ScalarsAndContainers) {
    EXPECT_EQ(to_string(Value::null()), "null");
    EXPECT_EQ(to_string(Value::absent()), "null");
    EXPECT_EQ(to_string(Value::boolean(true)), "true");
    EXPECT_EQ(to_string(Value::boolean(false)), "false");
    EXPECT_EQ(to_string(Value::array(nullptr, 0)), "[]");
    EXPECT_EQ(to_string(Value::object(nullptr, 0)), "{}");

    // Absent inside an array is null; absent members are omitted.
    const Value items[] = {Value::integer(1), Value::absent(), Value::string("x")};
    EXPECT_EQ(to_string(Value::array(items, 3)), R"([1,null,"x"])");
    const Member members[] = {{"a", Value::absent()},
                              {"b", Value::array(items, 3)},
                              {"c", Value::absent()},
                              {"d\"", Value::null()}};
    EXPECT_EQ(to_string(Value::object(members, 4)), R"({"b":[1,null,"x"],"d\"":null})");
    const Member only_absent[] = {{"a", Value::absent()}};
    EXPECT_EQ(to_string(Value::object(only_absent, 1)), "{}");
}

TEST(JsonWriter, RecordsOmitAbsentFields) {
    Schema schema({"id", "name", "tags", "note"});
    const Value tags[] = {Value::string("a"), Value::string("b")};
    const Value row[] = {Value::integer(7), Value::string("Kim \"K\""), Value::array(tags, 2),
                         Value::absent()};
    std::string out;
    append_record(out, schema, row);
    EXPECT_EQ(out, R"({"id":7,"name":"Kim \"K\"","tags":["a","b"]})");

    const Value empty_row[] = {Value::absent(), Value::absent(), Value::absent(), Value::absent()};
    out.clear();
    append_record(out, schema, empty_row);
    EXPECT_EQ(out, "{}");
}

TEST(JsonWriter, PrettyLayout) {
    const Value inner_items[] = {Value::integer(1), Value::integer(2)};
    const Member inner[] = {{"x", Value::array(inner_items, 2)}, {"y", Value::object(nullptr, 0)}};
    const Member top[] = {{"a", Value::string("s")},
                          {"skip", Value::absent()},
                          {"b", Value::object(inner, 2)},
                          {"c", Value::array(nullptr, 0)},
                          {"d", Value::real(2.0)}};
    std::string out;
    append_value_pretty(out, Value::object(top, 5), 2, 0);
    EXPECT_EQ(out, "{\n"
                   "  \"a\": \"s\",\n"
                   "  \"b\": {\n"
                   "    \"x\": [\n"
                   "      1,\n"
                   "      2\n"
                   "    ],\n"
                   "    \"y\": {}\n"
                   "  },\n"
                   "  \"c\": [],\n"
                   "  \"d\": 2.0\n"
                   "}");

    out.clear();
    append_value_pretty(out, Value::integer(5), 4, 3);
    EXPECT_EQ(out, "5");
}

TEST(JsonWriter, PrettyRecordAtDepth) {
    Schema schema({"a", "b", "c"});
    const Value items[] = {Value::boolean(true), Value::absent()};
    const Value row[] = {Value::integer(1), Value::absent(), Value::array(items, 2)};
    std::string out;
    append_record_pretty(out, schema, row, 2, 1);
    EXPECT_EQ(out, "{\n"
                   "    \"a\": 1,\n"
                   "    \"c\": [\n"
                   "      true,\n"
                   "      null\n"
                   "    ]\n"
                   "  }");
    const Value none[] = {Value::absent(), Value::absent(), Value::absent()};
    out.clear();
    append_record_pretty(out, schema, none, 2, 1);
    EXPECT_EQ(out, "{}");
}

TEST(JsonWriter, CompactRecordsAreTheBytesOfAppendRecord) {
    // Rows of every kind the fast path takes and every one it hands to the general path
    // (escapes, bytes that are not UTF-8, number text that is not JSON, lists, absent and
    // non-finite values), mixed at random, appended after text already in the buffer.
    Schema schema({"id", "we\"ird\nkey", "s", "x", "\xC3\xA9t\xC3\xA9"});
    const std::vector<std::string> keys = encoded_keys(schema);
    const std::vector<std::string> texts = {"",
                                            "plain",
                                            "caf\xC3\xA9 \xE2\x82\xAC",
                                            "a\"b",
                                            "back\\slash",
                                            "tab\there",
                                            std::string("nul\0x", 5),
                                            "bad \xFF byte",
                                            "cut \xE2\x82",
                                            "\x7F del",
                                            std::string(100, 'z') + "\"",
                                            std::string(40, 'q')};
    const std::vector<std::string> numbers = {"0", "-1.50", "1e3", "+1", ".5", "1e999", "12.", "7"};
    const Value items[] = {Value::integer(1), Value::string("i\"j")};
    Arena arena;
    std::mt19937 rng(20261206);
    const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const auto value = [&]() -> Value {
        switch (pick(9)) {
        case 0:
            return Value::absent();
        case 1:
            return Value::null();
        case 2:
            return Value::boolean(pick(2) == 0);
        case 3:
            return Value::integer(pick(2) ? std::numeric_limits<std::int64_t>::min()
                                          : static_cast<std::int64_t>(rng()) - 2'000'000'000);
        case 4: {
            const double ds[] = {0.1,       -2.0,         1e300,
                                 -5e-324,   std::nan(""), std::numeric_limits<double>::infinity(),
                                 123456.789};
            return Value::real(ds[pick(7)]);
        }
        case 5:
            return Value::number_text(arena.copy(numbers[pick(numbers.size())]));
        case 6:
            return Value::array(items, 2);
        default:
            return Value::string(arena.copy(texts[pick(texts.size())]));
        }
    };
    int fast_rows = 0;
    for (int n = 0; n < 5000; ++n) {
        Value row[5];
        bool plain = true;
        for (Value& v : row) {
            v = value();
            if (v.kind() == Kind::Array) plain = false;
        }
        std::string want = "prefix,";
        append_record(want, schema, row);
        std::string got = "prefix,";
        append_record_compact(got, row, keys);
        ASSERT_EQ(got, want) << "row " << n;
        fast_rows += plain;
    }
    EXPECT_GT(fast_rows, 1000); // both paths were taken many times
}

/// What append_string writes for text of letters and the three escapes used below.
std::string escaped(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"')
            out += "\\\"";
        else if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out + "\"";
}

TEST(JsonWriter, TextEndingAtAPageEndIsReadNoFurther) {
    // The scan and the copy of short text take 16 bytes at a time where that cannot fault;
    // here the byte after each text cannot be read at all, and every length up to 40 is tried
    // with nothing to escape and with a byte to escape at each position.
    test::PageEnd page;
    const Schema schema({"s", "n"});
    const std::vector<std::string> keys = encoded_keys(schema);
    for (std::size_t len = 0; len <= 40; ++len) {
        for (std::size_t at = 0; at <= len; ++at) {
            for (const char special : {'"', '\\', '\n'}) {
                std::string text(len, 'a');
                for (std::size_t i = 0; i < len; ++i)
                    text[i] = static_cast<char>('a' + i % 26);
                if (at < len) text[at] = special; // at == len: nothing to escape
                const std::string_view placed = page.place(text);
                std::string out = "x";
                append_string(out, placed);
                ASSERT_EQ(out, "x" + escaped(text)) << "length " << len << ", at " << at;
                const Value row[] = {Value::string(placed), Value::integer(7)};
                out = "x";
                append_record_compact(out, row, keys);
                ASSERT_EQ(out, "x{\"s\":" + escaped(text) + ",\"n\":7}")
                    << "length " << len << ", at " << at;
            }
        }
    }
    for (const std::string_view number : {"1", "-2.5", "1234567890.125", "12345678901234.5678"}) {
        const Value row[] = {Value::absent(), Value::number_text(page.place(number))};
        std::string out;
        append_record_compact(out, row, keys);
        EXPECT_EQ(out, "{\"n\":" + std::string(number) + "}");
    }
}

TEST(JsonWriter, AppendsToExistingText) {
    std::string out = "prefix:";
    append_value(out, Value::string("v"));
    EXPECT_EQ(out, "prefix:\"v\"");
}

} // namespace
} // namespace conveyor::json
