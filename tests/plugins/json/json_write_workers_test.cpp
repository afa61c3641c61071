// json.write encoding batches on the run's workers (a file, batch mode, more than one worker):
// the file is byte for byte the one a single thread writes, in every format, whether
// checkpoints come after every batch (it then encodes by itself), now and then, or never.

#include "json_test_util.hpp"
#include "support/process.hpp"
#include "support/sink_driver.hpp"
#include "support/thread_work_pool.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace conveyor::plugins::json {
namespace {

using test_util::batch_of;

/// Sixty batches of up to seven records of varied shapes (some empty).
std::vector<Batch> input() {
    std::vector<Batch> batches;
    for (int b = 0; b < 60; ++b) {
        std::vector<std::string> records;
        for (int r = 0; r < b % 8; ++r) {
            const int n = b * 10 + r;
            records.push_back(n % 3 ? R"({"id":)" + std::to_string(n) + R"(,"v":[1.50,{"k":"é"}]})"
                                    : R"({"id":)" + std::to_string(n) + R"(,"s":"a\"b\nc"})");
        }
        batches.push_back(records.empty() ? Batch() : batch_of(records));
    }
    return batches;
}

/// Writes input() with json.write; `every` > 0 takes a checkpoint after every `every` batches
/// (for the first half only when `then_none`).
std::string write(JsonFormat format, bool pretty, WorkPool* pool, std::size_t every,
                  bool then_none = false) {
    conveyor::test::TempDir dir;
    const std::string path = dir.file("out.json");
    auto stage = make_json_write({path, format, pretty, {}});
    conveyor::test::SinkDriver sink("write");
    sink.run.work_pool = pool;
    EXPECT_TRUE(sink.open(*stage, nullptr, std::nullopt));
    std::vector<Batch> in = input();
    for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_TRUE(sink.push(in, i, i + 1));
        const bool checkpoints = every > 0 && !(then_none && i >= in.size() / 2);
        if (checkpoints && (i + 1) % every == 0) {
            EXPECT_TRUE(sink.op->checkpoint(Checkpoint{i + 1, false}));
        }
    }
    const Status s = sink.finish();
    EXPECT_TRUE(s) << s.error().to_string();
    return conveyor::test::read_file(path);
}

TEST(JsonWriteOnWorkers, WritesWhatOneThreadWrites) {
    conveyor::test::ThreadWorkPool pool(3);
    for (auto [format, pretty] :
         {std::pair{JsonFormat::Jsonl, false}, std::pair{JsonFormat::Records, false},
          std::pair{JsonFormat::Records, true}}) {
        const std::string expected = write(format, pretty, nullptr, 0);
        ASSERT_GT(expected.size(), 1000u);
        for (std::size_t every : {0, 1, 2, 5}) {
            EXPECT_EQ(write(format, pretty, &pool, every), expected) << "every " << every;
            EXPECT_EQ(write(format, pretty, &pool, every, true), expected) << "every " << every;
        }
    }
}

TEST(JsonWriteOnWorkers, WithoutAnyWorkerTheSinkEncodesItself) {
    conveyor::test::IdleWorkPool idle(2);
    EXPECT_EQ(write(JsonFormat::Records, false, &idle, 0),
              write(JsonFormat::Records, false, nullptr, 0));
    idle.run_all();
}

/// Bytes that are not UTF-8 (CSV input may hold any) are written as U+FFFD, and the writer
/// says how many at the end, whichever thread encoded them.
TEST(JsonWriteOnWorkers, BytesThatAreNotUtf8AreCountedAndWarnedAbout) {
    conveyor::test::ThreadWorkPool pool(2);
    for (WorkPool* p : {static_cast<WorkPool*>(nullptr), static_cast<WorkPool*>(&pool)}) {
        conveyor::test::TempDir dir;
        const std::string path = dir.file("out.jsonl");
        auto stage = make_json_write({path, JsonFormat::Jsonl, false, {}});
        conveyor::test::SinkDriver sink("write");
        sink.run.work_pool = p;
        ASSERT_TRUE(sink.open(*stage, nullptr, std::nullopt));
        std::vector<Batch> in;
        for (int b = 0; b < 6; ++b) {
            Batch batch(make_schema({"s"}));
            // "\xff\xfe" is two ill-formed sequences, a lone lead byte one; "é" is fine.
            batch.append_row()[0] = Value::string(b % 2 ? std::string_view("x\xff\xfey")
                                                        : std::string_view("\xc3\xa9 \xc3"));
            in.push_back(std::move(batch));
        }
        for (std::size_t i = 0; i < in.size(); ++i)
            ASSERT_TRUE(sink.push(in, i, i + 1));
        const Status s = sink.finish();
        ASSERT_TRUE(s) << s.error().to_string();
        const std::string text = conveyor::test::read_file(path);
        EXPECT_NE(text.find("{\"s\":\"x\xEF\xBF\xBD\xEF\xBF\xBDy\"}"), std::string::npos) << text;
        EXPECT_NE(text.find("{\"s\":\"\xc3\xa9 \xEF\xBF\xBD\"}"), std::string::npos) << text;
        const auto warnings = sink.metrics.warnings().entries();
        ASSERT_EQ(warnings.size(), 1U) << (p ? "workers" : "one thread");
        EXPECT_EQ(warnings[0].message, conveyor::json::replacement_warning(9));
        EXPECT_NE(warnings[0].message.find("9 byte sequences that are not UTF-8"),
                  std::string::npos)
            << warnings[0].message;
    }
}

} // namespace
} // namespace conveyor::plugins::json
