#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

OptionValue renames(const std::vector<std::pair<std::string, std::string>>& m) {
    return test::string_table(m);
}

std::string run_rename(std::vector<std::pair<std::string, std::string>> m,
                       const std::vector<std::string>& records) {
    return test::transform_jsonl("rename.apply", {{"columns", renames(std::move(m))}}, records);
}

/// Opens rename.apply over a fixed (CSV-like) input schema: the open error, or "".
std::string open_over_fixed(std::vector<std::pair<std::string, std::string>> m,
                            std::vector<std::string> fields) {
    auto built = test::build_stage("rename.apply", {{"columns", renames(std::move(m))}});
    EXPECT_TRUE(built.stage) << built.errors();
    if (!built.stage) return "BUILD FAILED";
    auto opened = test::open_over(*built.stage, std::move(fields));
    if (opened) return "";
    EXPECT_EQ(opened.error().kind, ErrorKind::Config);
    return opened.error().message;
}

TEST(RenameApply, RenamedFieldsKeepTheirPositionAndValues) {
    EXPECT_EQ(
        run_rename({{"amt", "amount"}, {"cust", "customer"}},
                   {R"({"id":1,"amt":2.5,"cust":"ann"})", R"({"id":2,"amt":3,"cust":"bob"})"}),
        "{\"id\":1,\"amount\":2.5,\"customer\":\"ann\"}\n"
        "{\"id\":2,\"amount\":3,\"customer\":\"bob\"}\n");
}

TEST(RenameApply, TwoFieldsCanSwapNames) {
    EXPECT_EQ(run_rename({{"a", "b"}, {"b", "a"}}, {R"({"a":1,"b":2})"}), "{\"b\":1,\"a\":2}\n");
}

TEST(RenameApply, ARecordWithoutTheFieldPassesUnchanged) {
    EXPECT_EQ(run_rename({{"x", "y"}}, {R"({"id":1})"}), "{\"id\":1}\n");
}

TEST(RenameApply, OntoAFieldOnlyOtherRecordsHaveMovesTheValueThere) {
    // One batch, two shapes: the union schema has both fields, each record only one.
    EXPECT_EQ(run_rename({{"old", "new"}}, {R"({"id":1,"old":"a"})", R"({"id":2,"new":"b"})"}),
              "{\"id\":1,\"new\":\"a\"}\n{\"id\":2,\"new\":\"b\"}\n");
}

TEST(RenameApply, ARecordWithBothTheOldAndTheNewFieldFailsInsteadOfLosingAValue) {
    auto built = test::build_stage("rename.apply", {{"columns", renames({{"old", "new"}})}});
    ASSERT_TRUE(built.stage);
    OpenContext ctx;
    ctx.stage_id = "r";
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    const Status st = op->push(0, test::batch_from_json({R"({"old":1,"new":2})"}), out);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().kind, ErrorKind::Data);
    EXPECT_NE(st.error().message.find("cannot rename 'old' to 'new': the record has both"),
              std::string::npos)
        << st.error().message;
}

TEST(RenameApply, OverAKnownSchemaAMissingFieldIsALoadErrorWithASuggestion) {
    const std::string e = open_over_fixed({{"amout", "amount"}}, {"id", "amt", "amount_x"});
    EXPECT_NE(e.find("field 'amout' is not in the input"), std::string::npos) << e;
    const std::string near = open_over_fixed({{"nmae", "full_name"}}, {"id", "name"});
    EXPECT_NE(near.find("did you mean 'name'?"), std::string::npos) << near;
}

TEST(RenameApply, OverAKnownSchemaRenamingOntoAnExistingFieldIsALoadError) {
    const std::string e = open_over_fixed({{"a", "b"}}, {"a", "b"});
    EXPECT_NE(e.find("cannot rename 'a' to 'b': the input already has a field 'b'"),
              std::string::npos)
        << e;
    EXPECT_EQ(open_over_fixed({{"a", "b"}, {"b", "c"}}, {"a", "b"}), "");
}

TEST(RenameApply, BadOptionsAreLoadErrorsNamingTheKey) {
    auto empty = test::build_stage("rename.apply", {{"columns", renames({})}});
    EXPECT_FALSE(empty.stage);
    EXPECT_NE(empty.errors().find("'columns' is empty"), std::string::npos) << empty.errors();
    auto twice =
        test::build_stage("rename.apply", {{"columns", renames({{"a", "x"}, {"b", "x"}})}});
    EXPECT_FALSE(twice.stage);
    EXPECT_NE(twice.errors().find("'a' and 'b' are both renamed to 'x'"), std::string::npos)
        << twice.errors();
}

TEST(RenameApply, PatternAndCaseRenameEveryFieldColumnsDoesNotList) {
    // mlr rename -g -r '[^A-Za-z0-9]+,_' then case -k -l: "First Name" needed its own entry.
    const std::map<std::string, OptionValue> o = {{"pattern", OptionValue("[^A-Za-z0-9]+")},
                                                  {"replacement", OptionValue("_")},
                                                  {"case", OptionValue("lower")},
                                                  {"columns", renames({{"e mail", "Email"}})}};
    EXPECT_EQ(test::transform_jsonl(
                  "rename.apply", o,
                  {R"({"First Name":"Ann","Last--Name":"Lee","e mail":"a@x"})", R"({"AGE":3})"}),
              "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"Email\":\"a@x\"}\n"
              "{\"age\":3}\n");
    EXPECT_EQ(test::transform_jsonl("rename.apply",
                                    {{"pattern", OptionValue("^col_(\\w+)$")},
                                     {"replacement", OptionValue("\\1")},
                                     {"case", OptionValue("upper")}},
                                    {R"({"col_a":1,"b":2})"}),
              "{\"A\":1,\"B\":2}\n");
}

TEST(RenameApply, NamesThePatternMakesTwiceOrEmptyAreErrors) {
    auto built = test::build_stage("rename.apply", {{"pattern", OptionValue("[ _]")}});
    ASSERT_TRUE(built.stage) << built.errors();
    auto opened = test::open_over(*built.stage, {"a b", "ab"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("the input already has a field 'ab'"), std::string::npos)
        << opened.error().message;
    opened = test::open_over(*built.stage, {"a b", "a_b"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("two fields would be named 'ab'"), std::string::npos)
        << opened.error().message;
    opened = test::open_over(*built.stage, {"_", "x"});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("field '_' would get an empty name"), std::string::npos)
        << opened.error().message;
}

TEST(RenameApply, PatternOptionsAreCheckedAtLoad) {
    EXPECT_NE(test::build_stage("rename.apply", {}).errors().find("'columns' is empty"),
              std::string::npos);
    EXPECT_NE(test::build_stage("rename.apply", {{"pattern", OptionValue("(")}})
                  .errors()
                  .find("invalid regular expression"),
              std::string::npos);
    EXPECT_NE(test::build_stage("rename.apply", {{"pattern", OptionValue("a")},
                                                 {"replacement", OptionValue("\\2")}})
                  .errors()
                  .find("replacement"),
              std::string::npos);
    EXPECT_NE(test::build_stage("rename.apply", {{"replacement", OptionValue("_")}})
                  .errors()
                  .find("needs a 'pattern'"),
              std::string::npos);
}

} // namespace
} // namespace conveyor
