// postgres.write with many rows the server rejects: each row goes to the table or the
// dead-letter queue once, the server works on each row a few times at most (not once per
// rejected row before it), and the stage's counts add up (in = out + dead-lettered) although
// the rejections are learnt at the end of the load, after the pushes that took the rows.

#include "support/postgres_server.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>

namespace conveyor {
namespace {

using test::PostgresServer;
using test::run_conveyor;
using ::testing::HasSubstr;

constexpr int kRows = 6000;

/// csv `in` -> postgres.write into `table`, continuing past rejected rows into `dead`.
std::string pipeline(const PostgresServer& pg, const std::string& in, const std::string& table,
                     const std::string& dead, const std::string& mode) {
    return "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = { enabled = true, "
           "path = \"" +
           dead +
           "\" }\n[[stages]]\nid = \"in\"\nfunction = \"csv.read\"\ninputs = []\n"
           "[stages.config]\npath = \"" +
           in +
           "\"\n[[stages]]\nid = \"db\"\nfunction = \"postgres.write\"\ninputs = [\"in\"]\n"
           "[stages.config]\ndsn = '" +
           pg.dsn() + "'\ntable = \"" + table + "\"\nmode = \"" + mode + "\"\n" +
           (mode == "upsert" ? "key = [\"id\"]\n" : "");
}

/// A table whose CHECK refuses a negative qty, and a sequence that counts every row the
/// server was handed (a sequence is not rolled back with the refused COPYs).
void make_counted_table(const PostgresServer& pg, const std::string& table) {
    pg.psql("CREATE TABLE " + table + " (id int PRIMARY KEY, qty int CHECK (qty > 0))");
    pg.psql("CREATE SEQUENCE " + table + "_rows");
    pg.psql("CREATE FUNCTION " + table +
            "_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('" + table +
            "_rows'); RETURN NEW; END $$");
    pg.psql("CREATE TRIGGER " + table + "_count BEFORE INSERT ON " + table +
            " FOR EACH ROW EXECUTE FUNCTION " + table + "_count()");
}

long rows_handed(const PostgresServer& pg, const std::string& table) {
    return std::stol(pg.psql("SELECT last_value FROM " + table + "_rows"));
}

/// kRows rows, every 7th with a qty the table refuses.
std::string every_seventh_refused() {
    std::string csv = "id,qty\n";
    for (int i = 1; i <= kRows; ++i)
        csv += std::to_string(i) + "," + (i % 7 == 0 ? "-1" : std::to_string(i)) + "\n";
    return csv;
}

constexpr int kRefused = kRows / 7;

TEST(PostgresRejected, ASinksOutCountsOnlyTheRowsTheDatabaseTook) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    test::TempDir dir;
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, qty int CHECK (qty > 0))");
    const std::string in = dir.write("in.csv", every_seventh_refused());
    // The rows go in one COPY, ended (and its refused rows learnt) when the input ends.
    auto r = run_conveyor(
        {"run", dir.write("p.toml", pipeline(pg, in, "t", dir.file("dead.jsonl"), "append")), "-q",
         "--stats-json", dir.file("stats.json")});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(pg.psql("SELECT count(*) FROM t"), std::to_string(kRows - kRefused) + "\n");
    // It said out 6000 with 857 dead-lettered: more records than came in.
    EXPECT_THAT(test::read_file(dir.file("stats.json")),
                HasSubstr("\"records\":{\"in\":6000,\"out\":5143,\"filtered\":0,\"failed\":857,"
                          "\"dead_lettered\":857,"));
}

TEST(PostgresRejected, ManyRejectedRowsAreEachSentAFewTimesNotOncePerRejectedRow) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    test::TempDir dir;
    const std::string in = dir.write("in.csv", every_seventh_refused());
    for (const std::string mode : {"append", "upsert"}) {
        const std::string table = "t_" + mode;
        make_counted_table(pg, table);
        const std::string dead = dir.file(mode + ".jsonl");
        auto r = run_conveyor(
            {"run", dir.write(mode + ".toml", pipeline(pg, in, table, dead, mode)), "-q"});
        EXPECT_EQ(r.exit_code, 3) << r.err;
        // 1 + ... + 6000 less 7 * (1 + ... + 857)
        EXPECT_EQ(pg.psql("SELECT count(*), sum(id) FROM " + table),
                  std::to_string(kRows - kRefused) + "|15429429\n")
            << mode;
        const std::string dead_letters = test::read_file(dead);
        EXPECT_EQ(std::count(dead_letters.begin(), dead_letters.end(), '\n'), kRefused) << mode;
        EXPECT_THAT(dead_letters, HasSubstr(table + "_qty_check"));
        // Sent again after each refused row, the rows before it made appending quadratic
        // (2.2 million rows for the server here); an upsert's merge went a row at a time.
        EXPECT_LT(rows_handed(pg, table), 4L * kRows) << mode;
    }
}

TEST(PostgresRejected, RowsRefusedForOneReasonShareOneMessageWithoutTheirValues) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    test::TempDir dir;
    pg.psql("CREATE TABLE t (id int PRIMARY KEY, qty int CHECK (qty > 0))");
    // 100 good rows, then 40 repeated keys, 30 quantities that are not integers and 20 that
    // the CHECK refuses: each refused row quotes other values in the server's own text.
    std::string csv = "id,qty\n";
    for (int i = 1; i <= 100; ++i)
        csv += std::to_string(i) + "," + std::to_string(i) + "\n";
    for (int i = 1; i <= 40; ++i)
        csv += std::to_string(i) + "," + std::to_string(1000 + i) + "\n";
    for (int i = 1; i <= 30; ++i)
        csv += std::to_string(200 + i) + ",x" + std::to_string(i) + "\n";
    for (int i = 1; i <= 20; ++i)
        csv += std::to_string(300 + i) + ",-" + std::to_string(i) + "\n";
    const std::string in = dir.write("in.csv", csv);
    auto r = run_conveyor(
        {"run", dir.write("p.toml", pipeline(pg, in, "t", dir.file("dead.jsonl"), "append")), "-q",
         "--stats-json", dir.file("stats.json")});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(pg.psql("SELECT count(*) FROM t"), "100\n");
    const std::string stats = test::read_file(dir.file("stats.json"));
    // Grouped by message: three reasons, with every record counted under its own.
    EXPECT_THAT(stats, HasSubstr("duplicate key value violates unique constraint \\\"t_pkey\\\" "
                                 "(Key (id) already exists.) (SQLSTATE 23505)"))
        << stats;
    EXPECT_THAT(stats, HasSubstr("invalid input syntax for type integer (column qty) (SQLSTATE "
                                 "22P02)"));
    EXPECT_THAT(stats, HasSubstr("violates check constraint \\\"t_qty_check\\\" (SQLSTATE 23514)"));
    EXPECT_THAT(stats, HasSubstr("\"count\":40}"));
    EXPECT_THAT(stats, HasSubstr("\"count\":30}"));
    EXPECT_THAT(stats, HasSubstr("\"count\":20}"));
    EXPECT_EQ(stats.find("=("), std::string::npos) << "no key value in a message";
    EXPECT_EQ(stats.find("Failing row"), std::string::npos);
    EXPECT_EQ(stats.find("x7"), std::string::npos);
    // The records themselves are in the dead letters.
    const std::string dead = test::read_file(dir.file("dead.jsonl"));
    EXPECT_EQ(std::count(dead.begin(), dead.end(), '\n'), 90);
    EXPECT_THAT(dead, HasSubstr("\"record\":{\"id\":207,\"qty\":\"x7\"}"));
    EXPECT_THAT(dead, HasSubstr("\"record\":{\"id\":7,\"qty\":1007}"));
}

TEST(PostgresRejected, ARejectedRowSaysWhichRecordOfTheSinksInputItWas) {
    // "the database rejected the record: invalid input syntax for type integer (column qty)"
    // named the column but not the record: in a run stopped by it, nothing said which of
    // 6000 rows to look at. Records carry no place in their file, so the sink's count is said.
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    test::TempDir dir;
    pg.psql("CREATE TABLE t (id int, qty int)");
    std::string csv = "id,qty\n";
    for (int i = 1; i <= kRows; ++i)
        csv += std::to_string(i) + "," + (i == 4321 ? "oops" : std::to_string(i)) + "\n";
    const std::string in = dir.write("in.csv", csv);
    std::string p = pipeline(pg, in, "t", dir.file("dead.jsonl"), "append");
    p = p.substr(p.find("[[stages]]")); // the default strategy: stop
    auto r = run_conveyor({"run", dir.write("stop.toml", p), "-q"});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("record 4321 of the stage's input: the database rejected the "
                                 "record: invalid input syntax for type integer (column qty)"));
    EXPECT_EQ(pg.psql("SELECT count(*) FROM t"), "0\n");
    // Continuing, each dead letter says it too, after rows the server took.
    r = run_conveyor({"run",
                      dir.write("go.toml", pipeline(pg, in, "t", dir.file("dead.jsonl"), "append")),
                      "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(test::read_file(dir.file("dead.jsonl")),
                HasSubstr("record 4321 of the stage's input\",\"record\":{\"id\":4321,"));
}

} // namespace
} // namespace conveyor
