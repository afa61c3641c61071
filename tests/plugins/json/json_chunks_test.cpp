// json.read parsing JSON lines in chunks on several threads (json_chunks.hpp): wherever the
// chunk boundaries fall (inside long lines, between CR and LF, in blank lines, in escapes), the
// records, their order, the errors with their file:line, the dead letters and the checkpoint
// positions are those of the serial reader.

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "json_test_util.hpp"
#include "support/process.hpp"
#include "support/read_counts.hpp"
#include "support/thread_work_pool.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace conveyor::plugins::json {

using namespace recordio::json;
namespace {

/// A random JSON lines file: unicode escapes and raw UTF-8, escaped quotes and backslashes,
/// nested values, numbers that keep their text, records with other keys or another key order,
/// long lines, CRLF, blank lines (also at the start and the end), sometimes a byte order mark
/// and sometimes no line break at the end.
std::string random_jsonl(std::uint32_t seed, int rows, std::size_t long_text = 200) {
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
    static const char* const kTexts[] = {
        R"("plain")",
        R"("caf\u00e9 \ud83d\ude00 \u4e2d")",
        "\"raw UTF-8: \xC3\xA9\xE4\xB8\xAD \xF0\x9F\x98\x80\"",
        R"("quote \" and backslash \\")",
        R"("ends with backslash \\")",
        R"("brackets ] } [ { , :")",
        R"({"nested":{"a":[1,{"b":null}],"c":"\n\t"}})",
        R"([1,2.50,-0,1e3,12345678901234567890,true,false,null])",
        R"(-12.5e-3)",
        R"(42)",
        R"("")",
        R"({})",
    };
    static const char* const kEnds[] = {"\n", "\r\n", "\n\n", "\n  \t\n", "\r\n\r\n", " \n"};
    std::string text = pick(4) == 0 ? "\xEF\xBB\xBF" : "";
    if (pick(3) == 0) text += "\n \n";
    for (int i = 0; i < rows; ++i) {
        const std::string id = "\"id\":" + std::to_string(i);
        const std::string t = std::string("\"text\":") + kTexts[pick(12)];
        const std::string n = "\"n\":" + std::to_string(pick(2000));
        switch (pick(8)) {
        case 0:
            text += "{" + t + "," + id + "}"; // another key order: a new batch
            break;
        case 1:
            text += " {" + id + ",\"extra\":" + kTexts[pick(12)] + "} "; // another key
            break;
        case 2:
            text += "{" + id + ",\"long\":\"" + std::string(long_text + pick(100), 'x') + "\"," +
                    n + "}";
            break;
        default:
            text += "{" + id + "," + t + "," + n + "}";
        }
        if (i + 1 < rows || pick(2) == 0) text += kEnds[pick(6)];
    }
    return text;
}

/// What reading a stage gave: the records (one JSON object a line), the error, the batches.
struct Read {
    std::string records;
    std::optional<Error> error;
    std::size_t batches = 0;
};

class JsonChunks : public ::testing::Test {
protected:
    std::unique_ptr<Stage> stage_for(const std::string& text, std::uint64_t chunk,
                                     std::size_t block = 1 << 20, JsonReadConfig config = {}) {
        config.path = dir_.write("data.jsonl", text);
        config.format = JsonFormat::Jsonl;
        config.block_size = block;
        config.chunk_size = chunk;
        return make_json_read(std::move(config));
    }

    /// The stage run to its end in batches of `batch` records, on `pool` (none: serially).
    static conveyor::test::SourceRun run(const Stage& stage, std::size_t batch, WorkPool* pool,
                                         StageErrors* errors = nullptr) {
        RunContext context;
        context.work_pool = pool;
        OpenContext ctx;
        ctx.stage_id = "read";
        ctx.batch_size = batch;
        ctx.run = &context;
        ctx.errors = errors;
        return conveyor::test::run_source(stage, ctx);
    }

    static Read read(const Stage& stage, std::size_t batch, WorkPool* pool,
                     StageErrors* errors = nullptr) {
        conveyor::test::SourceRun got = run(stage, batch, pool, errors);
        return {test_util::to_jsonl(got.batches), std::move(got.error), got.batches.size()};
    }

    conveyor::test::TempDir dir_;
    conveyor::test::ThreadWorkPool pool_{2};
};

TEST_F(JsonChunks, EveryChunkSizeGivesTheSerialRecords) {
    for (std::uint32_t seed = 1; seed <= 5; ++seed) {
        const std::string text = random_jsonl(seed, 60, 30);
        const Read serial = read(*stage_for(text, 1), 4, nullptr);
        ASSERT_FALSE(serial.error) << serial.error->to_string();
        ASSERT_FALSE(serial.records.empty());
        // Chunks of 1 byte put a boundary at every position of the file.
        for (std::uint64_t chunk = 1; chunk <= 60; ++chunk) {
            SCOPED_TRACE("seed " + std::to_string(seed) + ", chunk " + std::to_string(chunk));
            const Read parallel =
                read(*stage_for(text, chunk, chunk % 3 ? 1 << 20 : 16), 1 + chunk % 5, &pool_);
            ASSERT_FALSE(parallel.error) << parallel.error->to_string();
            EXPECT_EQ(parallel.records, serial.records);
        }
    }
}

TEST_F(JsonChunks, LongLinesAcrossManyChunksAndBlocks) {
    // Lines of a few KiB over chunks of 100 bytes and blocks of 64: most chunks lie inside one
    // line and have no record of their own.
    for (std::uint32_t seed = 10; seed < 14; ++seed) {
        const std::string text = random_jsonl(seed, 80, 3000);
        const Read serial = read(*stage_for(text, 1 << 30), 7, nullptr);
        ASSERT_FALSE(serial.error) << serial.error->to_string();
        for (std::uint64_t chunk : {100, 777, 4096, 20000}) {
            SCOPED_TRACE("seed " + std::to_string(seed) + ", chunk " + std::to_string(chunk));
            const Read parallel = read(*stage_for(text, chunk, 64), 7, &pool_);
            ASSERT_FALSE(parallel.error) << parallel.error->to_string();
            EXPECT_EQ(parallel.records, serial.records);
        }
    }
}

TEST_F(JsonChunks, BigFileInDefaultChunksIsSplitAndKeepsOrder) {
    const std::string text = random_jsonl(99, 100000);
    ASSERT_GT(text.size(), 3u * (4 << 20) / 2);
    const Read serial = read(*stage_for(text, 1 << 30), 4096, nullptr);
    JsonReadConfig defaults;
    const Read parallel = read(*stage_for(text, defaults.chunk_size), 4096, &pool_);
    ASSERT_FALSE(parallel.error);
    EXPECT_EQ(parallel.records, serial.records);
}

// Each chunk's first read took a whole buffer (two blocks), so a file read in chunks of one
// block was read twice over. A chunk now reads to its limit and a little past it; what is read
// twice is the serial reader's first buffer (two blocks, for the first record).
TEST_F(JsonChunks, ChunksReadLittleMoreThanTheFile) {
    const std::string text = random_jsonl(7, 120000);
    ASSERT_GT(text.size(), std::size_t{8} << 20);
    const Read serial = read(*stage_for(text, 1 << 30), 4096, nullptr);
    const conveyor::test::ReadCounts before = conveyor::test::read_counts();
    const Read parallel = read(*stage_for(text, 1 << 20), 4096, &pool_);
    const conveyor::test::ReadCounts after = conveyor::test::read_counts();
    ASSERT_FALSE(parallel.error);
    EXPECT_EQ(parallel.records, serial.records);
    EXPECT_LT(after.bytes - before.bytes, text.size() + text.size() / 8 + (std::size_t{2} << 20));
}

// Batches of a chunk hold its read buffer (records are parsed where they lie). What a batch
// counts for memory budgets is the text of its own records (and its arena), as csv.read counts
// the bytes a batch covers: a ten-record batch counting the whole buffer (a chunk's 1 MiB and
// more) would look a hundred times its size.
TEST_F(JsonChunks, SmallBatchesCountTheirOwnTextNotTheWholeBuffer) {
    const std::string text = random_jsonl(11, 30000);
    ASSERT_GT(text.size(), std::size_t{2} << 20);
    const conveyor::test::SourceRun got = run(*stage_for(text, 1 << 20), 10, &pool_);
    ASSERT_FALSE(got.error);
    ASSERT_GT(got.batches.size(), 1000u);
    std::size_t largest = 0;
    for (const Batch& b : got.batches) {
        EXPECT_GT(b.payload_bytes(), 0u);
        largest = std::max(largest, b.payload_bytes());
    }
    EXPECT_LT(largest, std::size_t{1} << 19);
}

TEST_F(JsonChunks, WithoutAnyWorkerTheSourceParsesEveryChunkItself) {
    const std::string text = random_jsonl(3, 200);
    const Read serial = read(*stage_for(text, 1), 3, nullptr);
    conveyor::test::IdleWorkPool idle(2);
    EXPECT_EQ(read(*stage_for(text, 50), 3, &idle).records, serial.records);
    idle.run_all();
}

/// The random file with bad lines in it: invalid JSON, a line that is not an object.
std::string with_bad_lines(std::uint32_t seed, int rows) {
    std::string text = random_jsonl(seed, rows);
    if (text.back() != '\n') text += "\n";
    std::mt19937 rng(seed);
    static const char* const kBad[] = {"{\"id\":\"broken\",", "[1,2,3]",       "{\"a\":tru}",
                                       "{\"a\":1} trailing",  "\"just text\"", "{\"a\":\"\\x\"}"};
    std::string out;
    std::size_t at = 0;
    int n = 0;
    while (at < text.size()) {
        const std::size_t lf = text.find('\n', at);
        out += text.substr(at, lf - at + 1);
        at = lf + 1;
        if (++n % 37 == 0) out += std::string(kBad[rng() % 6]) + (n % 2 ? "\r\n" : "\n");
    }
    return out;
}

TEST_F(JsonChunks, ErrorsAreTheSerialReadersWithTheirLine) {
    for (std::uint32_t seed = 1; seed <= 4; ++seed) {
        const std::string text = with_bad_lines(seed, 150);
        const Read serial = read(*stage_for(text, 1), 4, nullptr);
        ASSERT_TRUE(serial.error);
        for (std::uint64_t chunk : {1, 2, 3, 17, 64, 333, 5000}) {
            SCOPED_TRACE("seed " + std::to_string(seed) + ", chunk " + std::to_string(chunk));
            const Read parallel = read(*stage_for(text, chunk), 4, &pool_);
            ASSERT_TRUE(parallel.error);
            EXPECT_EQ(parallel.error->to_string(), serial.error->to_string());
            EXPECT_EQ(parallel.records, serial.records);
        }
    }
}

/// The dead-letter file's entries without their timestamps.
std::vector<std::string> dead_letters(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t at = line.find(",\"timestamp\":");
        if (at != std::string::npos) line.erase(at, line.find(',', at + 1) - at);
        out.push_back(line);
    }
    return out;
}

TEST_F(JsonChunks, DeadLettersAndTypeErrorsAreTheSerialReaders) {
    JsonReadConfig typed;
    // "n" is a number or missing; "text" is sometimes a string that is not a number.
    typed.column_types = {{"n", coltype::ColumnType::String}, {"text", coltype::ColumnType::Int}};
    for (std::uint32_t seed = 1; seed <= 3; ++seed) {
        const std::string text = with_bad_lines(seed, 200);
        for (const ErrorStrategy strategy : {ErrorStrategy::Continue, ErrorStrategy::Stop}) {
            for (const bool types : {false, true}) {
                ErrorHandlingSpec policy;
                policy.strategy = strategy;
                policy.dead_letter_enabled = true;
                auto run_with = [&](const std::string& name, std::uint64_t chunk, WorkPool* pool) {
                    RunContext run;
                    auto dlq = DeadLetterQueue::open(dir_.file(name), &run);
                    EXPECT_TRUE(dlq) << dlq.error().to_string();
                    StageErrors errors("read", policy, dlq->get(), nullptr);
                    Read r =
                        read(*stage_for(text, chunk, 1 << 20, types ? typed : JsonReadConfig{}), 5,
                             pool, &errors);
                    EXPECT_TRUE((*dlq)->commit());
                    return std::make_pair(r, dead_letters(dir_.file(name)));
                };
                const auto [serial, serial_dl] = run_with("serial.jsonl", 1, nullptr);
                if (strategy == ErrorStrategy::Continue) {
                    ASSERT_FALSE(serial.error) << serial.error->to_string();
                    ASSERT_GE(serial_dl.size(), 4u);
                } else {
                    ASSERT_TRUE(serial.error);
                }
                for (std::uint64_t chunk : {1, 9, 200, 3000}) {
                    SCOPED_TRACE("seed " + std::to_string(seed) + ", chunk " +
                                 std::to_string(chunk) + (types ? ", types" : ""));
                    const auto [parallel, parallel_dl] = run_with("p.jsonl", chunk, &pool_);
                    EXPECT_EQ(parallel.records, serial.records);
                    EXPECT_EQ(parallel_dl, serial_dl);
                    ASSERT_EQ(parallel.error.has_value(), serial.error.has_value());
                    if (serial.error) {
                        EXPECT_EQ(parallel.error->to_string(), serial.error->to_string());
                    }
                }
            }
        }
    }
}

TEST_F(JsonChunks, ShardsOfRowsReadInChunksAddUpToTheFile) {
    const std::string text = random_jsonl(21, 400);
    const Read whole = read(*stage_for(text, 1 << 30), 5, nullptr);
    ASSERT_FALSE(whole.error);
    for (std::uint32_t count : {1u, 2u, 3u, 7u}) {
        for (std::uint64_t chunk : {1, 50, 700}) {
            SCOPED_TRACE(std::to_string(count) + " shards, chunk " + std::to_string(chunk));
            std::string joined;
            for (std::uint32_t i = 0; i < count; ++i) {
                JsonReadConfig config;
                config.shard = SourceShard{ShardId{i, count}, Partition::Rows, ""};
                const std::string serial =
                    read(*stage_for(text, chunk, 1 << 20, config), 5, nullptr).records;
                const Read parallel = read(*stage_for(text, chunk, 1 << 20, config), 5, &pool_);
                ASSERT_FALSE(parallel.error) << parallel.error->to_string();
                EXPECT_EQ(parallel.records, serial) << "shard " << i;
                joined += parallel.records;
            }
            EXPECT_EQ(joined, whole.records);
        }
    }
}

/// Reads the rest of a file from checkpoint `position` serially.
Read resume_serially(const Stage& stage, const std::string& position) {
    OpenContext ctx;
    ctx.stage_id = "read";
    ctx.batch_size = 4;
    ctx.resume = position;
    conveyor::test::SourceRun rest = conveyor::test::run_source(stage, ctx);
    return {test_util::to_jsonl(rest.batches), std::move(rest.error), rest.batches.size()};
}

/// Reads with the pool, taking a checkpoint after every next(): resuming (serially) from each
/// gives exactly the records after it, and the error at the end names the same line.
TEST_F(JsonChunks, CheckpointPositionsResumeExactly) {
    std::string text = random_jsonl(5, 120);
    if (text.back() != '\n') text += "\r\n";
    text += "\n{\"id\":\"last\"}\n{\"broken\":\n";
    for (std::uint64_t chunk : {1, 9, 128, 1000}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        auto stage = stage_for(text, chunk);
        const Read full = read(*stage, 4, nullptr);
        ASSERT_TRUE(full.error);
        RunContext run;
        run.work_pool = &pool_;
        OpenContext ctx;
        ctx.stage_id = "read";
        ctx.batch_size = 4;
        ctx.run = &run;
        auto opened = stage->open(ctx);
        ASSERT_TRUE(opened);
        ASSERT_TRUE(opened->checkpoints);
        auto& op = std::get<std::unique_ptr<SourceOperator>>(opened->op);
        CollectingEmitter out;
        std::string seen;
        std::size_t count = 0;
        for (;;) {
            auto more = op->next(out);
            std::vector<Batch> batches = out.take();
            count += test_util::total_rows(batches);
            seen += test_util::to_jsonl(batches);
            if (!more) {
                EXPECT_EQ(more.error().to_string(), full.error->to_string());
                break;
            }
            ASSERT_TRUE(*more);
            auto position = op->checkpoint(Checkpoint{1, false});
            ASSERT_TRUE(position);
            SCOPED_TRACE(*position);
            EXPECT_NE(position->find(" records=" + std::to_string(count) + " "), std::string::npos);
            const Read rest = resume_serially(*stage, *position);
            ASSERT_TRUE(rest.error);
            EXPECT_EQ(rest.error->to_string(), full.error->to_string());
            EXPECT_EQ(seen + rest.records, full.records);
        }
        EXPECT_EQ(seen, full.records);
    }
}

} // namespace
} // namespace conveyor::plugins::json
