// csv.read parsing one file in chunks on several threads (csv_chunks.hpp): whatever the chunk
// size, so wherever the boundaries fall (inside quoted fields, between the CR and LF of a line
// end, in doubled quotes, in blank lines), the records, their order, the errors with their
// file:line and the checkpoint positions are those of the serial reader.

#include "conveyor/core/run_context.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "csv_test_support.hpp"
#include "support/process.hpp"
#include "support/read_counts.hpp"
#include "support/thread_work_pool.hpp"

#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace conveyor::recordio::csv {
namespace {

using test::Rows;

/// A random CSV file with the header "id,text,n": quoted fields with LF, CRLF and lone CR
/// inside, doubled quotes, delimiters inside quotes, empty quoted fields, quotes inside
/// unquoted fields and text after a closing quote; lines ending with LF, CRLF or CR; blank
/// lines; sometimes no line break at the end.
std::string random_csv(std::uint32_t seed, int rows) {
    std::mt19937 rng(seed);
    auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
    static const char* const kFields[] = {"plain",
                                          "\"two\nlines\"",
                                          "\"crlf\r\ninside\"",
                                          "\"say \"\"hi\"\"\"",
                                          "\"a,b\"",
                                          "\"\"",
                                          "in\"side",
                                          "\"end\"tail",
                                          "\"cr\ronly\"",
                                          "\"\n\n\"",
                                          "\"\"\"\"",
                                          "12.5",
                                          "-7",
                                          "",
                                          "\"x\r\n\r\ny\""};
    static const char* const kEnds[] = {"\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\n\r\n"};
    std::string text = pick(4) == 0 ? "\xEF\xBB\xBFid,text,n\r\n" : "id,text,n\n";
    for (int i = 0; i < rows; ++i) {
        text += std::to_string(i) + "," + kFields[pick(15)] + "," + kFields[pick(15)];
        if (i + 1 < rows || pick(2) == 0) text += kEnds[pick(6)];
    }
    return text;
}

class CsvChunks : public ::testing::Test {
protected:
    std::unique_ptr<Stage> stage_for(const std::string& text, std::uint64_t chunk_size,
                                     CsvReadConfig config = {}) {
        config.path = dir_.write("data.csv", text);
        config.chunk_size = chunk_size;
        return make_csv_read_stage(std::move(config));
    }
    /// Reads with the workers of `pool` (serially without one).
    test::SourceRun read(const Stage& stage, std::size_t batch, WorkPool* pool) {
        RunContext run;
        run.work_pool = pool;
        return test::run_source(stage, batch, &run);
    }

    conveyor::test::TempDir dir_;
    conveyor::test::ThreadWorkPool pool_{2};
};

TEST_F(CsvChunks, EveryChunkSizeGivesTheSerialRecords) {
    for (std::uint32_t seed = 1; seed <= 6; ++seed) {
        const std::string text = random_csv(seed, 120);
        const test::SourceRun serial = read(*stage_for(text, 1), 4, nullptr);
        ASSERT_FALSE(serial.error) << serial.error->to_string();
        const Rows all = serial.rows();
        // Chunks of 1 byte put a boundary at every position of the file.
        for (std::uint64_t chunk = 1; chunk <= 40; ++chunk) {
            SCOPED_TRACE("seed " + std::to_string(seed) + ", chunk " + std::to_string(chunk));
            const test::SourceRun parallel = read(*stage_for(text, chunk), 1 + chunk % 5, &pool_);
            ASSERT_FALSE(parallel.error) << parallel.error->to_string();
            EXPECT_EQ(parallel.names(), serial.names());
            EXPECT_EQ(parallel.rows(), all);
        }
    }
}

TEST_F(CsvChunks, AOneColumnFileKeepsItsBlankLinesAsRecordsWhereverChunksStart) {
    // In a one-column file a blank line is a record (an empty field): a chunk that starts on
    // one must neither skip it nor give it to its neighbour as well.
    std::mt19937 rng(7);
    static const char* const kValues[] = {"a", "\"two\nlines\"", "\"\"", "12", "\"x\r\ny\""};
    static const char* const kShown[] = {"s:a", "s:two\nlines", "s:", "i:12", "s:x\r\ny"};
    static const char* const kEnds[] = {"\n", "\r\n", "\r"};
    for (int round = 0; round < 4; ++round) {
        std::string text = "v\n";
        Rows expected;
        for (int i = 0; i < 60; ++i) {
            const bool blank = rng() % 3 == 0;
            if (blank) {
                expected.push_back({"null"});
            } else {
                const auto k = rng() % 5;
                text += kValues[k];
                expected.push_back({kShown[k]});
            }
            // A blank line's LF right after a CR would make the two one line break.
            const bool after_cr = blank && text.back() == '\r';
            text += kEnds[after_cr ? 1 + rng() % 2 : rng() % 3];
        }
        const test::SourceRun serial = read(*stage_for(text, 1), 4, nullptr);
        ASSERT_FALSE(serial.error) << serial.error->to_string();
        ASSERT_EQ(serial.rows(), expected);
        for (std::uint64_t chunk = 1; chunk <= 30; ++chunk) {
            SCOPED_TRACE("round " + std::to_string(round) + ", chunk " + std::to_string(chunk));
            const test::SourceRun parallel = read(*stage_for(text, chunk), 1 + chunk % 5, &pool_);
            ASSERT_FALSE(parallel.error) << parallel.error->to_string();
            EXPECT_EQ(parallel.rows(), expected);
        }
    }
}

TEST_F(CsvChunks, WithoutQuotingEveryLineStartIsARecordStart) {
    // quote = "": a chunk that starts after a quote must not take it for an open quoted field.
    const std::string text = random_csv(3, 150);
    CsvReadConfig config;
    config.quote = kNoQuote;
    config.delimiter = ';'; // one column: its blank lines are records too
    const test::SourceRun serial = read(*stage_for(text, 1, config), 4, nullptr);
    ASSERT_FALSE(serial.error) << serial.error->to_string();
    ASSERT_GT(serial.rows().size(), 150u) << "every line of the file is a record";
    for (std::uint64_t chunk = 1; chunk <= 40; ++chunk) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        const test::SourceRun parallel =
            read(*stage_for(text, chunk, config), 1 + chunk % 5, &pool_);
        ASSERT_FALSE(parallel.error) << parallel.error->to_string();
        EXPECT_EQ(parallel.rows(), serial.rows());
    }
}

TEST_F(CsvChunks, RandomChunkSizesAndOptions) {
    std::mt19937 rng(42);
    for (int round = 0; round < 40; ++round) {
        const std::string text = random_csv(static_cast<std::uint32_t>(100 + round), 300);
        CsvReadConfig config;
        config.infer_types = rng() % 2 == 0;
        config.block_size = rng() % 2 == 0 ? 16 : kDefaultBlockSize;
        if (rng() % 3 == 0) {
            config.headers = false;
            if (rng() % 2 == 0) config.columns = std::vector<std::string>{"a", "b", "c"};
        }
        const std::uint64_t chunk = 1 + rng() % 600;
        SCOPED_TRACE("round " + std::to_string(round) + ", chunk " + std::to_string(chunk));
        const test::SourceRun serial = read(*stage_for(text, chunk, config), 7, nullptr);
        ASSERT_FALSE(serial.error) << serial.error->to_string();
        const test::SourceRun parallel = read(*stage_for(text, chunk, config), 7, &pool_);
        ASSERT_FALSE(parallel.error) << parallel.error->to_string();
        EXPECT_EQ(parallel.rows(), serial.rows());
    }
}

TEST_F(CsvChunks, BoundariesAtEveryByteOfAHandWrittenFile) {
    // A CRLF, a quoted CRLF, a doubled quote and a blank line: every byte is a chunk start.
    const std::string text = "a,b\r\n1,\"x\r\ny\"\r\n\r\n2,\"q\"\"\n\"\"\"\r\n3,z\r4,\"\n\"\n";
    const Rows all = read(*stage_for(text, 1), 1, nullptr).rows();
    ASSERT_EQ(all.size(), 4u);
    for (std::uint64_t chunk = 1; chunk <= text.size(); ++chunk)
        EXPECT_EQ(read(*stage_for(text, chunk), 2, &pool_).rows(), all) << "chunk " << chunk;
}

TEST_F(CsvChunks, CommentLinesAreSkippedAtEveryChunkBoundary) {
    // Comment lines before the header and between records, one holding a quote and the
    // delimiter; a quoted field with a line that starts with '#' is data.
    const std::string text = "# made by a tool\r\n# it's \"odd, isn't it\na,b\n1,x\n#2,no\r\n"
                             "3,\"y\n# kept\"\n\n# \"\n4,z\n#";
    CsvReadConfig config;
    config.comment = '#';
    const test::SourceRun serial = read(*stage_for(text, 1, config), 1, nullptr);
    ASSERT_FALSE(serial.error) << serial.error->to_string();
    EXPECT_EQ(serial.names(), (std::vector<std::string>{"a", "b"}));
    const Rows all = {{"i:1", "s:x"}, {"i:3", "s:y\n# kept"}, {"i:4", "s:z"}};
    EXPECT_EQ(serial.rows(), all);
    for (std::uint64_t chunk = 1; chunk <= text.size(); ++chunk)
        EXPECT_EQ(read(*stage_for(text, chunk, config), 2, &pool_).rows(), all)
            << "chunk " << chunk;
    config.block_size = 3; // records and comments across many blocks
    EXPECT_EQ(read(*stage_for(text, 1, config), 1, nullptr).rows(), all);
}

TEST_F(CsvChunks, WithoutAnyWorkerTheSourceParsesEveryChunkItself) {
    const std::string text = random_csv(9, 200);
    const Rows all = read(*stage_for(text, 1), 3, nullptr).rows();
    conveyor::test::IdleWorkPool idle(2);
    EXPECT_EQ(read(*stage_for(text, 50), 3, &idle).rows(), all);
    idle.run_all();
}

TEST_F(CsvChunks, ErrorsNameTheLineTheSerialReaderNames) {
    for (std::uint32_t seed = 1; seed <= 4; ++seed) {
        std::string text = random_csv(seed, 150);
        if (text.back() != '\n' && text.back() != '\r') text += "\n";
        std::string ragged = text + "150,too,many,fields\n151,a,b\n";
        std::string unclosed = text + "150,\"never closed\n151,a,b\n";
        for (const std::string& bad : {ragged, unclosed}) {
            const test::SourceRun serial = read(*stage_for(bad, 1), 4, nullptr);
            ASSERT_TRUE(serial.error);
            for (std::uint64_t chunk : {1, 2, 3, 17, 64, 333}) {
                SCOPED_TRACE("seed " + std::to_string(seed) + ", chunk " + std::to_string(chunk));
                const test::SourceRun parallel = read(*stage_for(bad, chunk), 4, &pool_);
                ASSERT_TRUE(parallel.error);
                EXPECT_EQ(parallel.error->to_string(), serial.error->to_string());
                EXPECT_EQ(parallel.rows(), serial.rows());
            }
        }
    }
}

TEST_F(CsvChunks, PaddedSkippedAndTypedRowsAsInASerialRead) {
    std::string text = "id,v,n\n";
    for (int i = 0; i < 200; ++i) {
        text += std::to_string(i) + ",\"a\nb\"," + std::to_string(i * 3) + "\n";
        if (i % 37 == 5) text += std::to_string(i) + ",short\n";
        if (i % 41 == 7) text += std::to_string(i) + ",x,y,too long\n";
    }
    CsvReadConfig pad;
    pad.on_ragged = RaggedPolicy::Skip;
    pad.types = {{"n", coltype::ColumnType::String}};
    for (RaggedPolicy policy : {RaggedPolicy::Skip, RaggedPolicy::Pad}) {
        pad.on_ragged = policy;
        const test::SourceRun serial = read(*stage_for(text, 1, pad), 5, nullptr);
        for (std::uint64_t chunk : {1, 7, 64, 500}) {
            const test::SourceRun parallel = read(*stage_for(text, chunk, pad), 5, &pool_);
            EXPECT_EQ(parallel.rows(), serial.rows()) << "chunk " << chunk;
            ASSERT_EQ(parallel.error.has_value(), serial.error.has_value());
            if (serial.error) {
                EXPECT_EQ(parallel.error->to_string(), serial.error->to_string());
            }
        }
    }
    // A declared type that a field does not have: the serial reader's error and line.
    CsvReadConfig typed;
    typed.types = {{"v", coltype::ColumnType::Int}};
    std::string bad = "id,v\n";
    for (int i = 0; i < 300; ++i)
        bad += std::to_string(i) + "," + (i == 250 ? "\"x\ny\"" : std::to_string(i)) + "\r\n";
    const test::SourceRun serial = read(*stage_for(bad, 1, typed), 6, nullptr);
    ASSERT_TRUE(serial.error);
    for (std::uint64_t chunk : {1, 5, 100}) {
        const test::SourceRun parallel = read(*stage_for(bad, chunk, typed), 6, &pool_);
        ASSERT_TRUE(parallel.error);
        EXPECT_EQ(parallel.error->to_string(), serial.error->to_string());
        EXPECT_EQ(parallel.rows(), serial.rows());
    }
}

/// Reads the rest of a file from checkpoint `position` serially: its records and its error.
test::SourceRun resume_serially(const Stage& stage, OpenContext ctx, const std::string& position) {
    ctx.run = nullptr;
    ctx.resume = position;
    return {conveyor::test::run_source(stage, ctx)};
}

/// Reads with the pool, taking a checkpoint after every next(): resuming (serially) from each
/// must give exactly the records after it, and the error at the end must name the same line
/// (the position's line is right).
TEST_F(CsvChunks, CheckpointPositionsResumeExactly) {
    std::string text = random_csv(5, 150);
    text += "\n150,too,many,fields\n";
    for (std::uint64_t chunk : {1, 9, 128}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        auto stage = stage_for(text, chunk);
        const test::SourceRun full = read(*stage, 4, nullptr);
        ASSERT_TRUE(full.error);
        const Rows all = full.rows();
        RunContext run;
        run.work_pool = &pool_;
        OpenContext ctx;
        ctx.stage_id = "stage1";
        ctx.batch_size = 4;
        ctx.run = &run;
        auto opened = stage->open(ctx);
        ASSERT_TRUE(opened);
        auto& op = std::get<std::unique_ptr<SourceOperator>>(opened->op);
        CollectingEmitter out;
        std::size_t seen = 0;
        for (;;) {
            auto more = op->next(out);
            for (const Batch& b : out.take())
                seen += b.rows();
            if (!more) {
                EXPECT_EQ(more.error().to_string(), full.error->to_string());
                break;
            }
            ASSERT_TRUE(*more);
            auto position = op->checkpoint(Checkpoint{1, false});
            ASSERT_TRUE(position);
            SCOPED_TRACE(*position);
            EXPECT_NE(position->find(" records=" + std::to_string(seen) + " "), std::string::npos);
            const test::SourceRun rest = resume_serially(*stage, ctx, *position);
            ASSERT_TRUE(rest.error);
            EXPECT_EQ(rest.error->to_string(), full.error->to_string());
            const Rows tail(all.begin() + static_cast<std::ptrdiff_t>(seen), all.end());
            EXPECT_EQ(rest.rows(), tail);
        }
        EXPECT_EQ(seen, all.size());
    }
}

/// "a,b" and a record whose second field is `width` bytes, then one short record.
std::string one_long_field(std::size_t width) {
    return "a,b\n1," + std::string(width, 'x') + "\n2,y\n";
}

// A record crossing a chunk's limit was read a few bytes at a time past it (block_size / 8),
// each read parsing the record again from its start: quadratic, seconds for a 50 MB field.
// The reads past the limit now grow with the record.
TEST_F(CsvChunks, ARecordCrossingTheChunkLimitIsReadInGrowingPieces) {
    const std::string text = one_long_field(std::size_t{64} << 10);
    CsvReadConfig config;
    config.block_size = 16; // 2-byte reads past the limit before
    const Rows all = read(*stage_for(text, 1 << 20, config), 4, nullptr).rows();
    ASSERT_EQ(all.size(), 2u);
    auto stage = stage_for(text, 1024, config);
    const conveyor::test::ReadCounts before = conveyor::test::read_counts();
    const test::SourceRun parallel = read(*stage, 4, &pool_);
    const conveyor::test::ReadCounts after = conveyor::test::read_counts();
    ASSERT_FALSE(parallel.error) << parallel.error->to_string();
    EXPECT_EQ(parallel.rows(), all);
    // 16-byte reads up to the limit, a few growing ones past it, one per other chunk (there
    // were 32,000).
    EXPECT_LT(after.calls - before.calls, 1000u);
}

// Every chunk inside a long field looked for its first line start up to the field's end,
// reading the rest of it: a 1 MiB field in 4 KiB chunks was read 128 times over. A chunk now
// looks no further than its limit (no record starts in it: one before spans it).
TEST_F(CsvChunks, ChunksInsideALongFieldReadNoFurtherThanTheirLimit) {
    const std::string text = one_long_field(std::size_t{1} << 20);
    const Rows all = read(*stage_for(text, 1 << 22), 4, nullptr).rows();
    ASSERT_EQ(all.size(), 2u);
    auto stage = stage_for(text, 4096);
    const conveyor::test::ReadCounts before = conveyor::test::read_counts();
    const test::SourceRun parallel = read(*stage, 4, &pool_);
    const conveyor::test::ReadCounts after = conveyor::test::read_counts();
    ASSERT_FALSE(parallel.error) << parallel.error->to_string();
    EXPECT_EQ(parallel.rows(), all);
    EXPECT_LT(after.bytes - before.bytes, 4 * text.size());
}

TEST_F(CsvChunks, RecordsWithTextAfterAClosingQuoteAreWarnedOfWithTheirCountAndFirstLine) {
    // `"q" tail` is read as `q tail` (as most readers do), and a quote that opens a field may
    // take in the lines after it: csv.read said nothing. The count and the first line are the
    // serial reader's wherever the chunk boundaries fall.
    std::string text = "id,text\n";
    for (int i = 0; i < 30; ++i)
        text += std::to_string(i) + (i % 7 == 3 ? ",\"q\" tail\n" : ",\"two\nlines\"\n");
    // Rows 3, 10, 17 and 24; row 3 starts on line 8 (rows 0 to 2 take two lines each).
    for (std::uint64_t chunk : {std::uint64_t{1} << 30, std::uint64_t{1}, std::uint64_t{7},
                                std::uint64_t{16}, std::uint64_t{40}}) {
        test::LogCapture log;
        const auto stage = stage_for(text, chunk);
        const test::SourceRun r = read(*stage, 4, &pool_);
        ASSERT_FALSE(r.error) << r.error->to_string();
        ASSERT_EQ(r.records, 30u);
        std::vector<std::string> warnings;
        for (const std::string& line : log.lines())
            if (line.find("text after its closing quote") != std::string::npos)
                warnings.push_back(line);
        ASSERT_EQ(warnings.size(), 1u) << "chunk " << chunk;
        EXPECT_NE(warnings[0].find(": 4 records have a quoted field"), std::string::npos)
            << "chunk " << chunk << ": " << warnings[0];
        EXPECT_NE(warnings[0].find("the first at " + dir_.file("data.csv") + ":8:"),
                  std::string::npos)
            << "chunk " << chunk << ": " << warnings[0];
    }
    // A file without such a field: no warning.
    test::LogCapture log;
    const auto clean = stage_for("id,text\n1,\"a\"\n2,\"b\"\"c\"\n", 1);
    ASSERT_FALSE(read(*clean, 4, &pool_).error);
    for (const std::string& line : log.lines())
        EXPECT_EQ(line.find("closing quote"), std::string::npos) << line;
}

TEST_F(CsvChunks, EmptyFieldsOfTypedColumnsAreNullWhetherQuotedOrReadAsText) {
    // `types` promises "empty fields stay null", but with infer_types = false (where `,,` is
    // the empty text) or in a file that quotes every field (`""`), an int, float, bool or
    // timestamp column failed on its first empty field: "'' is not an integer".
    std::string text = "id,n,f,b,t,s\n";
    for (int i = 0; i < 40; ++i)
        text += i % 2 ? "\"1\",\"\",\"\",\"\",\"\",\"\"\n" : "2,,,,,\n";
    CsvReadConfig config;
    config.types = {{"n", coltype::ColumnType::Int},
                    {"f", coltype::ColumnType::Float},
                    {"b", coltype::ColumnType::Bool},
                    {"t", coltype::ColumnType::Timestamp},
                    {"s", coltype::ColumnType::String}};
    for (const bool infer : {true, false}) {
        config.infer_types = infer;
        for (std::uint64_t chunk : {std::uint64_t{1} << 30, std::uint64_t{1}, std::uint64_t{9}}) {
            const test::SourceRun r = read(*stage_for(text, chunk, config), 4, &pool_);
            ASSERT_FALSE(r.error) << "infer " << infer << ", chunk " << chunk << ": "
                                  << r.error->to_string();
            const Rows rows = r.rows();
            ASSERT_EQ(rows.size(), 40u);
            for (std::size_t i = 0; i < rows.size(); ++i) {
                const std::string id = infer ? (i % 2 ? "i:1" : "i:2") : (i % 2 ? "s:1" : "s:2");
                // A string column keeps the text: "" stays "", an empty field is null with
                // inference and the empty text without.
                const std::string s = i % 2 || !infer ? "s:" : "null";
                EXPECT_EQ(rows[i],
                          (std::vector<std::string>{id, "null", "null", "null", "null", s}))
                    << "infer " << infer << ", chunk " << chunk << ", row " << i;
            }
        }
    }
}

} // namespace
} // namespace conveyor::recordio::csv
