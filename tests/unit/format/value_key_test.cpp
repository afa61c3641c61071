#include "conveyor/format/value_key.hpp"

#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

std::string key_of(const Value& v) {
    std::string k;
    encode_key(k, v);
    return k;
}

TEST(ValueKey, IntegersBeyondInt64KeepTheirDigitsAsKeysAndInOrder) {
    // Two 20-digit ids from JSON round to one double: they were one group, one distinct value
    // and equal in a sort.
    const Value a = Value::number_text("12345678901234567890");
    const Value b = Value::number_text("12345678901234567891");
    ASSERT_EQ(a.as_double(), b.as_double());
    EXPECT_NE(key_of(a), key_of(b));
    EXPECT_LT(compare_values(key_value(a), key_value(b)), 0);
    EXPECT_GT(compare_values(key_value(b), key_value(a)), 0);
    const Value na = Value::number_text("-12345678901234567890");
    const Value nb = Value::number_text("-12345678901234567891");
    EXPECT_NE(key_of(na), key_of(nb));
    EXPECT_GT(compare_values(key_value(na), key_value(nb)), 0);

    // The same integer written with a zero fraction is the same key, as 1 and 1.0 are.
    EXPECT_EQ(key_of(a), key_of(Value::number_text("12345678901234567890.00")));
    EXPECT_EQ(compare_values(a, Value::number_text("12345678901234567890.0")), 0);
    // Within int64, and for doubles without text, nothing changes.
    EXPECT_EQ(key_of(Value::integer(42)), key_of(Value::number_text("42.0")));
    EXPECT_EQ(key_of(Value::real(1e20)), key_of(Value::real(1e20)));
    EXPECT_EQ(compare_values(Value::real(1e20), Value::number_text("1e20")), 0);
    EXPECT_LT(compare_values(Value::number_text("1.5"), Value::number_text("2.5")), 0);
}

} // namespace
} // namespace conveyor
