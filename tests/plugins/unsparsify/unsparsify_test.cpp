// unsparsify.apply: every record gets the union of the fields, in first-appearance order,
// filled with null or fill_with; in memory and spilled; a fixed schema streams through.

#include "support/pipelines.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

/// Pushes each group of `batches` (JSON objects, a batch each), finishes and drains the stage.
std::string run(const std::map<std::string, OptionValue>& options,
                const std::vector<std::vector<std::string>>& batches,
                std::uint64_t memory_budget = 0, const std::string& spill_dir = {}) {
    return test::drained_jsonl("unsparsify.apply", options, batches, 2, memory_budget, spill_dir);
}

const std::vector<std::vector<std::string>> kSparse = {
    {R"({"a":1,"b":2})", R"({"b":3})"}, {R"({"c":4,"a":5})"}, {R"({"d":null})"}};

TEST(UnsparsifyApply, EveryRecordGetsEveryFieldInFirstAppearanceOrder) {
    EXPECT_EQ(run({}, kSparse), "{\"a\":1,\"b\":2,\"c\":null,\"d\":null}\n"
                                "{\"a\":null,\"b\":3,\"c\":null,\"d\":null}\n"
                                "{\"a\":5,\"b\":null,\"c\":4,\"d\":null}\n"
                                "{\"a\":null,\"b\":null,\"c\":null,\"d\":null}\n");
}

TEST(UnsparsifyApply, FillWithGivesMissingFieldsThatValueAndKeepsNulls) {
    EXPECT_EQ(run({{"fill_with", OptionValue("")}}, kSparse),
              "{\"a\":1,\"b\":2,\"c\":\"\",\"d\":\"\"}\n"
              "{\"a\":\"\",\"b\":3,\"c\":\"\",\"d\":\"\"}\n"
              "{\"a\":5,\"b\":\"\",\"c\":4,\"d\":\"\"}\n"
              "{\"a\":\"\",\"b\":\"\",\"c\":\"\",\"d\":null}\n");
}

TEST(UnsparsifyApply, SpilledGivesTheSameRecordsInTheSameOrder) {
    std::vector<std::vector<std::string>> batches;
    for (int b = 0; b < 30; ++b) {
        std::vector<std::string> records;
        for (int i = 0; i < 20; ++i) {
            const int n = b * 20 + i;
            records.push_back("{\"f" + std::to_string(n % 9) + "\":" + std::to_string(n) +
                              ",\"id\":" + std::to_string(n) + "}");
        }
        batches.push_back(std::move(records));
    }
    const std::string memory = run({}, batches);
    ASSERT_EQ(std::count(memory.begin(), memory.end(), '\n'), 600);
    test::TempDir dir;
    EXPECT_EQ(run({}, batches, 1, dir.file("spill")), memory);
    EXPECT_EQ(test::count_files(dir.file("spill")), 0U);
}

TEST(UnsparsifyApply, OverAFixedSchemaRecordsPassAsTheyCome) {
    auto built = test::build_stage("unsparsify.apply", {});
    ASSERT_TRUE(built.stage);
    auto opened = test::open_over(*built.stage, {"a", "b"});
    ASSERT_TRUE(opened);
    EXPECT_TRUE(opened->fixed_schema);
    auto& op = std::get<std::unique_ptr<Operator>>(opened->op);
    CollectingEmitter out;
    ASSERT_TRUE(op->push(0, test::batch_from_json({R"({"a":1,"b":2})"}), out));
    EXPECT_EQ(test::jsonl(out.take()), "{\"a\":1,\"b\":2}\n");
}

} // namespace
} // namespace conveyor
