// csv.read checkpoints (`conveyor run --resume`): a run cut after any record and resumed from
// the position checkpoint() reported produces exactly the records of an uninterrupted run, with
// the same file:line in errors and dead-letter entries.

#include "conveyor/core/run_context.hpp"
#include "conveyor/exec/dead_letter.hpp"
#include "conveyor/exec/stage_errors.hpp"
#include "conveyor/recordio/csv_read.hpp"
#include "csv_test_support.hpp"
#include "support/process.hpp"

#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <limits>
#include <sstream>
#include <unistd.h>

namespace conveyor::recordio::csv {
namespace {

using test::Rows;

/// What one open() of the stage and some next() calls produced.
struct Part {
    Rows rows;
    std::optional<Error> error; ///< from open() or next()
    bool checkpoints = false;   ///< OpenedStage::checkpoints
    std::string position;       ///< checkpoint() after the last next() (when not at the end)
    bool ended = false;
};

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

/// Opens `stage` (resuming from `resume` when set) and calls next() until at least `stop_after`
/// records came out, the input ended or an error came; then asks for a checkpoint.
Part read_part(const Stage& stage, std::size_t batch_size, std::optional<std::string> resume,
               std::size_t stop_after = kAll, StageErrors* errors = nullptr,
               RunContext* run = nullptr) {
    OpenContext ctx;
    ctx.stage_id = "stage1";
    ctx.batch_size = batch_size;
    ctx.resume = std::move(resume);
    ctx.errors = errors;
    ctx.run = run;
    test::SourceRun got{conveyor::test::run_source(stage, ctx, stop_after, true)};
    return {got.rows(), std::move(got.error), got.checkpoints, std::move(got.position), got.ended};
}

/// A file that exercises the reader: a byte order mark, a header, quoted fields with line
/// breaks (LF and CRLF) and doubled quotes, CRLF and LF line ends, blank lines, numbers and
/// text for type inference, and fields longer than the tiny blocks the tests use.
std::string tricky_csv(std::size_t rows) {
    std::string text = "\xEF\xBB\xBFid,name,note,score\r\n";
    for (std::size_t i = 0; i < rows; ++i) {
        const std::string id = std::to_string(i);
        switch (i % 6) {
        case 0:
            text += id + ",plain" + id + ",,1.50\n";
            break;
        case 1:
            text += id + ",\"two\nlines " + id + "\",\"say \"\"hi\"\"\",007\r\n";
            break;
        case 2:
            text += id + ",\"crlf\r\ninside\",x," + id + "\n\n";
            break;
        case 3:
            text += id + ",\"" + std::string(40 + i % 17, 'w') + "\",\"a,b\",-3\r\n\r\n";
            break;
        case 4:
            text += id + ",\"\",\"multi\n\nblank\nlines\",true\n";
            break;
        default:
            text += id + ",\"end\"tail,z,+1\n";
            break;
        }
    }
    return text;
}

class CsvResume : public ::testing::Test {
protected:
    std::unique_ptr<Stage> stage_for(const std::string& text, CsvReadConfig config = {}) {
        config.path = dir_.write("data.csv", text);
        path_ = config.path;
        return make_csv_read_stage(std::move(config));
    }

    /// Cuts a read of `stage` after about k records for every k in `cuts` and resumes it:
    /// the two parts together must be exactly `all`.
    static void expect_resumes(const Stage& stage, const Rows& all, std::size_t batch,
                               const std::vector<std::size_t>& cuts) {
        for (std::size_t k : cuts) {
            SCOPED_TRACE("cut after " + std::to_string(k) + ", batch " + std::to_string(batch));
            Part first = read_part(stage, batch, std::nullopt, k);
            ASSERT_FALSE(first.error) << first.error->to_string();
            EXPECT_TRUE(first.checkpoints);
            Part rest = read_part(stage, batch, first.position);
            ASSERT_FALSE(rest.error) << rest.error->to_string() << "\nposition " << first.position;
            EXPECT_TRUE(rest.checkpoints);
            EXPECT_TRUE(rest.ended);
            Rows joined = first.rows;
            joined.insert(joined.end(), rest.rows.begin(), rest.rows.end());
            ASSERT_EQ(joined.size(), all.size()) << first.position;
            EXPECT_EQ(joined, all) << first.position;

            // A resumed run can be cut and resumed again.
            if (first.rows.size() < all.size()) {
                Part second = read_part(stage, batch, first.position, 1);
                ASSERT_FALSE(second.error) << second.error->to_string();
                Part third = read_part(stage, batch, second.position);
                ASSERT_FALSE(third.error) << third.error->to_string();
                Rows again = first.rows;
                again.insert(again.end(), second.rows.begin(), second.rows.end());
                again.insert(again.end(), third.rows.begin(), third.rows.end());
                EXPECT_EQ(again, all);
            }
        }
    }

    std::string where(std::uint64_t line) const { return path_ + ":" + std::to_string(line); }

    conveyor::test::TempDir dir_;
    std::string path_;
};

TEST_F(CsvResume, ContinuesAfterTheLastEmittedRecordAcrossBlocks) {
    const std::string text = tricky_csv(240);
    for (std::size_t block : {std::size_t{7}, std::size_t{64}, kDefaultBlockSize}) {
        CsvReadConfig config;
        config.block_size = block;
        auto stage = stage_for(text, config);
        const test::SourceRun full = test::run_source(*stage);
        ASSERT_FALSE(full.error) << full.error->to_string();
        const Rows all = full.rows();
        ASSERT_EQ(all.size(), 240u);
        for (std::size_t batch : {std::size_t{1}, std::size_t{5}, std::size_t{64}})
            expect_resumes(*stage, all, batch, {0, 1, 2, 3, 7, 50, 119, 200, 239, 240});
    }
}

TEST_F(CsvResume, WithoutTypeInferenceOrHeader) {
    const std::string text = tricky_csv(60);
    {
        CsvReadConfig config;
        config.infer_types = false;
        config.block_size = 16;
        auto stage = stage_for(text, config);
        const Rows all = test::run_source(*stage).rows();
        ASSERT_EQ(all.size(), 60u);
        expect_resumes(*stage, all, 4, {0, 1, 10, 59, 60});
    }
    {
        // The first record is read at open() for the width; a checkpoint taken before it went
        // out must bring it back.
        CsvReadConfig config;
        config.headers = false;
        config.block_size = 16;
        auto stage = stage_for(text, config);
        const Rows all = test::run_source(*stage).rows();
        ASSERT_EQ(all.size(), 61u);
        EXPECT_EQ(all[0][0], "s:id");
        expect_resumes(*stage, all, 3, {0, 1, 2, 30, 61});
    }
    {
        CsvReadConfig config;
        config.headers = false;
        config.columns = std::vector<std::string>{"a", "b", "c", "d"};
        auto stage = stage_for(text, config);
        const Rows all = test::run_source(*stage).rows();
        ASSERT_EQ(all.size(), 61u);
        expect_resumes(*stage, all, 2, {0, 1, 33, 61});
    }
}

TEST_F(CsvResume, LastRecordWithoutLineBreak) {
    auto stage = stage_for("a,b\n1,\"x\ny\"\n2,3");
    const Rows all = test::run_source(*stage).rows();
    ASSERT_EQ(all.size(), 2u);
    expect_resumes(*stage, all, 1, {0, 1, 2});
}

TEST_F(CsvResume, ErrorLinesAfterAResumeAreThoseOfAFullRead) {
    std::string text = tricky_csv(200);
    text += "999,too,many,fields,here\n"; // a ragged row near the end
    text += "1000,a,b,c\n";
    CsvReadConfig config;
    config.block_size = 32;
    auto stage = stage_for(text, config);
    const test::SourceRun full = test::run_source(*stage, 7);
    ASSERT_TRUE(full.error);
    const std::string expected = full.error->where;
    EXPECT_EQ(full.error->kind, ErrorKind::Data);
    const Rows before_error = full.rows();
    ASSERT_EQ(before_error.size(), 200u);

    for (std::size_t k : {std::size_t{0}, std::size_t{10}, std::size_t{150}}) {
        Part first = read_part(*stage, 7, std::nullopt, k);
        ASSERT_FALSE(first.error);
        Part rest = read_part(*stage, 7, first.position);
        ASSERT_TRUE(rest.error);
        EXPECT_EQ(rest.error->where, expected);
        EXPECT_EQ(rest.error->to_string(), full.error->to_string());
        Rows joined = first.rows;
        joined.insert(joined.end(), rest.rows.begin(), rest.rows.end());
        EXPECT_EQ(joined, before_error);
    }

    // An unclosed quote near the end: the line where it opens.
    std::string unclosed = tricky_csv(100) + "100,\"never closed\n101,a,b,c\n";
    auto stage2 = stage_for(unclosed, config);
    const test::SourceRun full2 = test::run_source(*stage2, 7);
    ASSERT_TRUE(full2.error);
    Part first = read_part(*stage2, 7, std::nullopt, 60);
    Part rest = read_part(*stage2, 7, first.position);
    ASSERT_TRUE(rest.error);
    EXPECT_EQ(rest.error->where, full2.error->where);
}

/// The dead-letter entries ("where" of each) a read wrote.
std::vector<std::string> dead_letter_wheres(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t at = line.find("\"where\":\"");
        if (at == std::string::npos) continue;
        const std::size_t from = at + 9;
        out.push_back(line.substr(from, line.find('"', from) - from));
    }
    return out;
}

TEST_F(CsvResume, DeadLetterEntriesKeepTheirLinesAndRaggedSkipsAreCounted) {
    std::string text = "a,b\n";
    for (int i = 0; i < 100; ++i) {
        text += std::to_string(i) + ",\"v\n" + std::to_string(i) + "\"\n";
        if (i == 20 || i == 80) text += "bad,row,here\n";
    }
    CsvReadConfig config;
    config.block_size = 16;
    auto stage = stage_for(text, config);

    ErrorHandlingSpec policy;
    policy.strategy = ErrorStrategy::Continue;
    policy.dead_letter_enabled = true;
    RunContext run;
    auto read_with_dlq = [&](const std::string& name, std::optional<std::string> resume,
                             std::size_t stop_after) {
        auto dlq = DeadLetterQueue::open(dir_.file(name), &run);
        EXPECT_TRUE(dlq) << dlq.error().to_string();
        StageErrors errors("stage1", policy, dlq->get(), nullptr);
        Part part = read_part(*stage, 4, std::move(resume), stop_after, &errors);
        EXPECT_TRUE((*dlq)->commit());
        return std::make_pair(part, dead_letter_wheres(dir_.file(name)));
    };
    const auto [full, full_wheres] = read_with_dlq("full.jsonl", std::nullopt, kAll);
    ASSERT_EQ(full_wheres.size(), 2u);
    EXPECT_EQ(full_wheres[1], where(165));
    const auto [first, first_wheres] = read_with_dlq("first.jsonl", std::nullopt, 50);
    const auto [rest, rest_wheres] = read_with_dlq("rest.jsonl", first.position, kAll);
    EXPECT_EQ(first_wheres, std::vector<std::string>{full_wheres[0]});
    EXPECT_EQ(rest_wheres, std::vector<std::string>{full_wheres[1]});
    Rows joined = first.rows;
    joined.insert(joined.end(), rest.rows.begin(), rest.rows.end());
    EXPECT_EQ(joined, full.rows);

    // on_ragged = "skip": the count and the first skipped row's line go on after a resume.
    CsvReadConfig skip = config;
    skip.on_ragged = RaggedPolicy::Skip;
    auto skipping = stage_for(text, skip);
    Part part1 = read_part(*skipping, 4, std::nullopt, 50);
    EXPECT_NE(part1.position.find(" skipped=1 first_skipped=44 "), std::string::npos)
        << part1.position;
    test::LogCapture log;
    Part part2 = read_part(*skipping, 4, part1.position);
    ASSERT_FALSE(part2.error);
    EXPECT_EQ(part1.rows.size() + part2.rows.size(), 100u);
    bool warned = false;
    for (const std::string& l : log.lines())
        warned = warned || (l.find("skipped 2 rows") != std::string::npos &&
                            l.find("the first was at " + where(44)) != std::string::npos);
    EXPECT_TRUE(warned);
}

TEST_F(CsvResume, PositionFormat) {
    auto stage = stage_for("id,v\n1,a\n2,b\n3,c\n");
    Part first = read_part(*stage, 1, std::nullopt, 2);
    ASSERT_EQ(first.rows.size(), 2u);
    // After "id,v\n1,a\n2,b\n": byte 13, line 4.
    EXPECT_EQ(first.position.rfind("csv1 offset=13 line=4 records=2 columns=2 skipped=0 "
                                   "first_skipped=0 check=",
                                   0),
              0u)
        << first.position;
}

TEST_F(CsvResume, MalformedOrMismatchedPositionsFailOpenWithAConfigError) {
    const std::string text = tricky_csv(20);
    auto stage = stage_for(text);
    Part first = read_part(*stage, 2, std::nullopt, 6);
    ASSERT_FALSE(first.error);
    const std::string good = first.position;

    auto replace = [&](const std::string& key, const std::string& value) {
        std::istringstream in(good);
        std::string token, out;
        while (in >> token) {
            if (token.rfind(key + "=", 0) == 0) token = key + "=" + value;
            out += (out.empty() ? "" : " ") + token;
        }
        return out;
    };
    const std::vector<std::string> bad = {
        "",
        "   ",
        "garbage",
        "csv1",
        "json1 offset=1 line=1 column=1 state=line records=0 check=0",
        "csv2 offset=1 line=1 records=0 columns=4 skipped=0 first_skipped=0 check=0",
        good + " offset=1",
        good + " extra=1",
        good + " junk",
        replace("offset", "abc"),
        replace("offset", "-5"),
        replace("offset", "99999999999999999999999"),
        replace("offset", ""),
        replace("offset", "999999"), // past the end of the file
        replace("offset", "3"),      // inside the header
        replace("offset", "100"),    // not where the checksum was taken
        replace("line", "0"),
        replace("line", "100000"),
        replace("columns", "3"),
        replace("check", "zz"),
        replace("check", "0"),
        replace("skipped", "2"),
    };
    for (const std::string& text_in : bad) {
        SCOPED_TRACE(text_in);
        Part part = read_part(*stage, 2, text_in);
        ASSERT_TRUE(part.error);
        EXPECT_EQ(part.error->kind, ErrorKind::Config) << part.error->to_string();
        EXPECT_EQ(part.error->stage, "stage1");
        EXPECT_EQ(part.error->where, path_) << part.error->to_string();
    }

    // The file changed since the checkpoint.
    std::string changed = text;
    changed[40] = changed[40] == 'x' ? 'y' : 'x';
    auto stage2 = stage_for(changed);
    Part part = read_part(*stage2, 2, good);
    ASSERT_TRUE(part.error);
    EXPECT_EQ(part.error->kind, ErrorKind::Config);
    EXPECT_NE(part.error->message.find("the file has changed"), std::string::npos)
        << part.error->to_string();
    // ... but data appended after it is read on.
    auto stage3 = stage_for(text + "20,more,x,1\n");
    Part appended = read_part(*stage3, 2, good);
    ASSERT_FALSE(appended.error) << appended.error->to_string();
    EXPECT_EQ(first.rows.size() + appended.rows.size(), 21u);
}

TEST_F(CsvResume, StandardInputAndFollowedFilesTakeNoCheckpoints) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string text = "a,b\n1,2\n";
    ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fds[1]);
    RunContext run;
    run.stdin_fd = fds[0];
    CsvReadConfig config;
    config.path = "-";
    auto stdin_stage = make_csv_read_stage(config);
    Part part = read_part(*stdin_stage, 10, std::nullopt, kAll, nullptr, &run);
    ASSERT_FALSE(part.error) << part.error->to_string();
    EXPECT_FALSE(part.checkpoints);
    EXPECT_EQ(part.rows.size(), 1u);
    Part resumed = read_part(*stdin_stage, 10,
                             "csv1 offset=4 line=2 records=0 columns=2 "
                             "skipped=0 first_skipped=0 check=0",
                             kAll, nullptr, &run);
    ASSERT_TRUE(resumed.error);
    EXPECT_EQ(resumed.error->kind, ErrorKind::Config);
    ::close(fds[0]);

    // Standard input redirected from a regular file is still standard input.
    const std::string file = dir_.write("in.csv", text);
    const int fd = ::open(file.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    run.stdin_fd = fd;
    Part redirected = read_part(*stdin_stage, 10, std::nullopt, kAll, nullptr, &run);
    EXPECT_FALSE(redirected.checkpoints);
    ::close(fd);

    CsvReadConfig follow;
    follow.path = file;
    follow.follow = true;
    auto followed = make_csv_read_stage(follow);
    Part f = read_part(*followed, 10,
                       "csv1 offset=4 line=2 records=0 columns=2 skipped=0 "
                       "first_skipped=0 check=0",
                       0, nullptr, &run);
    ASSERT_TRUE(f.error);
    EXPECT_EQ(f.error->kind, ErrorKind::Config);
    EXPECT_NE(f.error->message.find("follow"), std::string::npos);
}

} // namespace
} // namespace conveyor::recordio::csv
