#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

OptionValue routes(const std::vector<std::pair<std::string, std::string>>& m) {
    return test::string_table(m);
}

const std::vector<std::string> kOrders = {
    R"({"id":1,"amount":1500,"country":"DE"})", R"({"id":2,"amount":20,"country":"FR"})",
    R"({"id":3,"amount":30,"country":"US"})", R"({"id":4,"amount":2000,"country":"US"})"};

std::string run_route(const std::string& mode, const std::vector<std::string>& records) {
    return test::transform_jsonl(
        "route.apply",
        {{"routes", routes({{"big", "amount >= 1000"}, {"eu", "country in ['DE', 'FR']"}})},
         {"mode", OptionValue(mode)}},
        records);
}

std::string build_error(const std::map<std::string, OptionValue>& options) {
    auto built = test::build_stage("route.apply", options);
    EXPECT_FALSE(built.stage);
    return built.errors();
}

TEST(RouteApply, ModeFirstSendsEachRecordToOneOutputInInputOrder) {
    // Outputs are numbered from 1 in declaration order: big, eu, then unmatched.
    EXPECT_EQ(run_route("first", kOrders), "[1] {\"id\":1,\"amount\":1500,\"country\":\"DE\"}\n"
                                           "[1] {\"id\":4,\"amount\":2000,\"country\":\"US\"}\n"
                                           "[2] {\"id\":2,\"amount\":20,\"country\":\"FR\"}\n"
                                           "[3] {\"id\":3,\"amount\":30,\"country\":\"US\"}\n");
}

TEST(RouteApply, ModeAllCopiesARecordToEveryMatchingRoute) {
    EXPECT_EQ(run_route("all", kOrders), "[1] {\"id\":1,\"amount\":1500,\"country\":\"DE\"}\n"
                                         "[1] {\"id\":4,\"amount\":2000,\"country\":\"US\"}\n"
                                         "[2] {\"id\":1,\"amount\":1500,\"country\":\"DE\"}\n"
                                         "[2] {\"id\":2,\"amount\":20,\"country\":\"FR\"}\n"
                                         "[3] {\"id\":3,\"amount\":30,\"country\":\"US\"}\n");
}

TEST(RouteApply, ModeAllCopiesABatchWhoseRecordsAllMeetOneRouteToTheOthersToo) {
    EXPECT_EQ(run_route("all", {R"({"amount":1500,"country":"DE"})"}),
              "[1] {\"amount\":1500,\"country\":\"DE\"}\n"
              "[2] {\"amount\":1500,\"country\":\"DE\"}\n");
}

TEST(RouteApply, ABatchThatAllGoesOneWayLeavesWhole) {
    EXPECT_EQ(run_route("first", {R"({"amount":1})", R"({"amount":2})"}),
              "[3] {\"amount\":1}\n[3] {\"amount\":2}\n");
}

TEST(RouteApply, AMissingFieldIsNullAndMatchesNothing) {
    EXPECT_EQ(run_route("first", {R"({"id":9})"}), "[3] {\"id\":9}\n");
}

TEST(RouteApply, DeclaresItsRoutesThenUnmatchedAsNamedOutputsAndNoMainOutput) {
    auto built = test::build_stage(
        "route.apply", {{"routes", routes({{"big", "amount > 1"}, {"small", "amount <= 1"}})}});
    ASSERT_TRUE(built.stage) << built.errors();
    const auto outputs = built.stage->named_outputs();
    ASSERT_EQ(outputs.size(), 3u);
    EXPECT_EQ(outputs[0].name, "big");
    EXPECT_EQ(outputs[1].name, "small");
    EXPECT_EQ(outputs[2].name, "unmatched");
    EXPECT_FALSE(built.stage->has_main_output());
}

TEST(RouteApply, ARecordAConditionFailsOnIsARecordErrorNotRouted) {
    auto built = test::build_stage("route.apply", {{"routes", routes({{"n", "int(code) > 1"}})}});
    ASSERT_TRUE(built.stage) << built.errors();
    OpenContext ctx;
    ctx.stage_id = "r";
    auto opened = built.stage->open(ctx);
    ASSERT_TRUE(opened);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    const Status st = op->push(0, test::batch_from_json({R"({"code":"x"})"}), out);
    ASSERT_FALSE(st) << "without a StageErrors the record error fails the stage";
    EXPECT_EQ(st.error().kind, ErrorKind::Data);
    EXPECT_TRUE(out.empty());
}

TEST(RouteApply, BadOptionsAreLoadErrorsNamingTheKey) {
    EXPECT_NE(build_error({{"routes", routes({})}}).find("'routes' is empty"), std::string::npos);
    EXPECT_NE(build_error({{"routes", routes({{"a.b", "true"}})}})
                  .find("route name 'a.b' may only hold letters, digits"),
              std::string::npos);
    EXPECT_NE(build_error({{"routes", routes({{"unmatched", "true"}})}})
                  .find("'unmatched' is the output of records that meet no route"),
              std::string::npos);
    EXPECT_NE(build_error({{"routes", routes({{"x", "amount +"}})}}).find("routes.x: "),
              std::string::npos);
    EXPECT_NE(build_error({{"routes", routes({{"x", "upper(name)"}})}})
                  .find("routes.x: a route needs a condition"),
              std::string::npos);
}

TEST(RouteApply, OverAKnownSchemaAnUnknownFieldIsAnOpenErrorWithASuggestion) {
    auto built = test::build_stage("route.apply", {{"routes", routes({{"big", "amont > 1"}})}});
    ASSERT_TRUE(built.stage) << built.errors();
    auto opened = test::open_over(*built.stage, {"id", "amount"});
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().kind, ErrorKind::Config);
    EXPECT_NE(opened.error().message.find("routes.big: "), std::string::npos)
        << opened.error().message;
    EXPECT_NE(opened.error().message.find("amount"), std::string::npos) << opened.error().message;
}

} // namespace
} // namespace conveyor
