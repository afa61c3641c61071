#include "conveyor/core/short_decimal.hpp"
#include "conveyor/core/value.hpp"
#include "support/decimal_texts.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace conveyor {
namespace {

static_assert(sizeof(Value) == 16);
static_assert(std::is_trivially_copyable_v<Value>);

TEST(ValueTest, KindsAndPredicates) {
    EXPECT_EQ(Value().kind(), Kind::Absent);
    EXPECT_TRUE(Value::absent().is_absent());
    EXPECT_TRUE(Value::absent().is_null());
    EXPECT_TRUE(Value::null().is_null());
    EXPECT_FALSE(Value::null().is_absent());
    EXPECT_FALSE(Value::boolean(false).is_null());

    EXPECT_EQ(Value::boolean(true).kind(), Kind::Bool);
    EXPECT_TRUE(Value::boolean(true).as_bool());
    EXPECT_EQ(Value::integer(-42).kind(), Kind::Int);
    EXPECT_EQ(Value::integer(-42).as_int(), -42);
    EXPECT_TRUE(Value::integer(1).is_number());
    EXPECT_EQ(Value::real(2.5).kind(), Kind::Double);
    EXPECT_TRUE(Value::real(2.5).is_number());
    EXPECT_FALSE(Value::real(2.5).has_number_text());

    const std::string text = "héllo";
    const Value s = Value::string(text);
    EXPECT_EQ(s.kind(), Kind::String);
    EXPECT_TRUE(s.is_string());
    EXPECT_FALSE(s.is_number());
    EXPECT_EQ(s.as_string(), "héllo");
    EXPECT_EQ(s.as_string().data(), text.data()); // a view, not a copy
}

TEST(ValueTest, KindNames) {
    EXPECT_EQ(to_string(Kind::Absent), "absent");
    EXPECT_EQ(to_string(Kind::Double), "double");
    EXPECT_EQ(to_string(Kind::Object), "object");
}

TEST(ValueTest, AsDoubleConvertsIntsAndParsesNumberText) {
    EXPECT_DOUBLE_EQ(Value::integer(7).as_double(), 7.0);
    EXPECT_DOUBLE_EQ(Value::real(-0.25).as_double(), -0.25);

    const std::string text = "0.0460";
    const Value n = Value::number_text(text);
    EXPECT_EQ(n.kind(), Kind::Double);
    EXPECT_TRUE(n.has_number_text());
    EXPECT_EQ(n.number_text(), "0.0460"); // the spelling survives
    EXPECT_DOUBLE_EQ(n.as_double(), 0.046);

    const std::string exp = "-1.5E3";
    EXPECT_DOUBLE_EQ(Value::number_text(exp).as_double(), -1500.0);
    // Underflow goes to zero instead of failing.
    const std::string tiny = "1e-400";
    EXPECT_EQ(Value::number_text(tiny).as_double(), 0.0);
    // Non-numbers have no numeric value.
    EXPECT_EQ(Value::string("12").as_double(), 0.0);
}

TEST(ValueTest, ShortDecimalsReadExactlyAsFromChars) {
    // Plain decimals of up to 15 digits take a shortcut; it must give the very same double.
    std::mt19937_64 rng(15);
    std::vector<std::string> texts = {"0.1",
                                      "-0.0",
                                      "0",
                                      "123456789012345",
                                      "1234567890123456",
                                      "999999999999999.9",
                                      "0.000000000000001",
                                      "00012.50",
                                      "4503599627370497.5",
                                      "1.",
                                      "-7",
                                      "1e5"};
    for (int i = 0; i < 200000; ++i)
        texts.push_back(test::random_decimal_text(rng, 16));
    for (const std::string& t : texts) {
        double expected = 0;
        std::from_chars(t.data(), t.data() + t.size(), expected);
        const double got = Value::number_text(t).as_double();
        EXPECT_EQ(std::memcmp(&got, &expected, sizeof got), 0) << t;
    }
}

TEST(ValueTest, ShortDecimalsCompareWithIntegersAsTheirDoublesDo) {
    // compare_short_decimal orders number text against an integer without reading it as a
    // double: the order must be the one of from_chars' double against double(c), for texts
    // right at, just above and just below the integers they are compared with.
    std::mt19937_64 rng(61207);
    std::vector<std::string> texts = {"0",
                                      "-0",
                                      "0.0",
                                      "-0.000",
                                      "1000",
                                      "999.99",
                                      "1000.00",
                                      "1000.01",
                                      "-1000.5",
                                      "007",
                                      "12.",
                                      ".5",
                                      "+1",
                                      "1e3",
                                      "",
                                      "-",
                                      "1234567890123456",
                                      "999999999999999",
                                      "-999999999999999.",
                                      "1.5.2"};
    for (int i = 0; i < 200000; ++i)
        texts.push_back(test::random_decimal_text(rng, 16));
    const std::int64_t big = (std::int64_t{1} << 53) - 1;
    for (const std::string& t : texts) {
        double d = 0;
        const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
        const bool read = ec == std::errc{} && ptr == t.data() + t.size();
        std::vector<std::int64_t> cs = {0, 1, -1, 1000, -1000, big, -big, 999'999'999'999'999};
        if (read && std::fabs(d) < 1e15) {
            const auto whole = static_cast<std::int64_t>(d); // toward zero
            cs.insert(cs.end(), {whole - 1, whole, whole + 1});
        }
        for (const std::int64_t c : cs) {
            const std::optional<int> got = compare_short_decimal(t, c);
            if (!short_decimal(t)) {
                EXPECT_FALSE(got) << t; // only what short_decimal reads
                continue;
            }
            ASSERT_TRUE(got) << t << " vs " << c;
            const double cd = static_cast<double>(c);
            EXPECT_EQ(*got, d < cd ? -1 : (d > cd ? 1 : 0)) << t << " vs " << c;
        }
    }
    EXPECT_FALSE(compare_short_decimal("5", std::int64_t{1} << 53)); // c beyond exact doubles
}

TEST(ValueTest, ArraysAndObjects) {
    const Value items[] = {Value::integer(1), Value::null(), Value::string("x")};
    const Value arr = Value::array(items, 3);
    EXPECT_EQ(arr.kind(), Kind::Array);
    ASSERT_EQ(arr.as_array().size(), 3u);
    EXPECT_EQ(arr.as_array()[2].as_string(), "x");

    const Member members[] = {{"id", Value::integer(5)}, {"name", Value::string("ann")}};
    const Value obj = Value::object(members, 2);
    EXPECT_EQ(obj.kind(), Kind::Object);
    ASSERT_NE(obj.find("name"), nullptr);
    EXPECT_EQ(obj.find("name")->as_string(), "ann");
    EXPECT_EQ(obj.find("missing"), nullptr);
    EXPECT_EQ(arr.find("id"), nullptr); // only objects have members
}

TEST(ValueTest, JsonEqualComparesNumbersByValue) {
    const std::string one_text = "1.0";
    EXPECT_TRUE(json_equal(Value::integer(1), Value::real(1.0)));
    EXPECT_TRUE(json_equal(Value::integer(1), Value::number_text(one_text)));
    EXPECT_TRUE(json_equal(Value::number_text(one_text), Value::real(1.0)));
    EXPECT_FALSE(json_equal(Value::integer(1), Value::integer(2)));
    EXPECT_FALSE(json_equal(Value::real(0.1), Value::real(0.2)));
    // Large ints compare exactly, not through double.
    EXPECT_FALSE(json_equal(Value::integer(9007199254740993), Value::integer(9007199254740992)));
}

TEST(ValueTest, JsonEqualMatchesRepeatedKeysInTurn) {
    // JSON input may repeat a key; such an object equals itself and its reorderings (each "a"
    // was compared with the first "a", so it did not), and differs where one "a" differs.
    const Member twice[] = {{"a", Value::null()}, {"a", Value::integer(7)}};
    const Member reordered[] = {
        {"b", Value::integer(1)}, {"a", Value::null()}, {"a", Value::integer(7)}};
    const Member reordered_too[] = {
        {"a", Value::null()}, {"b", Value::integer(1)}, {"a", Value::integer(7)}};
    const Member other[] = {{"a", Value::null()}, {"a", Value::integer(8)}};
    const Member swapped[] = {{"a", Value::integer(7)}, {"a", Value::null()}};
    const Value v = Value::object(twice, 2);
    EXPECT_TRUE(json_equal(v, v));
    EXPECT_TRUE(json_equal(Value::object(reordered, 3), Value::object(reordered_too, 3)));
    EXPECT_FALSE(json_equal(v, Value::object(other, 2)));
    EXPECT_FALSE(json_equal(v, Value::object(swapped, 2)));
    const Member ab[] = {{"a", Value::integer(1)}, {"b", Value::integer(2)}};
    const Member ba[] = {{"b", Value::integer(2)}, {"a", Value::integer(1)}};
    EXPECT_TRUE(json_equal(Value::object(ab, 2), Value::object(ba, 2)));
}

TEST(ValueTest, JsonEqualTreatsAbsentAsNull) {
    EXPECT_TRUE(json_equal(Value::absent(), Value::null()));
    EXPECT_TRUE(json_equal(Value::null(), Value::null()));
    EXPECT_FALSE(json_equal(Value::null(), Value::boolean(false)));
    EXPECT_FALSE(json_equal(Value::integer(0), Value::null()));
    EXPECT_FALSE(json_equal(Value::string("1"), Value::integer(1)));
    EXPECT_TRUE(json_equal(Value::boolean(true), Value::boolean(true)));
    EXPECT_FALSE(json_equal(Value::boolean(true), Value::boolean(false)));
    EXPECT_TRUE(json_equal(Value::string("a"), Value::string("a")));
    EXPECT_FALSE(json_equal(Value::string("a"), Value::string("b")));
}

TEST(ValueTest, JsonEqualIsDeep) {
    const Value a_items[] = {Value::integer(1), Value::string("x")};
    const Value b_items[] = {Value::real(1.0), Value::string("x")};
    const Value c_items[] = {Value::integer(1)};
    EXPECT_TRUE(json_equal(Value::array(a_items, 2), Value::array(b_items, 2)));
    EXPECT_FALSE(json_equal(Value::array(a_items, 2), Value::array(c_items, 1)));

    // Member order does not matter; keys and values do.
    const Member m1[] = {{"a", Value::integer(1)}, {"b", Value::array(a_items, 2)}};
    const Member m2[] = {{"b", Value::array(b_items, 2)}, {"a", Value::integer(1)}};
    const Member m3[] = {{"a", Value::integer(1)}, {"c", Value::array(a_items, 2)}};
    const Member m4[] = {{"a", Value::integer(1)}};
    EXPECT_TRUE(json_equal(Value::object(m1, 2), Value::object(m2, 2)));
    EXPECT_FALSE(json_equal(Value::object(m1, 2), Value::object(m3, 2)));
    EXPECT_FALSE(json_equal(Value::object(m1, 2), Value::object(m4, 1)));
    EXPECT_FALSE(json_equal(Value::object(m4, 1), Value::array(c_items, 1)));
}

} // namespace
} // namespace conveyor
