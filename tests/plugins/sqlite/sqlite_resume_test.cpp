// sqlite.write's side of the resume protocol (stage/table_progress.hpp), driven by hand: the
// database one checkpoint ahead of the run journal (killed between the sink's commit and the
// journal's) is caught up by skipping what it already holds, never writing a row twice.

#include "conveyor/stage/table_progress.hpp"
#include "support/process.hpp"
#include "support/sink_driver.hpp"
#include "support/stage_harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

namespace conveyor {
namespace {

using test::build_stage;

/// Records {"id": from} .. {"id": to - 1}.
Batch ids(int from, int to) {
    std::vector<std::string> objects;
    for (int i = from; i < to; ++i)
        objects.push_back("{\"id\":" + std::to_string(i) + "}");
    return test::batch_from_json(objects);
}

std::string query(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    std::string out;
    sqlite3_exec(
        db, sql.c_str(),
        [](void* o, int n, char** values, char**) {
            auto& s = *static_cast<std::string*>(o);
            for (int i = 0; i < n; ++i)
                s += std::string(i ? "|" : "") + (values[i] ? values[i] : "NULL");
            s += "\n";
            return 0;
        },
        &out, nullptr);
    sqlite3_close(db);
    return out;
}

TEST(SqliteWrite, AResumeFromAnOlderCheckpointSkipsWhatTheDatabaseCommittedAfterIt) {
    test::TempDir dir;
    const std::string path = dir.file("t.db");
    auto built = build_stage("sqlite.write", {{"path", OptionValue(path)},
                                              {"table", OptionValue("t")},
                                              {"create_table", OptionValue(true)}});
    ASSERT_TRUE(built.stage) << built.errors();
    std::string journal_text;
    {
        test::SinkDriver run("db");
        ASSERT_TRUE(run.open(*built.stage, nullptr, std::nullopt).ok());
        EXPECT_TRUE(run.checkpoints);
        std::vector<Batch> batches;
        batches.push_back(ids(1, 11));
        batches.push_back(ids(11, 21));
        ASSERT_TRUE(run.push(batches, 0, 1).ok());
        auto first = run.op->checkpoint(Checkpoint{1, false});
        ASSERT_TRUE(first.ok());
        journal_text = *first; // the journal committed this one ...
        ASSERT_TRUE(run.push(batches, 1, 2).ok());
        ASSERT_TRUE(run.op->checkpoint(Checkpoint{2, false}).ok()); // ... but not this one
        run.op->abort();
    }
    EXPECT_EQ(query(path, "SELECT count(*), max(id) FROM t"), "20|20\n");
    auto progress = TableProgress::parse(journal_text, "x");
    ASSERT_TRUE(progress.ok());
    EXPECT_EQ(progress->records, 10u);

    // Resumed from checkpoint 1: records 11..20 come again, then 21..30.
    test::SinkDriver resumed("db");
    ASSERT_TRUE(resumed.open(*built.stage, nullptr, journal_text).ok());
    std::vector<Batch> batches;
    batches.push_back(ids(11, 16));
    batches.push_back(ids(16, 26));
    batches.push_back(ids(26, 31));
    ASSERT_TRUE(resumed.push(batches, 0, 3).ok());
    ASSERT_TRUE(resumed.finish().ok());
    EXPECT_EQ(query(path, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t"),
              "30|30|1|30\n");
    EXPECT_EQ(query(path, "SELECT sink, records FROM conveyor_progress"), "t:db|30\n");
}

TEST(SqliteWrite, AResumeWhoseRunTheDatabaseDoesNotKnowIsRefused) {
    test::TempDir dir;
    const std::string path = dir.file("t.db");
    auto built = build_stage("sqlite.write", {{"path", OptionValue(path)},
                                              {"table", OptionValue("t")},
                                              {"create_table", OptionValue(true)}});
    ASSERT_TRUE(built.stage) << built.errors();
    test::SinkDriver resumed("db");
    Status s = resumed.open(*built.stage, nullptr, std::string("table1 run=abc records=5"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::Config);
    EXPECT_THAT(s.error().message, ::testing::HasSubstr("no progress row"));
}

TEST(SqliteRead, AResumeStepsOverTheRowsEmittedBeforeTheCheckpoint) {
    test::TempDir dir;
    const std::string path = dir.file("r.db");
    query(path, "CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO r VALUES (1, 'a'), "
                "(2, 'b'), (3, 'c'), (4, 'd')");
    auto built =
        build_stage("sqlite.read", {{"path", OptionValue(path)},
                                    {"query", OptionValue("SELECT * FROM r ORDER BY id")}});
    ASSERT_TRUE(built.stage) << built.errors();
    RunContext run;
    OpenContext ctx;
    ctx.stage_id = "db";
    ctx.batch_size = 3;
    ctx.run = &run;
    {
        auto opened = built.stage->open(ctx);
        ASSERT_TRUE(opened.ok());
        auto& source = *std::get<std::unique_ptr<SourceOperator>>(opened->op);
        CollectingEmitter out;
        ASSERT_TRUE(source.next(out).ok());
        auto text = source.checkpoint(Checkpoint{1, false});
        ASSERT_TRUE(text.ok());
        EXPECT_EQ(*text, "sqliteread1 records=3");
    }
    ctx.resume = "sqliteread1 records=3";
    auto resumed = built.stage->open(ctx);
    ASSERT_TRUE(resumed.ok());
    CollectingEmitter out;
    auto& source = *std::get<std::unique_ptr<SourceOperator>>(resumed->op);
    while (true) {
        auto more = source.next(out);
        ASSERT_TRUE(more.ok());
        if (!*more) break;
    }
    EXPECT_EQ(test::jsonl(out.take()), "{\"id\":4,\"v\":\"d\"}\n");
}

} // namespace
} // namespace conveyor
