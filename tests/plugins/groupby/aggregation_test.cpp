#include "aggregation.hpp"
#include "conveyor/format/json_writer.hpp"

#include <gtest/gtest.h>

namespace conveyor::plugins::groupby {
namespace {

/// Folds `values` with operation `op` over a column and returns the result as JSON text.
std::string run(Op op, std::initializer_list<Value> values, double p = 0.5) {
    Aggregation a;
    a.op = op;
    a.input = expr::Operand::parse("x");
    a.output = "out";
    a.p = p;
    AggState s;
    Arena arena;
    for (const Value& v : values) {
        Status st = fold(a, s, v, arena);
        if (!st) return "error: " + st.error().message;
    }
    return json::to_string(result(a, s, arena));
}

const Value kNull = Value::null();

TEST(Aggregation, CountsAndSumsSkipNullsAndStayIntegersWhileTheyCan) {
    EXPECT_EQ(run(Op::Count, {Value::integer(1), kNull, Value::string("a")}), "2");
    EXPECT_EQ(run(Op::Sum, {Value::integer(1), kNull, Value::integer(2)}), "3");
    EXPECT_EQ(run(Op::Sum, {Value::integer(1), Value::real(0.5)}), "1.5");
    EXPECT_EQ(run(Op::Sum, {}), "0");
    EXPECT_EQ(run(Op::Sum, {Value::integer(INT64_MAX), Value::integer(1)}), "9223372036854775808.0")
        << "an integer sum that overflows goes on as a double";
    EXPECT_EQ(run(Op::Sum, {Value::string("2.5"), Value::string(""), Value::integer(1)}), "3.5")
        << "numbers written as strings count; empty strings are no value";
    EXPECT_EQ(run(Op::Sum, {Value::string("abc")}).rfind("error: column 'x' holds \"abc\"", 0), 0u);
}

TEST(Aggregation, CompensatedSumsKeepDecimalsExact) {
    EXPECT_EQ(run(Op::Sum, {Value::real(0.1), Value::real(0.2), Value::real(0.3)}), "0.6")
        << "a plain double sum gives 0.6000000000000001";
    EXPECT_EQ(
        run(Op::Avg, {Value::real(0.1), Value::real(0.2), Value::real(0.3), Value::real(0.4)}),
        "0.25");
}

TEST(Aggregation, AverageMedianPercentileStdAndVar) {
    const auto xs = {Value::integer(1), Value::integer(2), Value::integer(3), Value::integer(4),
                     kNull};
    EXPECT_EQ(run(Op::Avg, xs), "2.5");
    EXPECT_EQ(run(Op::Median, xs), "2.5");
    EXPECT_EQ(run(Op::Median, {Value::integer(5), Value::integer(1), Value::integer(3)}), "3.0");
    EXPECT_EQ(run(Op::Percentile, xs, 0.9), "3.7");
    EXPECT_EQ(run(Op::Percentile, xs, 0.0), "1.0");
    EXPECT_EQ(run(Op::Var, xs), "1.6666666666666667");
    EXPECT_EQ(run(Op::Std, {Value::integer(2), Value::integer(4)}), "1.4142135623730951");
    EXPECT_EQ(run(Op::Var, {Value::integer(2)}), "null") << "one value has no sample variance";
    EXPECT_EQ(run(Op::Avg, {kNull}), "null");
    EXPECT_EQ(run(Op::Median, {}), "null");
}

TEST(Aggregation, MinMaxFirstLastCollectAndCountDistinct) {
    const auto xs = {Value::integer(10), Value::real(9.5), kNull, Value::integer(11)};
    EXPECT_EQ(run(Op::Min, xs), "9.5");
    EXPECT_EQ(run(Op::Max, xs), "11");
    EXPECT_EQ(run(Op::Min, {Value::string("b"), Value::string("a")}), "\"a\"");
    EXPECT_EQ(run(Op::Max, {Value::string("9"), Value::string("10")}), "\"10\"")
        << "numbers as strings compare as numbers";
    EXPECT_EQ(run(Op::First, xs), "10");
    EXPECT_EQ(run(Op::Last, xs), "11");
    EXPECT_EQ(run(Op::Collect, xs), "[10,9.5,11]");
    EXPECT_EQ(
        run(Op::CountDistinct, {Value::integer(1), Value::real(1.0), Value::string("1"), kNull}),
        "2")
        << "1 and 1.0 are one value, \"1\" another, null none";
    EXPECT_EQ(run(Op::Min, {}), "null");
}

TEST(Aggregation, OperationNamesIncludeMeanForAvg) {
    EXPECT_EQ(op_named("mean"), Op::Avg);
    EXPECT_EQ(op_named("percentile"), Op::Percentile);
    EXPECT_FALSE(op_named("summ").has_value());
}

TEST(Aggregation, MillersSpellingsNameTheSameOperations) {
    // mlr stats1 -a p50,p95,stddev,var,distinct_count: 'p95' was an unknown operation.
    EXPECT_EQ(op_named("stddev"), Op::Std);
    EXPECT_EQ(op_named("variance"), Op::Var);
    EXPECT_EQ(op_named("distinct_count"), Op::CountDistinct);
    EXPECT_EQ(op_named("p95"), Op::Percentile);
    EXPECT_EQ(percentile_named("p95"), 0.95);
    EXPECT_EQ(percentile_named("p0"), 0.0);
    EXPECT_EQ(percentile_named("p100"), 1.0);
    EXPECT_DOUBLE_EQ(*percentile_named("p99.9"), 0.999);
    for (const char* no : {"p", "p101", "px", "p-5", "p5x", "percentile", "pp5"})
        EXPECT_FALSE(percentile_named(no).has_value()) << no;
    EXPECT_FALSE(op_named("p101").has_value());
}

} // namespace
} // namespace conveyor::plugins::groupby
