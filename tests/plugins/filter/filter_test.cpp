#include "conveyor/obs/metrics.hpp"
#include "filter.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using plugins::filter::Condition;
using plugins::filter::Literal;
using plugins::filter::Op;

/// Runs filter.apply with `options` over `records` (JSON objects); the kept ones as JSON lines.
std::string run_filter(const std::map<std::string, OptionValue>& options,
                       const std::vector<std::string>& records, StageMetrics* metrics = nullptr) {
    return test::transform_jsonl("filter.apply", options, records, metrics);
}

std::map<std::string, OptionValue> cond(std::string column, std::string op,
                                        OptionValue value = {}) {
    std::map<std::string, OptionValue> m{{"column", std::move(column)},
                                         {"operator", std::move(op)}};
    if (!value.is_null()) m["value"] = std::move(value);
    return m;
}

const std::vector<std::string> kRows = {
    R"({"id":1,"amount":1500,"name":"Ann","tags":["a","b"]})",
    R"({"id":2,"amount":999.5,"name":"Bob","tags":[]})",
    R"({"id":3,"amount":null,"name":"Cy"})",
    R"({"id":4,"amount":"1000","name":"Dee"})",
    R"({"id":5,"name":"Ed"})",
    R"({"id":6,"amount":"n/a","name":"Flo"})",
};

std::string ids(const std::string& jsonl) {
    std::string out;
    for (std::size_t p = 0; (p = jsonl.find("{\"id\":", p)) != std::string::npos; p += 6)
        out += jsonl.substr(p + 6, jsonl.find(',', p) - p - 6) + " ";
    return out;
}

TEST(FilterApply, NumbersCompareNumericallyWhateverTheLiteralType) {
    EXPECT_EQ(ids(run_filter(cond("amount", ">=", 1000), kRows)), "1 4 ");
    EXPECT_EQ(ids(run_filter(cond("amount", ">=", "1000"), kRows)), "1 4 ") << "string literal";
    EXPECT_EQ(ids(run_filter(cond("amount", ">=", 1000.0), kRows)), "1 4 ") << "float literal";
    EXPECT_EQ(ids(run_filter(cond("amount", "<", 1000), kRows)), "2 ");
    EXPECT_EQ(ids(run_filter(cond("amount", "==", 999.5), kRows)), "2 ");
    EXPECT_EQ(ids(run_filter(cond("amount", "=", "1000"), kRows)), "4 ") << "= is ==";
}

TEST(FilterApply, NullAndMissingNeverMatchAComparison) {
    // Ids 3 (null) and 5 (no field) are in none of these; 6 ("n/a") is not a number.
    EXPECT_EQ(ids(run_filter(cond("amount", "!=", 1500), kRows)), "2 4 6 ");
    EXPECT_EQ(ids(run_filter(cond("amount", "<>", 1500), kRows)), "2 4 6 ");
    EXPECT_EQ(ids(run_filter(cond("amount", "is_null"), kRows)), "3 5 ");
    EXPECT_EQ(ids(run_filter(cond("amount", "not_null"), kRows)), "1 2 4 6 ");
    EXPECT_EQ(ids(run_filter(cond("nope", "is_null"), kRows)), "1 2 3 4 5 6 ") << "absent column";
}

TEST(FilterApply, StringsCompareLexicallyAndContainsLooksInsideStringsAndArrays) {
    EXPECT_EQ(ids(run_filter(cond("name", ">", "Bob"), kRows)), "3 4 5 6 ");
    EXPECT_EQ(ids(run_filter(cond("name", "contains", "o"), kRows)), "2 6 ");
    EXPECT_EQ(ids(run_filter(cond("tags", "contains", "b"), kRows)), "1 ");
}

TEST(FilterApply, ContainsLooksInsideANumberAsItIsWritten) {
    // A zip code or id csv.read made a number: `contains` kept none of them, while the
    // expression contains(zip, '12') found them.
    const std::vector<std::string> rows = {
        R"({"id":1,"zip":12345})", R"({"id":2,"zip":"0123"})", R"({"id":3,"zip":1.125})",
        R"({"id":4,"zip":99})",    R"({"id":5,"zip":null})",   R"({"id":6,"zip":true})",
    };
    EXPECT_EQ(ids(run_filter(cond("zip", "contains", "12"), rows)), "1 2 3 ");
    EXPECT_EQ(ids(run_filter(cond("zip", "contains", 9), rows)), "4 ");
    EXPECT_EQ(ids(run_filter(cond("zip", "contains", "tru"), rows)), "");
}

TEST(FilterApply, InAndNotInTakeALists) {
    EXPECT_EQ(ids(run_filter(cond("id", "in", OptionValue::List{2, "4", 9}), kRows)), "2 4 ");
    EXPECT_EQ(ids(run_filter(cond("name", "not_in", OptionValue::List{"Ann", "Ed"}), kRows)),
              "2 3 4 6 ");
    EXPECT_EQ(ids(run_filter(cond("amount", "not_in", OptionValue::List{1500}), kRows)), "2 4 6 ")
        << "null is in no list, and not out of one either";
}

TEST(FilterApply, BooleansCompareByValueAndWithTheirText) {
    const std::vector<std::string> rows = {R"({"id":1,"ok":true})", R"({"id":2,"ok":false})",
                                           R"({"id":3,"ok":"true"})"};
    EXPECT_EQ(ids(run_filter(cond("ok", "==", true), rows)), "1 3 ");
    EXPECT_EQ(ids(run_filter(cond("ok", "!=", true), rows)), "2 ");
}

TEST(FilterApply, CountsWhatItFiltersOut) {
    StageMetrics m("f");
    run_filter(cond("amount", ">=", 1000), kRows, &m);
    EXPECT_EQ(m.records_filtered.load(), 4u);
}

TEST(FilterApply, MistakesAreReportedWhenThePipelineLoads) {
    auto missing = test::build_stage("filter.apply", cond("amount", ">="));
    EXPECT_FALSE(missing.stage);
    EXPECT_NE(missing.errors().find("needs a 'value'"), std::string::npos) << missing.errors();
    auto not_list = test::build_stage("filter.apply", cond("amount", "in", 3));
    EXPECT_FALSE(not_list.stage);
    EXPECT_NE(not_list.errors().find("needs a list"), std::string::npos);
    auto list = test::build_stage("filter.apply", cond("amount", "==", OptionValue::List{1, 2}));
    EXPECT_FALSE(list.stage);
    EXPECT_NE(list.errors().find("use 'in'"), std::string::npos);
    auto unknown = test::build_stage("filter.apply", cond("amount", "=>", 1));
    EXPECT_FALSE(unknown.stage);
    EXPECT_NE(unknown.errors().find("did you mean"), std::string::npos) << unknown.errors();
}

TEST(FilterApply, AnUnknownColumnOfAFixedSchemaIsReportedWhenTheStageOpens) {
    auto built = test::build_stage("filter.apply", cond("amout", ">", 1));
    ASSERT_TRUE(built.stage);
    SchemaRef schema = make_schema({"id", "amount"});
    const bool fixed[] = {true};
    OpenContext ctx;
    ctx.stage_id = "f";
    ctx.input_schemas = std::span<const SchemaRef>(&schema, 1);
    ctx.input_schemas_fixed = fixed;
    auto opened = built.stage->open(ctx);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().kind, ErrorKind::Config);
    EXPECT_NE(opened.error().message.find("did you mean 'amount'"), std::string::npos);
    const bool dynamic[] = {false};
    ctx.input_schemas_fixed = dynamic;
    EXPECT_TRUE(built.stage->open(ctx)) << "JSON input: the field may come later";
}

std::map<std::string, OptionValue> where(std::string expression) {
    return {{"expression", std::move(expression)}};
}

TEST(FilterApply, ExpressionsCombineConditionsWithAndOrAndParentheses) {
    EXPECT_EQ(ids(run_filter(where("amount >= 1000"), kRows)), "1 4 ");
    EXPECT_EQ(ids(run_filter(where("(amount >= 1000 and name != 'Dee') or id == 5"), kRows)),
              "1 5 ");
    EXPECT_EQ(ids(run_filter(where("lower(name) =~ '^(ann|ed)$'"), kRows)), "1 5 ");
    EXPECT_EQ(ids(run_filter(where("name in ['Bob', 'Cy'] or 'b' in tags"), kRows)), "1 2 3 ");
    EXPECT_EQ(ids(run_filter(where("is_null(amount)"), kRows)), "3 5 ");
    EXPECT_EQ(ids(run_filter(where("amount ?? 0 < 1"), kRows)), "3 5 ") << "?? fills the nulls";
    EXPECT_EQ(ids(run_filter(where("amount > 1000 or amount < 1000"), kRows)), "1 2 ")
        << "'n/a' is neither above nor below a number; null matches nothing";
}

TEST(FilterApply, ExpressionsAndColumnsReadNestedPaths) {
    const std::vector<std::string> rows = {
        R"({"id":1,"user":{"address":{"city":"Lyon"}},"tags":["x"]})",
        R"({"id":2,"user":{"address":{"city":"Oslo"}},"tags":["y","x"]})",
        R"({"id":3,"user":{}})",
    };
    EXPECT_EQ(ids(run_filter(where("user.address.city == 'Oslo'"), rows)), "2 ");
    EXPECT_EQ(ids(run_filter(where("tags[0] == 'x'"), rows)), "1 ");
    EXPECT_EQ(ids(run_filter(cond("user.address.city", "==", "Lyon"), rows)), "1 ")
        << "the column form takes the same paths";
    EXPECT_EQ(ids(run_filter(cond("user.address.city", "is_null"), rows)), "3 ");
}

TEST(FilterApply, ARecordTheExpressionFailsOnIsARecordError) {
    // Without an error strategy (no StageErrors here) the record error fails the stage,
    // naming what went wrong; under "continue" it would be counted and dead-lettered.
    auto built = test::build_stage("filter.apply", where("int(name) > 1"));
    ASSERT_TRUE(built.stage);
    OpenContext ctx;
    ctx.stage_id = "f";
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    Status st = op->push(
        0, test::batch_from_json({R"({"id":1,"name":"12"})", R"({"id":2,"name":"x"})"}), out);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::Data);
    EXPECT_NE(st.error().message.find("int(): cannot make an integer of string 'x'"),
              std::string::npos)
        << st.error().message;
}

TEST(FilterApply, ExpressionMistakesAreReportedWhenThePipelineLoads) {
    auto unknown = test::build_stage("filter.apply", where("lwoer(name) == 'x'"));
    EXPECT_FALSE(unknown.stage);
    EXPECT_NE(unknown.errors().find("unknown function 'lwoer' (did you mean 'lower'?)"),
              std::string::npos)
        << unknown.errors();
    EXPECT_NE(unknown.errors().find("^^^^^"), std::string::npos) << unknown.errors();
    auto not_condition = test::build_stage("filter.apply", where("amount * 2"));
    EXPECT_FALSE(not_condition.stage);
    EXPECT_NE(not_condition.errors().find("needs a condition"), std::string::npos);
    auto both = where("amount > 1");
    both["column"] = "amount";
    auto mixed = test::build_stage("filter.apply", both);
    EXPECT_FALSE(mixed.stage);
    EXPECT_NE(mixed.errors().find("either 'expression' or column/operator/value"),
              std::string::npos)
        << mixed.errors();
    auto neither = test::build_stage("filter.apply", {});
    EXPECT_FALSE(neither.stage);
    EXPECT_NE(neither.errors().find("needs either expression"), std::string::npos)
        << neither.errors();
}

TEST(FilterApply, AnUnknownFieldInAnExpressionOverAFixedSchemaIsReportedWhenTheStageOpens) {
    auto built = test::build_stage("filter.apply", where("amout > 1"));
    ASSERT_TRUE(built.stage);
    SchemaRef schema = make_schema({"id", "amount"});
    const bool fixed[] = {true};
    OpenContext ctx;
    ctx.stage_id = "f";
    ctx.input_schemas = std::span<const SchemaRef>(&schema, 1);
    ctx.input_schemas_fixed = fixed;
    auto opened = built.stage->open(ctx);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().kind, ErrorKind::Config);
    EXPECT_NE(opened.error().message.find("unknown field 'amout' (did you mean 'amount'?)"),
              std::string::npos)
        << opened.error().message;
}

TEST(FilterCondition, ComparesWithTheLiteralsForms) {
    const Literal hundred = Literal::from_option(OptionValue("100"));
    EXPECT_EQ(plugins::filter::compare(Value::integer(100), hundred, true), 0);
    EXPECT_EQ(plugins::filter::compare(Value::number_text("100.0"), hundred, true), 0);
    EXPECT_EQ(
        plugins::filter::compare(Value::string("007"), Literal::from_option(OptionValue(7)), true),
        0)
        << "a numeric string against a number compares as a number";
    const Literal thousand = Literal::from_option(OptionValue(1000));
    EXPECT_FALSE(plugins::filter::compare(Value::string("n/a"), thousand, true).has_value())
        << "no order between text and a number";
    EXPECT_NE(plugins::filter::compare(Value::string("n/a"), thousand, false), 0) << "but unequal";
    EXPECT_FALSE(plugins::filter::compare(Value::null(), hundred, false).has_value());
    EXPECT_FALSE(
        plugins::filter::compare(Value::integer(1), Literal::from_option(OptionValue("x")), false)
            .has_value());
    Condition between(Op::Lt, {Literal::from_option(OptionValue(std::int64_t{9007199254740993}))});
    EXPECT_TRUE(between.matches(Value::integer(9007199254740992)))
        << "ints beyond doubles stay exact";
}

} // namespace
} // namespace conveyor
