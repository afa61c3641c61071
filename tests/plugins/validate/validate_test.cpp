#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

OptionValue list(const std::vector<std::string>& items) {
    return test::string_list(items);
}

OptionValue table(const std::vector<std::pair<std::string, std::string>>& m) {
    return test::string_table(m);
}

/// Pushes `records` one batch at a time through validate.schema: what passes, and the
/// message of the first record error ("" when none).
struct Outcome {
    std::string passed;
    std::string error;
};

Outcome run_validate(const std::map<std::string, OptionValue>& options,
                     const std::vector<std::string>& records) {
    Outcome o;
    auto built = test::build_stage("validate.schema", options);
    EXPECT_TRUE(built.stage) << built.errors();
    if (!built.stage) return o;
    OpenContext ctx;
    ctx.stage_id = "v";
    auto opened = built.stage->open(ctx);
    EXPECT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    for (const std::string& r : records) {
        const Status st = op->push(0, test::batch_from_json({r}), out);
        if (!st && o.error.empty()) o.error = st.error().message;
    }
    o.passed = test::jsonl(out.take());
    return o;
}

TEST(ValidateSchema, ValidRecordsPassUnchanged) {
    const Outcome o =
        run_validate({{"required_fields", list({"id"})}, {"field_types", table({{"id", "int"}})}},
                     {R"({"id":1,"x":"a"})", R"({"id":"2"})"});
    EXPECT_EQ(o.passed, "{\"id\":1,\"x\":\"a\"}\n{\"id\":\"2\"}\n");
    EXPECT_EQ(o.error, "");
}

TEST(ValidateSchema, AnIntegerBeyondInt64IsAnInt) {
    // {"id":12345678901234567890} was refused with "should be int, got double": an integer
    // is an integer, whatever its size, as a number or as text.
    const Outcome o = run_validate(
        {{"field_types", table({{"id", "int"}})}},
        {R"({"id":12345678901234567890})", R"({"id":-12345678901234567891})",
         R"({"id":"123456789012345678901234567890"})", R"({"id":9223372036854775807})"});
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.passed, "{\"id\":12345678901234567890}\n{\"id\":-12345678901234567891}\n"
                        "{\"id\":\"123456789012345678901234567890\"}\n"
                        "{\"id\":9223372036854775807}\n");
    // What is not an integer still is not.
    for (const char* bad : {R"({"id":1.5})", R"({"id":"12345678901234567890.5"})",
                            R"({"id":"1e30"})", R"({"id":"-"})", R"({"id":"+5"})"})
        EXPECT_NE(run_validate({{"field_types", table({{"id", "int"}})}}, {bad})
                      .error.find("'id' should be int"),
                  std::string::npos)
            << bad;
}

TEST(ValidateSchema, EachRuleReportsWhatItFound) {
    EXPECT_NE(run_validate({{"required_fields", list({"id"})}}, {R"({"x":1})"})
                  .error.find("'id' is missing (required_fields)"),
              std::string::npos);
    EXPECT_NE(run_validate({{"non_nullable", list({"email"})}}, {R"({"email":null})"})
                  .error.find("'email' is null (non_nullable)"),
              std::string::npos);
    EXPECT_NE(run_validate({{"field_types", table({{"age", "int"}})}}, {R"({"age":"forty"})"})
                  .error.find("'age' should be int, got string forty (field_types)"),
              std::string::npos);
    EXPECT_NE(
        run_validate({{"patterns", table({{"email", "^[^@]+@[^@]+$"}})}}, {R"({"email":"nope"})"})
            .error.find("'email' does not match /^[^@]+@[^@]+$/: nope (patterns)"),
        std::string::npos);
}

TEST(ValidateSchema, EveryBrokenRuleOfARecordIsListed) {
    const Outcome o =
        run_validate({{"required_fields", list({"id"})}, {"field_types", table({{"n", "number"}})}},
                     {R"({"n":"x"})"});
    EXPECT_NE(o.error.find("'id' is missing"), std::string::npos) << o.error;
    EXPECT_NE(o.error.find("'n' should be number"), std::string::npos) << o.error;
}

TEST(ValidateSchema, UniqueFieldsCatchRepeatsButNotTheirInvalidTwins) {
    const Outcome o = run_validate({{"unique_fields", list({"id"})}},
                                   {R"({"id":1})", R"({"id":"1"})", R"({"id":2})", R"({"id":1})"});
    // The number 1 and the text "1" are different values.
    EXPECT_EQ(o.passed, "{\"id\":1}\n{\"id\":\"1\"}\n{\"id\":2}\n");
    EXPECT_NE(o.error.find("'id' repeats an earlier record's value 1"), std::string::npos)
        << o.error;
}

TEST(ValidateSchema, TypesAcceptTextThatReadsAsTheType) {
    const Outcome o = run_validate(
        {{"field_types", table({{"a", "int"}, {"b", "bool"}, {"c", "timestamp"}, {"d", "float"}})}},
        {R"({"a":"-7","b":"true","c":"2026-12-04T10:00:00Z","d":"1.5"})"});
    EXPECT_EQ(o.error, "");
    EXPECT_NE(run_validate({{"field_types", table({{"c", "timestamp"}})}}, {R"({"c":"soon"})"})
                  .error.find("should be timestamp"),
              std::string::npos);
}

TEST(ValidateSchema, BadOptionsAreLoadErrorsNamingTheKey) {
    auto none = test::build_stage("validate.schema", {});
    EXPECT_FALSE(none.stage);
    EXPECT_NE(none.errors().find("needs at least one rule"), std::string::npos) << none.errors();
    auto type = test::build_stage("validate.schema", {{"field_types", table({{"a", "integr"}})}});
    EXPECT_FALSE(type.stage);
    EXPECT_NE(type.errors().find("unknown type 'integr' (did you mean 'integer'?)"),
              std::string::npos)
        << type.errors();
    auto re = test::build_stage("validate.schema", {{"patterns", table({{"a", "(unclosed"}})}});
    EXPECT_FALSE(re.stage);
    EXPECT_NE(re.errors().find("patterns.a: invalid regular expression"), std::string::npos)
        << re.errors();
}

TEST(ValidateSchema, OverAKnownSchemaAnUnknownFieldIsAnOpenError) {
    auto built = test::build_stage("validate.schema", {{"required_fields", list({"emial"})}});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"id", "email"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("did you mean 'email'?"), std::string::npos)
        << opened.error().message;
}

} // namespace
} // namespace conveyor
