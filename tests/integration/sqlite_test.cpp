// sqlite.read and sqlite.write through the binary: every type both ways with NULLs and
// unicode, a million rows CSV -> SQLite -> NDJSON equal to CSV -> NDJSON, upsert and replace,
// a rejected row dead-lettered while the rest commit, kill -9 mid-load then --resume leaving
// each row once, and `validate --connect`. (SQLite keeps REAL as a double: 5.10 reads back as
// 5.1, so the CSV here has no trailing zeros.)

#include "support/paths.hpp"
#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace conveyor {
namespace {

using test::numbered_csv;
using test::run_conveyor;
using test::stage;
using ::testing::HasSubstr;

/// sqlite3's answer (waiting for a writer's lock: a run being killed and resumed meanwhile) to
/// `sql` (list mode, '|' between fields).
std::string sqlite(const std::string& db, const std::string& sql) {
    auto r = test::run_process({"/usr/bin/sqlite3", "-cmd", ".timeout 10000", db, sql});
    EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
    return r.out;
}

/// Waits until `table` of `db` holds at least `rows` rows (true) or `timeout` passes (false),
/// while another process writes it. SQLite tells no other process of a commit, so the rows are
/// counted again, but only when the kernel says the writer wrote: in WAL mode (sqlite.write's)
/// every commit is appended to DB-wal, and inotify wakes this wait at each write to that file.
/// (A reader never writes the WAL, so the counting does not wake it.)
bool wait_for_rows(const std::string& db, const std::string& table, int rows,
                   std::chrono::milliseconds timeout) {
    const std::filesystem::path path(db);
    const std::string wal = path.filename().string() + "-wal";
    const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    EXPECT_GE(fd, 0) << std::strerror(errno);
    if (fd < 0 || ::inotify_add_watch(fd, path.parent_path().c_str(), IN_CREATE | IN_MODIFY) < 0) {
        ADD_FAILURE() << "inotify on " << path.parent_path() << ": " << std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return false;
    }
    const auto until = std::chrono::steady_clock::now() + timeout;
    bool reached = false;
    for (bool wrote = true; !reached;) {
        if (wrote) reached = std::stol("0" + sqlite(db, "SELECT count(*) FROM " + table)) >= rows;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (reached || left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        wrote = false;
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        alignas(inotify_event) char buf[4096];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
            for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
                const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
                wrote = wrote || (e->len > 0 && wal == e->name);
                at += sizeof(inotify_event) + e->len;
            }
        }
    }
    ::close(fd);
    return reached;
}

TEST(SqliteRun, EveryTypeReadsAsItsValueAndWritesBackWithNullsAndUnicode) {
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE src (id INTEGER PRIMARY KEY, n INTEGER, r REAL, t TEXT, b BOOLEAN, "
               "j JSON); INSERT INTO src VALUES (1, 9007199254740993, 0.1, 'héllo 世界 🎉', 1, "
               "'{\"a\":[1,null]}'), (2, NULL, NULL, NULL, 0, NULL), (3, -1, 2.5, '', NULL, '[]')");
    const std::string out = dir.file("out.jsonl");
    auto r = run_conveyor(
        {"run",
         dir.write("read.toml",
                   stage("db", "sqlite.read", "",
                         "path = \"" + db + "\"\nquery = \"SELECT * FROM src ORDER BY id\"") +
                       stage("save", "json.write", "\"db\"",
                             "path = \"" + out + "\"\nformat = \"jsonl\"")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out),
              "{\"id\":1,\"n\":9007199254740993,\"r\":0.1,\"t\":\"héllo 世界 🎉\",\"b\":true,"
              "\"j\":{\"a\":[1,null]}}\n"
              "{\"id\":2,\"n\":null,\"r\":null,\"t\":null,\"b\":false,\"j\":null}\n"
              "{\"id\":3,\"n\":-1,\"r\":2.5,\"t\":\"\",\"b\":null,\"j\":[]}\n");
    sqlite(db, "CREATE TABLE dst (id INTEGER PRIMARY KEY, n INTEGER, r REAL, t TEXT, b BOOLEAN, "
               "j JSON)");
    r = run_conveyor(
        {"run",
         dir.write("write.toml", stage("in", "json.read", "", "path = \"" + out + "\"") +
                                     stage("db", "sqlite.write", "\"in\"",
                                           "path = \"" + db + "\"\ntable = \"dst\"")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite(db, "SELECT * FROM dst ORDER BY id"),
              sqlite(db, "SELECT * FROM src ORDER BY id"));
    EXPECT_EQ(sqlite(db, "SELECT typeof(n), typeof(r), typeof(t) FROM dst WHERE id = 1"),
              "integer|real|text\n");
}

TEST(SqliteRun, AMillionRowsCsvToSqliteToNdjsonEqualCsvToNdjson) {
    test::TempDir dir;
    std::string csv = "id,name,amount,note\n";
    for (int i = 1; i <= 1000000; ++i) {
        csv += std::to_string(i) + (i % 2 ? ",Zoë," : ",\"Müller, Anna\",") +
               std::to_string(i % 1000) + "." + std::to_string(i % 9 + 1) + ",";
        if (i % 7) csv += "n" + std::to_string(i % 313);
        csv += "\n";
    }
    const std::string in = dir.write("rows.csv", csv);
    const std::string db = dir.file("t.db");
    const std::string read_csv = stage("in", "csv.read", "", "path = \"" + in + "\"");
    auto r = run_conveyor(
        {"run",
         dir.write("load.toml",
                   "[global]\ncheckpoint_interval = 100000\n" + read_csv +
                       stage("db", "sqlite.write", "\"in\"",
                             "path = \"" + db + "\"\ntable = \"t\"\ncreate_table = true")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_conveyor(
        {"run",
         dir.write("read.toml",
                   stage("db", "sqlite.read", "", "path = \"" + db + "\"\ntable = \"t\"") +
                       stage("save", "json.write", "\"db\"",
                             "path = \"" + dir.file("db.jsonl") + "\"\nformat = \"jsonl\"")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_conveyor(
        {"run",
         dir.write("direct.toml", read_csv + stage("save", "json.write", "\"in\"",
                                                   "path = \"" + dir.file("direct.jsonl") +
                                                       "\"\nformat = \"jsonl\"")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string a = test::read_file(dir.file("db.jsonl"));
    const std::string b = test::read_file(dir.file("direct.jsonl"));
    EXPECT_EQ(a.size(), b.size());
    EXPECT_TRUE(a == b);
}

TEST(SqliteRun, UpsertReplaceAndARejectedRowDeadLettered) {
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER "
               "CHECK (qty > 0)); INSERT INTO items VALUES (1, 'old', 1), (2, 'keep', 2)");
    const std::string in =
        dir.write("in.csv", "id,name,qty\n1,new,10\n3,added,30\n4,,5\n5,bad,-1\n3,again,31\n");
    auto pipeline = [&](const std::string& config) {
        return "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = { enabled = true, "
               "path = \"" +
               dir.file("failed.jsonl") + "\" }\n" +
               stage("in", "csv.read", "", "path = \"" + in + "\"") +
               stage("db", "sqlite.write", "\"in\"", "path = \"" + db + "\"\n" + config);
    };
    auto r = run_conveyor(
        {"run",
         dir.write("up.toml", pipeline("table = \"items\"\nmode = \"upsert\"\nkey = [\"id\"]")),
         "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(sqlite(db, "SELECT * FROM items ORDER BY id"), "1|new|10\n2|keep|2\n3|again|31\n");
    const std::string dead = test::read_file(dir.file("failed.jsonl"));
    EXPECT_THAT(dead, HasSubstr("NOT NULL constraint failed: items.name"));
    EXPECT_THAT(dead, HasSubstr("CHECK constraint failed"));
    // Which record of the sink's input each was (records carry no place in their file).
    EXPECT_THAT(dead, HasSubstr("t.db, record 3 of the stage's input\",\"record\":{\"id\":4,"));
    EXPECT_THAT(dead, HasSubstr("t.db, record 4 of the stage's input\",\"record\":{\"id\":5,"));

    sqlite(db, "CREATE TABLE copy (id INTEGER, name TEXT, qty INTEGER)");
    r = run_conveyor(
        {"run", dir.write("replace.toml", pipeline("table = \"copy\"\nmode = \"replace\"")), "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run_conveyor({"run", dir.file("replace.toml"), "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite(db, "SELECT count(*) FROM copy"), "5\n");
}

/// "id,name" and rows 1..`rows` ("1,name 1", ...).
std::string named_rows_csv(int rows) {
    std::string csv = "id,name\n";
    for (int i = 1; i <= rows; ++i)
        csv += std::to_string(i) + ",name " + std::to_string(i) + "\n";
    return csv;
}

TEST(SqliteRun, AKilledLoadResumesWithEveryRowExactlyOnce) {
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    constexpr int kRows = 600000;
    const std::string in = dir.write("in.csv", named_rows_csv(kRows));
    sqlite(db, "CREATE TABLE t (id INTEGER, name TEXT)");
    dir.write("p.toml", "[global]\ncheckpoint_interval = 1000\n" +
                            stage("in", "csv.read", "", "path = \"" + in + "\"") +
                            stage("db", "sqlite.write", "\"in\"",
                                  "path = \"" + db + "\"\ntable = \"t\"\ncommit_interval = 1000"));
    test::ProcessOptions o;
    o.cwd = dir.path();
    int kills = 0;
    for (const int at : {30000, 250000}) {
        auto child = test::spawn_conveyor(
            kills == 0 ? std::vector<std::string>{"run", "p.toml", "-q"}
                       : std::vector<std::string>{"run", "p.toml", "-q", "--resume"},
            o);
        // Killed once the table holds `at` rows (committed at checkpoints).
        ASSERT_TRUE(wait_for_rows(db, "t", at, std::chrono::seconds(60)))
            << "the table did not reach " << at << " committed rows within 60 s";
        child->signal(SIGKILL);
        EXPECT_EQ(child->wait().exit_code, 128 + SIGKILL);
        ++kills;
        EXPECT_LT(std::stoi(sqlite(db, "SELECT count(*) FROM t")), kRows) << "killed too late";
    }
    auto r = run_conveyor({"run", "p.toml", "-q", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite(db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t"),
              "600000|600000|1|600000\n");
}

TEST(SqliteRun, AStoppedLoadSaysTheTableHoldsTheRowsUpToTheLastCheckpoint) {
    // A SIGTERM after checkpoint commits said "no output was committed", which sends a user to
    // a plain rerun; the table holds the rows up to the last checkpoint and --resume goes on.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    constexpr int kRows = 600000;
    const std::string in = dir.write("in.csv", named_rows_csv(kRows));
    const std::string out = dir.file("copy.csv");
    sqlite(db, "CREATE TABLE t (id INTEGER, name TEXT)");
    // Under channel the stop ends the source while it reads (under dag the fan-out's edge
    // already held the whole input, and draining it loaded every row).
    dir.write("p.toml", "[global]\nexecutor = \"channel\"\ncheckpoint_interval = 1000\n" +
                            stage("in", "csv.read", "", "path = \"" + in + "\"") +
                            stage("db", "sqlite.write", "\"in\"",
                                  "path = \"" + db + "\"\ntable = \"t\"\ncommit_interval = 1000") +
                            stage("copy", "csv.write", "\"in\"", "path = \"" + out + "\""));
    test::ProcessOptions o;
    o.cwd = dir.path();
    auto child = test::spawn_conveyor({"run", "p.toml"}, o);
    ASSERT_TRUE(wait_for_rows(db, "t", 30000, std::chrono::seconds(60)))
        << "the table did not reach 30000 committed rows within 60 s";
    child->signal(SIGTERM);
    const test::ProcessResult stopped = child->wait();
    ASSERT_EQ(stopped.exit_code, 143) << stopped.err;
    EXPECT_LT(std::stoi(sqlite(db, "SELECT count(*) FROM t")), kRows) << "stopped too late";
    EXPECT_THAT(stopped.err, HasSubstr("no file output was committed"));
    EXPECT_THAT(stopped.err, HasSubstr("the database sinks 'db' hold the rows up to the last "
                                       "checkpoint; `conveyor run p.toml --resume` continues"));
    EXPECT_FALSE(std::filesystem::exists(out));
    auto r = run_conveyor({"run", "p.toml", "-q", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite(db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t"),
              "600000|600000|1|600000\n");
}

TEST(SqliteRun, ValidateConnectReportsAMissingTableAndFile) {
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE present (id INTEGER)");
    auto pipeline = [&](const std::string& path, const std::string& table) {
        return stage("db", "sqlite.read", "",
                     "path = \"" + path + "\"\ntable = \"" + table + "\"") +
               stage("out", "stdout.write", "\"db\"", "format = \"jsonl\"");
    };
    auto r = run_conveyor({"validate", "--connect", dir.write("a.toml", pipeline(db, "absent"))});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("no such table: absent"));
    EXPECT_THAT(r.err, HasSubstr("stage 'db'"));
    r = run_conveyor({"validate", "--connect", dir.write("b.toml", pipeline(db, "present"))});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run_conveyor({"run", dir.write("c.toml", pipeline(dir.file("none.db"), "present")), "-q"});
    EXPECT_EQ(r.exit_code, 66) << r.err;
}

TEST(SqliteRun, AWriteToADatabaseThatIsNotThereWithoutCreateTableLeavesNoFile) {
    // Without create_table the table cannot be in a database that does not exist: the run
    // says so (78) and does not leave an empty database file behind; with it, both are made.
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,name\n1,a\n");
    auto pipeline = [&](const std::string& extra) {
        return stage("in", "csv.read", "", "path = \"" + in + "\"") +
               stage("db", "sqlite.write", "\"in\"",
                     "path = \"" + dir.file("new.db") + "\"\ntable = \"t\"\n" + extra);
    };
    auto r = run_conveyor({"run", dir.write("a.toml", pipeline("")), "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("no such SQLite database, so no table 't' (create_table = true "
                                 "creates both"));
    EXPECT_FALSE(std::filesystem::exists(dir.file("new.db")));
    r = run_conveyor({"run", dir.write("b.toml", pipeline("create_table = true")), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite(dir.file("new.db"), "SELECT id, name FROM t"), "1|a\n");
}

TEST(SqliteRun, AnIntegerBeyondInt64KeepsItsDigitsInATextColumn) {
    // It was bound as a double: a TEXT column got "1.23456789012346e+19" for the 20-digit id
    // 12345678901234567890. A numeric column still makes it a REAL, as SQLite does such text.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE t (id TEXT, any_type, r REAL, small TEXT)");
    const std::string in = dir.write(
        "in.jsonl", "{\"id\":12345678901234567890,\"any_type\":-12345678901234567891,\"r\":"
                    "12345678901234567890,\"small\":42}\n");
    auto r =
        run_conveyor({"run",
                      dir.write("load.toml", stage("in", "json.read", "", "path = \"" + in + "\"") +
                                                 stage("db", "sqlite.write", "\"in\"",
                                                       "path = \"" + db + "\"\ntable = \"t\"")),
                      "-q"},
                     {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(
        sqlite(db, "SELECT id, any_type, typeof(r), r = 12345678901234567890.0, small FROM t"),
        "12345678901234567890|-12345678901234567891|real|1|42\n");
}

TEST(SqliteRun, AQueryErrorSaysWhereInTheQueryItIs) {
    // 'near "id": syntax error' did not say which id of the query it meant.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE t (id INTEGER, name TEXT)");
    auto read = [&](const std::string& query) {
        return dir.write(
            "read.toml",
            stage("db", "sqlite.read", "", "path = \"" + db + "\"\nquery = " + query) +
                stage("save", "json.write", "\"db\"", "path = \"" + dir.file("out.jsonl") + "\""));
    };
    auto r = run_conveyor({"run", read("\"SELECT id, name FROM t wher id > 0\""), "-q"},
                          {.cwd = dir.path()});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("near \"id\": syntax error at line 1, column 29 of the query: "
                                 "\"id > 0\""));
    // Lines and columns of a multi-line query, in characters ('é' is one); validate --connect
    // says the same.
    r = run_conveyor(
        {"validate", "--connect", read("'''\nSELECT id, 'é' AS e,\n       nosuch FROM t'''")});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("no such column: nosuch at line 2, column 8 of the query: "
                                 "\"nosuch FROM t\""));
}

TEST(SqliteRun, AnEmptyStringIsStoredAsAnEmptyStringAndNullAsNull) {
    // An empty string went in as NULL (its view had no data pointer, which SQLite binds as
    // NULL): "" read back as null, without a word.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    const std::string in = dir.write("in.jsonl", R"({"id":1,"s":"","j":""}
{"id":2,"s":null,"j":null}
{"id":3,"s":"\\N","j":"x"}
)");
    auto r = run_conveyor(
        {"run",
         dir.write("load.toml",
                   stage("in", "json.read", "", "path = \"" + in + "\"") +
                       stage("db", "sqlite.write", "\"in\"",
                             "path = \"" + db + "\"\ntable = \"t\"\ncreate_table = true")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(sqlite(db, "SELECT id, quote(s), quote(j) FROM t ORDER BY id"),
              "1|''|''\n2|NULL|NULL\n3|'\\N'|'x'\n");
    const std::string out = dir.file("out.jsonl");
    // A name the result repeats gets a suffix (it gave {"id":1,"id":1}).
    r = run_conveyor(
        {"run",
         dir.write("dup.toml",
                   stage("db", "sqlite.read", "",
                         "path = \"" + db + "\"\nquery = \"SELECT id, id FROM t WHERE id = 1\"") +
                       stage("save", "json.write", "\"db\"", "path = \"" + out + "\"")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out), "{\"id\":1,\"id_2\":1}\n");
    r = run_conveyor(
        {"run",
         dir.write("read.toml",
                   stage("db", "sqlite.read", "",
                         "path = \"" + db + "\"\nquery = \"SELECT * FROM t ORDER BY id\"") +
                       stage("save", "json.write", "\"db\"", "path = \"" + out + "\"")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out), R"({"id":1,"s":"","j":""}
{"id":2,"s":null,"j":null}
{"id":3,"s":"\\N","j":"x"}
)");
}

TEST(SqliteRun, ADatabaseInADirectoryNobodyMayWriteIsReadAsItIs) {
    // A database sqlite.write made (WAL mode), in a directory the reader may not write (a
    // read-only mount, another user's directory): SQLite could not make its -shm file, and
    // sqlite.read failed with "attempt to write a readonly database", exit 73, as if it were
    // an output.
    test::TempDir dir;
    const std::string db = dir.file("ro/t.db");
    const std::string in = dir.write("in.jsonl", "{\"id\":1,\"s\":\"a\"}\n{\"id\":2,\"s\":\"\"}\n");
    const std::string load = dir.write(
        "load.toml", stage("in", "json.read", "", "path = \"" + in + "\"") +
                         stage("db", "sqlite.write", "\"in\"",
                               "path = \"" + db + "\"\ntable = \"t\"\ncreate_table = true"));
    // Its directory must be there: SQLite's "unable to open database file" did not say so.
    auto r = run_conveyor({"run", load, "-q"});
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err,
                HasSubstr("(there is no directory " + dir.file("ro") + ": create it first)"));
    std::filesystem::create_directory(dir.file("ro"));
    r = run_conveyor({"run", load, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(sqlite(db, "PRAGMA journal_mode"), "wal\n");
    const std::string read = dir.write(
        "read.toml", stage("db", "sqlite.read", "",
                           "path = \"" + db + "\"\nquery = \"SELECT * FROM t ORDER BY id\"") +
                         stage("out", "stdout.write", "\"db\"", ""));
    // Root may write anywhere: the reader runs as nobody then.
    std::vector<std::string> argv = {test::conveyor_binary(), "run", read, "-q"};
    if (::geteuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "nobody", "--"});
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(dir.file("ro").c_str(), 0555);
    ::chmod(db.c_str(), 0444);
    ::chmod(read.c_str(), 0644);
    r = test::run_process(argv, {.cwd = "/"});
    ::chmod(dir.file("ro").c_str(), 0755);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "{\"id\":1,\"s\":\"a\"}\n{\"id\":2,\"s\":\"\"}\n");
}

TEST(SqliteRun, ABlobReadsAsHexLikeBytea) {
    // A BLOB was read as text: its bytes that are not UTF-8 became U+FFFD in JSON, and a blob
    // of zero bytes came out as "\u0000\u0000\u0000".
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE t (id INTEGER, b BLOB); INSERT INTO t VALUES (1, x'00ff41'), "
               "(2, zeroblob(2)), (3, x''), (4, NULL)");
    const std::string out = dir.file("out.jsonl");
    auto r = run_conveyor(
        {"run",
         dir.write("read.toml",
                   stage("db", "sqlite.read", "",
                         "path = \"" + db + "\"\nquery = \"SELECT id, b FROM t ORDER BY id\"") +
                       stage("save", "json.write", "\"db\"", "path = \"" + out + "\"")),
         "-q"},
        {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out),
              "{\"id\":1,\"b\":\"\\\\x00ff41\"}\n{\"id\":2,\"b\":\"\\\\x0000\"}\n"
              "{\"id\":3,\"b\":\"\\\\x\"}\n{\"id\":4,\"b\":null}\n");
}

TEST(SqliteRun, AFailedAppendIsNotAppendedAgainByItsRerun) {
    // A load that failed at record 5000 kept the checkpoints it had committed, and its rerun
    // (with `--resume` or not) appended them a second time.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE t (id INTEGER, qty INTEGER CHECK (typeof(qty) = 'integer'))");
    const std::string in = dir.write("in.csv", numbered_csv(6000, 5000));
    const std::string pipeline = dir.write(
        "load.toml", "[global]\ncheckpoint_interval = 1000\n" +
                         stage("in", "csv.read", "", "path = \"" + in + "\"") +
                         stage("db", "sqlite.write", "\"in\"",
                               "path = \"" + db + "\"\ntable = \"t\"\ncommit_interval = 1000"));
    auto r = run_conveyor({"run", pipeline, "-q"}, {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 65) << r.err;
    const std::string committed = sqlite(db, "SELECT count(*) FROM t");
    ASSERT_NE(committed, "0\n");
    // The input corrected: its run journal no longer applies, so --resume starts over too.
    dir.write("in.csv", numbered_csv(6000, 0));
    for (const char* resume : {"--resume", "-q"}) {
        r = run_conveyor({"run", pipeline, "-q", resume}, {.cwd = dir.path()});
        EXPECT_EQ(r.exit_code, 78) << r.err;
        EXPECT_THAT(r.err, HasSubstr("appending them again would add them twice"));
        EXPECT_EQ(sqlite(db, "SELECT count(*) FROM t"), committed);
    }
    sqlite(db, "DELETE FROM t; DELETE FROM conveyor_progress");
    for (int run = 1; run <= 2; ++run) {
        r = run_conveyor({"run", pipeline, "-q"}, {.cwd = dir.path()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(sqlite(db, "SELECT count(*), count(DISTINCT id) FROM t"),
                  std::to_string(6000 * run) + "|6000\n");
    }
}

TEST(SqliteRun, AFailedLoadIsContinuedByResumeOnceItsCauseIsMended) {
    // A load that failed (here the database refused record 5000; as well a server that went
    // away, exit 75) kept the rows of its checkpoints but not its journal: neither a rerun nor
    // `--resume` could go on, each exited 78, and the rows had to be deleted by hand.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE t (id INTEGER, qty INTEGER);"
               "CREATE TRIGGER refuse BEFORE INSERT ON t WHEN NEW.id = 5000 "
               "BEGIN SELECT RAISE(ABORT, 'not today'); END");
    const std::string in = dir.write("in.csv", numbered_csv(6000, 0));
    const std::string pipeline = dir.write(
        "load.toml", "[global]\ncheckpoint_interval = 1000\n" +
                         stage("in", "csv.read", "", "path = \"" + in + "\"") +
                         stage("db", "sqlite.write", "\"in\"",
                               "path = \"" + db + "\"\ntable = \"t\"\ncommit_interval = 1000"));
    auto r = run_conveyor({"run", pipeline}, {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("not today"));
    EXPECT_THAT(r.err, HasSubstr("the database sinks 'db' hold the rows up to the last "
                                 "checkpoint; once the cause is mended, `conveyor run " +
                                 pipeline + " --resume` continues after them"));
    const std::string committed = sqlite(db, "SELECT count(*) FROM t");
    ASSERT_NE(committed, "0\n");
    ASSERT_NE(committed, "6000\n");

    // A plain rerun, as the exit code 75 of a server that went away invites, keeps the journal.
    r = run_conveyor({"run", pipeline, "-q"}, {.cwd = dir.path()});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("committed rows to its database sinks at its checkpoints: "
                                 "`conveyor run --resume` continues after them"));
    EXPECT_EQ(sqlite(db, "SELECT count(*) FROM t"), committed);

    sqlite(db, "DROP TRIGGER refuse");
    r = run_conveyor({"run", pipeline, "--resume"}, {.cwd = dir.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("resuming: from checkpoint"));
    EXPECT_EQ(sqlite(db, "SELECT count(*), count(DISTINCT id), sum(qty) FROM t"),
              "6000|6000|18003000\n");
}

TEST(SqliteRun, AFileThatIsNotADatabaseOrADirectoryHasTheExitCodeOfItsSide) {
    // A directory to read failed with "disk I/O error", exit 75 (temporary: retry later), and a
    // file that is not a database to write exited 65 (bad input data) though the input was fine.
    test::TempDir dir;
    const std::string in = dir.write("in.jsonl", "{\"id\":1}\n");
    const std::string not_db = dir.write("not.db", "hello, not a database\n");
    std::filesystem::create_directory(dir.file("dir.db"));
    auto read = [&](const std::string& db) {
        return dir.write(
            "read.toml",
            stage("db", "sqlite.read", "", "path = \"" + db + "\"\nquery = \"SELECT * FROM t\"") +
                stage("save", "json.write", "\"db\"", "path = \"" + dir.file("out.jsonl") + "\""));
    };
    auto write = [&](const std::string& db) {
        return dir.write("write.toml",
                         stage("in", "json.read", "", "path = \"" + in + "\"") +
                             stage("db", "sqlite.write", "\"in\"",
                                   "path = \"" + db + "\"\ntable = \"t\"\ncreate_table = true"));
    };
    auto r = run_conveyor({"run", read(not_db), "-q"}, {.cwd = dir.path()});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("file is not a database"));
    r = run_conveyor({"run", write(not_db), "-q"}, {.cwd = dir.path()});
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("file is not a database"));
    r = run_conveyor({"run", read(dir.file("dir.db")), "-q"}, {.cwd = dir.path()});
    EXPECT_EQ(r.exit_code, 66) << r.err;
    EXPECT_THAT(r.err, HasSubstr("a directory, not a SQLite database"));
    r = run_conveyor({"run", write(dir.file("dir.db")), "-q"}, {.cwd = dir.path()});
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_EQ(test::read_file(not_db), "hello, not a database\n");
}

TEST(SqliteRun, AStopWhileWaitingForAnotherConnectionsLockEndsTheRunAtOnce) {
    // sqlite.write waits up to 10 s for a database another connection holds locked; SIGTERM
    // or Ctrl-C in that wait was answered only when the 10 s were over.
    test::TempDir dir;
    const std::string db = dir.file("t.db");
    sqlite(db, "CREATE TABLE t (id INTEGER)");
    test::Child holder({"/usr/bin/sqlite3", db});
    holder.write_stdin("BEGIN EXCLUSIVE; INSERT INTO t VALUES (0); SELECT 'locked';\n");
    ASSERT_EQ(holder.read_line(std::chrono::seconds(30)), "locked");
    // The run opens the database file, then waits for the lock: its open says it is there.
    const int fd = ::inotify_init1(IN_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_GE(::inotify_add_watch(fd, db.c_str(), IN_OPEN), 0) << std::strerror(errno);
    const std::string in = dir.write("in.jsonl", "{\"id\":1}\n");
    auto run = test::spawn_conveyor(
        {"run",
         dir.write("load.toml", stage("in", "json.read", "", "path = \"" + in + "\"") +
                                    stage("db", "sqlite.write", "\"in\"",
                                          "path = \"" + db + "\"\ntable = \"t\"")),
         "-q"},
        {.cwd = dir.path()});
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 30000), 1) << "the run never opened the database";
    ::close(fd);
    const auto signalled = std::chrono::steady_clock::now();
    run->signal(SIGTERM);
    const test::ProcessResult r = run->wait(std::chrono::seconds(30));
    const auto took = std::chrono::steady_clock::now() - signalled;
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_LT(took, std::chrono::seconds(5));
    holder.close_stdin();
    holder.wait();
    EXPECT_EQ(sqlite(db, "SELECT count(*) FROM t"), "0\n");
}

} // namespace
} // namespace conveyor
