// postgres.read and postgres.write against a real PostgreSQL 15 (tests/support/postgres_server):
// every mapped type both ways with NULLs and unicode, and a million rows CSV -> PostgreSQL ->
// NDJSON giving what CSV -> NDJSON gives.

#include "conveyor/core/run_context.hpp"
#include "support/pipelines.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/stage_harness.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::PostgresServer;
using test::run_conveyor;
using test::stage;

std::string toml_string(const std::string& s) {
    std::string out = "'";
    out += s;
    out += "'";
    return out;
}

constexpr const char* kTypesTable = R"(CREATE TABLE all_types (
  id int PRIMARY KEY, i2 smallint, i8 bigint, f4 real, f8 double precision, n numeric(10,2),
  big numeric, t text, vc varchar(20), b boolean, d date, ts timestamp, tz timestamptz, j json,
  jb jsonb, ai int[], at text[], u uuid))";

constexpr const char* kTypesRows = R"(INSERT INTO all_types VALUES
  (1, 7, 9007199254740993, 1.5, 0.1, 12.50, 123456789012345678901234567890.5,
   'héllo 世界 🎉', E'tab\there', true, '2024-02-29', '2024-01-02 03:04:05.5',
   '2024-01-02 03:04:05+02', '{"a":[1,2]}', '{"b": {"c": null}}', '{1,NULL,3}',
   '{"x y","q\"uote",NULL}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL,
   '{}', NULL, NULL))";

TEST(PostgresRun, EveryTypeReadsAsItsValueAndWritesBackUnchangedWithNullsAndUnicode) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql(kTypesTable);
    pg.psql(kTypesRows);
    test::TempDir dir;
    const std::string out = dir.file("out.jsonl");
    const std::string read =
        dir.write("read.toml", stage("db", "postgres.read", "",
                                     "dsn = " + toml_string(pg.dsn()) +
                                         "\nquery = \"SELECT * FROM all_types ORDER BY id\"") +
                                   stage("save", "json.write", "\"db\"",
                                         "path = \"" + out + "\"\nformat = \"jsonl\""));
    auto r = run_conveyor({"run", read, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out),
              "{\"id\":1,\"i2\":7,\"i8\":9007199254740993,\"f4\":1.5,\"f8\":0.1,\"n\":12.50,"
              "\"big\":\"123456789012345678901234567890.5\",\"t\":\"héllo 世界 🎉\","
              "\"vc\":\"tab\\there\",\"b\":true,\"d\":\"2024-02-29\","
              "\"ts\":\"2024-01-02T03:04:05.5\",\"tz\":\"2024-01-02T01:04:05Z\","
              "\"j\":{\"a\":[1,2]},\"jb\":{\"b\":{\"c\":null}},\"ai\":[1,null,3],"
              "\"at\":[\"x y\",\"q\\\"uote\",null],"
              "\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"}\n"
              "{\"id\":2,\"i2\":null,\"i8\":null,\"f4\":null,\"f8\":null,\"n\":null,"
              "\"big\":null,\"t\":null,\"vc\":null,\"b\":false,\"d\":null,\"ts\":null,"
              "\"tz\":null,\"j\":null,\"jb\":null,\"ai\":[],\"at\":null,\"u\":null}\n");

    // And back: the same values into a table of the same types.
    pg.psql("CREATE TABLE copy_types (LIKE all_types INCLUDING ALL)");
    const std::string write = dir.write(
        "write.toml", stage("in", "json.read", "", "path = \"" + out + "\"") +
                          stage("db", "postgres.write", "\"in\"",
                                "dsn = " + toml_string(pg.dsn()) + "\ntable = \"copy_types\""));
    r = run_conveyor({"run", write, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string original = pg.psql("SELECT * FROM all_types ORDER BY id");
    EXPECT_EQ(pg.psql("SELECT * FROM copy_types ORDER BY id"), original);
    EXPECT_THAT(original, ::testing::HasSubstr("héllo 世界 🎉"));
}

/// `rows` rows of id,name,amount,ok,note: unicode and quoted commas in names, two decimals,
/// empty notes (null).
std::string million_csv(int rows) {
    static const char* const names[] = {"Zoë",    "José", "\"Müller, Anna\"",
                                        "Łukasz", "Aiko", "O'Brien"};
    std::string csv = "id,name,amount,ok,note\n";
    csv.reserve(static_cast<std::size_t>(rows) * 40);
    for (int i = 1; i <= rows; ++i) {
        csv += std::to_string(i);
        csv += ',';
        csv += names[i % 6];
        csv += ',';
        csv += std::to_string((i * 37) % 100000);
        csv += '.';
        const int cents = (i * 13) % 100;
        if (cents < 10) csv += '0';
        csv += std::to_string(cents);
        csv += (i % 3 == 0) ? ",true," : ",false,";
        if (i % 5 != 0) csv += "n" + std::to_string(i % 977);
        csv += '\n';
    }
    return csv;
}

TEST(PostgresRun, AMillionRowsCsvToPostgresToNdjsonEqualCsvToNdjson) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2), ok "
            "boolean, note text)");
    test::TempDir dir;
    const std::string csv = dir.write("rows.csv", million_csv(1000000));
    const std::string csv_read =
        stage("in", "csv.read", "", "path = \"" + csv + "\"\ntypes = { ok = \"bool\" }");
    auto load = run_conveyor(
        {"run",
         dir.write("load.toml", "[global]\ncheckpoint_interval = 100000\n" + csv_read +
                                    stage("db", "postgres.write", "\"in\"",
                                          "dsn = " + toml_string(pg.dsn()) + "\ntable = \"big\"")),
         "-q"});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    EXPECT_EQ(pg.psql("SELECT count(*) FROM big"), "1000000\n");
    auto read = run_conveyor(
        {"run",
         dir.write("read.toml",
                   stage("db", "postgres.read", "",
                         "dsn = " + toml_string(pg.dsn()) +
                             "\nquery = \"SELECT * FROM big ORDER BY id\"") +
                       stage("save", "json.write", "\"db\"",
                             "path = \"" + dir.file("db.jsonl") + "\"\nformat = \"jsonl\"")),
         "-q"});
    ASSERT_EQ(read.exit_code, 0) << read.err;
    auto direct = run_conveyor(
        {"run",
         dir.write("direct.toml", csv_read + stage("save", "json.write", "\"in\"",
                                                   "path = \"" + dir.file("direct.jsonl") +
                                                       "\"\nformat = \"jsonl\"")),
         "-q"});
    ASSERT_EQ(direct.exit_code, 0) << direct.err;
    const std::string from_db = test::read_file(dir.file("db.jsonl"));
    const std::string expected = test::read_file(dir.file("direct.jsonl"));
    EXPECT_EQ(from_db.size(), expected.size());
    EXPECT_TRUE(from_db == expected)
        << "first difference at byte "
        << std::distance(from_db.begin(), std::mismatch(from_db.begin(), from_db.end(),
                                                        expected.begin(), expected.end())
                                              .first);
}

/// Everything `source` emits until its end, as JSON lines.
std::string drain(SourceOperator& source) {
    std::vector<Batch> batches;
    CollectingEmitter out;
    for (;;) {
        Result<bool> more = source.next(out);
        EXPECT_TRUE(more.ok()) << (more.ok() ? "" : more.error().to_string());
        if (!more.ok() || !*more) break;
    }
    for (Batch& b : out.take())
        batches.push_back(std::move(b));
    return test::jsonl(batches);
}

TEST(PostgresRead, ACheckpointIsTheRowsEmittedAndAResumeSkipsThemOnTheServer) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE r (id int PRIMARY KEY, v text); INSERT INTO r SELECT i, 'v' || i FROM "
            "generate_series(1, 5) i");
    auto built = test::build_stage("postgres.read", {{"dsn", OptionValue(pg.dsn())},
                                                     {"table", OptionValue("r")},
                                                     {"fetch_size", OptionValue(std::int64_t{2})}});
    ASSERT_TRUE(built.stage) << built.errors();
    RunContext run;
    OpenContext ctx;
    ctx.stage_id = "db";
    ctx.batch_size = 2;
    ctx.run = &run;
    {
        auto opened = built.stage->open(ctx);
        ASSERT_TRUE(opened.ok()) << opened.error().to_string();
        EXPECT_TRUE(opened->checkpoints);
        auto& source = *std::get<std::unique_ptr<SourceOperator>>(opened->op);
        CollectingEmitter out;
        ASSERT_TRUE(source.next(out).ok());
        auto text = source.checkpoint(Checkpoint{1, false});
        ASSERT_TRUE(text.ok());
        EXPECT_EQ(*text, "pgread1 records=2");
    }
    ctx.resume = "pgread1 records=3";
    auto resumed = built.stage->open(ctx);
    ASSERT_TRUE(resumed.ok()) << resumed.error().to_string();
    EXPECT_EQ(drain(*std::get<std::unique_ptr<SourceOperator>>(resumed->op)),
              "{\"id\":4,\"v\":\"v4\"}\n{\"id\":5,\"v\":\"v5\"}\n");
}

} // namespace
} // namespace conveyor
