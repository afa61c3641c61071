// Record lineage (Batch::lineage, the ground of issue 18's gather.apply): the 1:1 transforms
// keep each record's id, whether they edit a batch in place, drop rows or copy rows into
// batches of their own. Each test pushes records with ids 1..n and reads the ids of what
// comes out, with the output each left by.

#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

const std::vector<std::string> kOrders = {
    R"({"id":1,"amount":1500,"country":"DE"})", R"({"id":2,"amount":20,"country":"FR"})",
    R"({"id":3,"amount":30,"country":"US"})", R"({"id":4,"amount":2000,"country":"US"})"};

/// "[output] lineage:id ..." for every record `function` emits, in emission order.
std::string lineage_through(const std::string& function,
                            const std::map<std::string, OptionValue>& options) {
    auto built = test::build_stage(function, options);
    EXPECT_TRUE(built.stage) << built.errors();
    if (!built.stage) return "BUILD FAILED";
    OpenContext ctx;
    ctx.stage_id = "t";
    auto opened = built.stage->open(ctx);
    EXPECT_TRUE(opened);
    if (!opened) return "OPEN FAILED";
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    Batch in = test::batch_from_json(kOrders);
    std::vector<std::uint64_t> ids;
    for (std::size_t r = 0; r < in.rows(); ++r)
        ids.push_back(r + 1);
    in.set_lineage(std::move(ids));
    CollectingEmitter out;
    EXPECT_TRUE(op->push(0, std::move(in), out));
    EXPECT_TRUE(op->finish(out));
    std::string text;
    for (const Batch& b : out.take()) {
        for (std::size_t r = 0; r < b.rows(); ++r) {
            const auto id = b.schema().find("id");
            text += "[" + std::to_string(b.output()) + "] " + std::to_string(b.lineage(r)) + ":" +
                    (id ? std::to_string(b.at(r, *id).as_int()) : std::string("-")) + " ";
        }
    }
    return text;
}

TEST(Lineage, FilterKeepsTheIdsOfTheRecordsItKeeps) {
    EXPECT_EQ(lineage_through("filter.apply", {{"expression", OptionValue("amount >= 1000")}}),
              "[0] 1:1 [0] 4:4 ");
}

TEST(Lineage, SelectRenameAndMapEditColumnsAndKeepIds) {
    EXPECT_EQ(lineage_through("select.apply", {{"columns", test::string_list({"id", "country"})}}),
              "[0] 1:1 [0] 2:2 [0] 3:3 [0] 4:4 ");
    EXPECT_EQ(lineage_through("rename.apply", {{"columns", test::string_table({{"amount", "a"}})}}),
              "[0] 1:1 [0] 2:2 [0] 3:3 [0] 4:4 ");
    EXPECT_EQ(
        lineage_through("map.apply", {{"columns", test::string_table({{"double", "amount * 2"}})}}),
        "[0] 1:1 [0] 2:2 [0] 3:3 [0] 4:4 ");
}

TEST(Lineage, RouteCopiesRowsWithTheirIdsToEachOutput) {
    EXPECT_EQ(
        lineage_through("route.apply", {{"routes", test::string_table({{"big", "amount >= 1000"},
                                                                       {"eu", "country == 'FR'"}})},
                                        {"mode", OptionValue("first")}}),
        "[1] 1:1 [1] 4:4 [2] 2:2 [3] 3:3 ");
}

TEST(Lineage, LimitKeepsTheIdsOfTheFirstRecords) {
    EXPECT_EQ(lineage_through("limit.apply", {{"count", OptionValue(std::int64_t{2})}}),
              "[0] 1:1 [0] 2:2 ");
}

} // namespace
} // namespace conveyor
