#include "conveyor/format/json_writer.hpp"
#include "sort_order.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor::plugins::sort {
namespace {

int cmp(const Value& a, const Value& b, Collation c = Collation::Binary) {
    return compare_values(a, b, c);
}

TEST(SortOrder, NumbersCompareAsNumbersWhateverTheirType) {
    EXPECT_LT(cmp(Value::integer(2), Value::integer(10)), 0);
    EXPECT_LT(cmp(Value::integer(1), Value::real(2.5)), 0);
    EXPECT_GT(cmp(Value::number_text("10.0"), Value::integer(9)), 0);
    EXPECT_EQ(cmp(Value::integer(3), Value::real(3.0)), 0);
}

TEST(SortOrder, StringsCompareByBytesOrNaturally) {
    EXPECT_LT(cmp(Value::string("file10"), Value::string("file2")), 0);
    EXPECT_GT(cmp(Value::string("file10"), Value::string("file2"), Collation::Natural), 0);
    EXPECT_LT(cmp(Value::string("a9b"), Value::string("a10a"), Collation::Natural), 0);
    EXPECT_GT(cmp(Value::string("x007"), Value::string("x7"), Collation::Natural), 0)
        << "equal numbers: the one with more leading zeros after, so the order stays total";
    EXPECT_LT(cmp(Value::string("B"), Value::string("a")), 0) << "bytes: upper case first";
    EXPECT_LT(cmp(Value::string("ab"), Value::string("abc")), 0);
}

TEST(SortOrder, KindsHaveAFixedOrder) {
    EXPECT_LT(cmp(Value::integer(99), Value::string("1")), 0);
    EXPECT_LT(cmp(Value::string("z"), Value::boolean(false)), 0);
    EXPECT_LT(cmp(Value::boolean(false), Value::boolean(true)), 0);
}

TEST(SortOrder, NullsGoLastOrFirstWhateverTheDirection) {
    SortOrder o;
    o.keys.resize(1);
    const Value null = Value::null();
    const Value one = Value::integer(1);
    EXPECT_GT(o.compare(&null, &one), 0);
    o.keys[0].descending = true;
    EXPECT_GT(o.compare(&null, &one), 0) << "still last when descending";
    o.nulls_last = false;
    EXPECT_LT(o.compare(&null, &one), 0);
    const Value absent = Value::absent();
    EXPECT_EQ(o.compare(&absent, &null), 0) << "a missing field sorts as null";
}

TEST(SortOrder, LaterKeysBreakTiesAndEachHasItsDirection) {
    SortOrder o;
    o.keys.resize(2);
    o.keys[1].descending = true;
    const Value a[] = {Value::integer(1), Value::integer(5)};
    const Value b[] = {Value::integer(1), Value::integer(7)};
    const Value c[] = {Value::integer(0), Value::integer(1)};
    EXPECT_GT(o.compare(a, b), 0) << "second key descending";
    EXPECT_LT(o.compare(c, a), 0) << "first key decides";
    EXPECT_EQ(o.compare(a, a), 0);
}

TEST(SortOrder, PrefixesAgreeWithCompareOnEveryPair) {
    // The sort compares prefixes first: wherever two prefixes differ they must order the two
    // values as compare() does, and equal exact prefixes must mean equal values.
    std::vector<std::string> texts = {
        "",         "a",         "ab",           std::string("ab\0", 3),
        "abcdefgh", "abcdefghi", "abcdefgh\xff", "\xff",
        "B",        "file10",    "file2"};
    std::vector<Value> values = {Value::null(),
                                 Value::absent(),
                                 Value::boolean(false),
                                 Value::boolean(true),
                                 Value::real(-0.0),
                                 Value::real(0.0),
                                 Value::integer(0),
                                 Value::integer(-1),
                                 Value::real(-1.5),
                                 Value::real(1e300),
                                 Value::real(-1e300),
                                 Value::integer(std::int64_t{1} << 53),
                                 Value::integer((std::int64_t{1} << 53) + 1),
                                 Value::real(9007199254740992.0),
                                 Value::integer(INT64_MAX),
                                 Value::integer(INT64_MIN)};
    for (const std::string& t : texts)
        values.push_back(Value::string(t));
    for (const Collation collation : {Collation::Binary, Collation::Natural})
        for (const bool descending : {false, true})
            for (const bool nulls_last : {false, true}) {
                SortOrder o;
                o.keys.resize(1);
                o.keys[0].descending = descending;
                o.nulls_last = nulls_last;
                o.collation = collation;
                for (const Value& a : values)
                    for (const Value& b : values) {
                        const auto pa = o.prefix(a);
                        const auto pb = o.prefix(b);
                        const int c = o.compare(&a, &b);
                        const std::string what = json::to_string(a) + " vs " + json::to_string(b) +
                                                 (descending ? " desc" : " asc");
                        if (pa.cls != pb.cls || pa.bits != pb.bits) {
                            const bool before =
                                pa.cls != pb.cls ? pa.cls < pb.cls : pa.bits < pb.bits;
                            EXPECT_EQ(before, c < 0) << what;
                            EXPECT_NE(c, 0) << what;
                        } else if (pa.exact && pb.exact) {
                            EXPECT_EQ(c, 0) << what;
                        }
                    }
            }
}

} // namespace
} // namespace conveyor::plugins::sort
