// postgres.write's loading semantics against a real PostgreSQL 15: upsert and replace, a row
// the server rejects dead-lettered while the others commit, kill -9 in the middle of a load
// then --resume leaving each row exactly once, and the exit codes of connection,
// authentication and missing-table errors (`validate --connect` too).

#include "support/pipelines.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>

namespace conveyor {
namespace {

using test::PostgresServer;
using test::run_conveyor;
using test::stage;
using ::testing::HasSubstr;
using ::testing::Not;

/// The rows committed into a table, as the server tells them: a statement trigger adds what
/// each INSERT or COPY put into the table to a counter row and notifies the new total, and the
/// server delivers a notification to its listeners when (and only if) its transaction commits.
/// So a test waits for a row count committed by another process without polling the table.
class CommittedRows {
public:
    CommittedRows(const PostgresServer& pg, const std::string& table)
        : channel_(table + "_committed") {
        pg.psql("CREATE TABLE " + channel_ + " (n bigint NOT NULL); INSERT INTO " + channel_ +
                " VALUES (0)");
        pg.psql("CREATE FUNCTION " + channel_ +
                "() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE total bigint; BEGIN UPDATE " +
                channel_ +
                " SET n = n + (SELECT count(*) FROM new_rows) RETURNING n INTO total; "
                "PERFORM pg_notify('" +
                channel_ + "', total::text); RETURN NULL; END $$");
        pg.psql("CREATE TRIGGER " + channel_ + " AFTER INSERT ON " + table +
                " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION " +
                channel_ + "()");
        conn_ = PQconnectdb(pg.dsn().c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            error_ = PQerrorMessage(conn_);
            return;
        }
        PGresult* r = PQexec(conn_, ("LISTEN " + channel_).c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK) error_ = PQerrorMessage(conn_);
        PQclear(r);
    }
    ~CommittedRows() { PQfinish(conn_); }
    CommittedRows(const CommittedRows&) = delete;
    CommittedRows& operator=(const CommittedRows&) = delete;

    /// Empty while the listening connection works; otherwise what went wrong.
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    /// The most rows known committed so far.
    [[nodiscard]] long seen() const noexcept { return seen_; }

    /// Waits until at least `rows` rows are committed (true), or `timeout` passes or the
    /// connection fails (false).
    bool wait_for(long rows, std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (error_.empty()) {
            if (PQconsumeInput(conn_) == 0) {
                error_ = PQerrorMessage(conn_);
                break;
            }
            while (PGnotify* n = PQnotifies(conn_)) {
                seen_ = std::max(seen_, std::atol(n->extra));
                PQfreemem(n);
            }
            if (seen_ >= rows) return true;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{PQsocket(conn_), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
                error_ = std::string("poll: ") + std::strerror(errno);
        }
        return false;
    }

private:
    std::string channel_;
    PGconn* conn_ = nullptr;
    std::string error_;
    long seen_ = 0;
};

/// csv `in` -> postgres.write with `config` (after dsn).
std::string load_pipeline(const PostgresServer& pg, const std::string& in,
                          const std::string& config, const std::string& head = "") {
    return head + stage("in", "csv.read", "", "path = \"" + in + "\"") +
           stage("db", "postgres.write", "\"in\"", "dsn = '" + pg.dsn() + "'\n" + config);
}

TEST(PostgresRun, UpsertUpdatesByKeyWithTheLastRecordWinningAndReplaceEmptiesFirst) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
    pg.psql("INSERT INTO items VALUES (1, 'old', 1), (2, 'keep', 2)");
    test::TempDir dir;
    const std::string in =
        dir.write("in.csv", "id,name,qty\n1,new,10\n3,added,30\n3,added again,31\n");
    auto r = run_conveyor(
        {"run",
         dir.write("up.toml",
                   load_pipeline(pg, in, "table = \"items\"\nmode = \"upsert\"\nkey = [\"id\"]")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg.psql("SELECT * FROM items ORDER BY id"), "1|new|10\n2|keep|2\n3|added again|31\n");
    // Across commits and COPYs: 3000 records of 1000 keys, the last of each key wins.
    std::string updates = "id,name,qty\n";
    for (int i = 0; i < 3000; ++i)
        updates += std::to_string(i % 1000 + 10) + ",v" + std::to_string(i) + "," +
                   std::to_string(i + 1) + "\n";
    r = run_conveyor(
        {"run",
         dir.write(
             "up2.toml",
             load_pipeline(
                 pg, dir.write("updates.csv", updates),
                 "table = \"items\"\nmode = \"upsert\"\nkey = [\"id\"]\ncommit_interval = 700",
                 "[global]\nexecutor = \"channel\"\ncheckpoint_interval = 700\n")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg.psql("SELECT count(*), min(qty), max(qty) FROM items WHERE id >= 10"),
              "1000|2001|3000\n");
    EXPECT_EQ(pg.psql("SELECT name FROM items WHERE id = 10"), "v2000\n");

    r = run_conveyor(
        {"run",
         dir.write("replace.toml", load_pipeline(pg, in,
                                                 "table = \"items2\"\nmode = \"replace\"\n"
                                                 "create_table = true")),
         "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_conveyor({"run", dir.file("replace.toml"), "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg.psql("SELECT * FROM items2 ORDER BY id, qty"),
              "1|new|10\n3|added|30\n3|added again|31\n");
    EXPECT_EQ(pg.psql("SELECT data_type FROM information_schema.columns WHERE table_name = "
                      "'items2' ORDER BY ordinal_position"),
              "bigint\ntext\nbigint\n");
}

TEST(PostgresRun, ARejectedRowIsDeadLetteredWithTheServersMessageWhileTheRestCommit) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE orders (id int PRIMARY KEY, qty int CHECK (qty > 0))");
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id,qty\n1,5\n2,-1\n3,seven\n4,8\n1,9\n5,2\n");
    auto r = run_conveyor(
        {"run",
         dir.write("p.toml",
                   load_pipeline(pg, in, "table = \"orders\"",
                                 "[error_handling]\nstrategy = \"continue\"\ndead_letter_queue = "
                                 "{ enabled = true, path = \"" +
                                     dir.file("failed.jsonl") + "\" }\n")),
         "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(pg.psql("SELECT * FROM orders ORDER BY id"), "1|5\n4|8\n5|2\n");
    const std::string dead = test::read_file(dir.file("failed.jsonl"));
    EXPECT_THAT(dead, HasSubstr("orders_qty_check"));
    EXPECT_THAT(dead, HasSubstr("invalid input syntax for type integer"));
    EXPECT_THAT(dead, HasSubstr("duplicate key value violates unique constraint"));
    EXPECT_THAT(dead, HasSubstr("\"id\":2"));

    // Many rows in small batches (channel: 100 a batch), a commit every 1000: every 700th
    // refused, wherever it falls in a COPY.
    pg.psql("TRUNCATE orders");
    std::string many = "id,qty\n";
    for (int i = 1; i <= 5000; ++i)
        many += std::to_string(i) + "," + (i % 700 == 0 ? "-1" : std::to_string(i)) + "\n";
    r = run_conveyor(
        {"run",
         dir.write("many.toml",
                   load_pipeline(pg, dir.write("many.csv", many),
                                 "table = \"orders\"\ncommit_interval = 1000",
                                 "[global]\nexecutor = \"channel\"\ncheckpoint_interval = 1000\n"
                                 "[error_handling]\nstrategy = \"continue\"\n")),
         "-q"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(pg.psql("SELECT count(*), sum(id) FROM orders"), "4993|12482900\n");

    // Under the default strategy the first rejected row stops the run and nothing commits.
    pg.psql("TRUNCATE orders");
    r = run_conveyor(
        {"run", dir.write("stop.toml", load_pipeline(pg, in, "table = \"orders\"")), "-q"});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("orders_qty_check"));
    EXPECT_EQ(pg.psql("SELECT count(*) FROM orders"), "0\n");
}

TEST(PostgresRun, AKilledLoadResumesWithEveryRowExactlyOnce) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE t (id int, name text)");
    test::TempDir dir;
    constexpr int kRows = 400000;
    std::string csv = "id,name\n";
    for (int i = 1; i <= kRows; ++i)
        csv += std::to_string(i) + ",name " + std::to_string(i) + "\n";
    const std::string in = dir.write("in.csv", csv);
    dir.write("p.toml", load_pipeline(pg, in, "table = \"t\"\ncommit_interval = 1000",
                                      "[global]\ncheckpoint_interval = 1000\n"));
    CommittedRows committed(pg, "t");
    ASSERT_EQ(committed.error(), "");
    test::ProcessOptions o;
    o.cwd = dir.path();
    int kills = 0;
    // kill -9 twice, then SIGINT (a batch run stopped by a signal commits nothing more).
    for (const auto& [at, sig] :
         {std::pair{20000, SIGKILL}, std::pair{150000, SIGKILL}, std::pair{250000, SIGINT}}) {
        auto child = test::spawn_conveyor(
            kills == 0 ? std::vector<std::string>{"run", "p.toml", "-q"}
                       : std::vector<std::string>{"run", "p.toml", "-q", "--resume"},
            o);
        // Interrupted once the table holds `at` rows (committed at checkpoints).
        ASSERT_TRUE(committed.wait_for(at, std::chrono::seconds(60)))
            << "the table did not reach " << at << " committed rows within 60 s (saw "
            << committed.seen() << ") " << committed.error();
        child->signal(sig);
        EXPECT_EQ(child->wait().exit_code, sig == SIGKILL ? 128 + SIGKILL : 130);
        ++kills;
        EXPECT_LT(std::stoi(pg.psql("SELECT count(*) FROM t")), kRows) << "stopped too late";
    }
    auto r = run_conveyor({"run", "p.toml", "-q", "--resume"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg.psql("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t"),
              "400000|400000|1|400000\n");
    EXPECT_EQ(pg.psql("SELECT count(*) FROM t WHERE name <> 'name ' || id"), "0\n");
}

TEST(PostgresRun, ConnectionAuthenticationAndMissingTableErrorsHaveTheirExitCodes) {
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE present (id int)");
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id\n1\n");
    auto pipeline = [&](const std::string& dsn, const std::string& table) {
        return stage("in", "csv.read", "", "path = \"" + in + "\"") +
               stage("db", "postgres.write", "\"in\"",
                     "dsn = '" + dsn + "'\ntable = \"" + table + "\"");
    };
    // A wrong password: a config error naming the host, never the password.
    const std::string wrong = pg.password_dsn("not-the-Pw");
    auto r =
        run_conveyor({"validate", "--connect", dir.write("auth.toml", pipeline(wrong, "present"))});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("password authentication failed"));
    EXPECT_THAT(r.err, HasSubstr("127.0.0.1:" + std::to_string(pg.port())));
    EXPECT_THAT(r.err, Not(HasSubstr("not-the-Pw")));
    r = run_conveyor({"run", dir.file("auth.toml"), "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr("not-the-Pw")));

    // The right password, a missing table: 78 from validate --connect, before anything runs.
    const std::string right = pg.password_dsn(PostgresServer::kPassword);
    r = run_conveyor(
        {"validate", "--connect", dir.write("missing.toml", pipeline(right, "absent"))});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("table 'absent' does not exist"));
    EXPECT_THAT(r.err, Not(HasSubstr(PostgresServer::kPassword)));
    r = run_conveyor(
        {"validate", "--connect", dir.write("ok.toml", pipeline(pg.dsn(), "present"))});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Without --connect, validate touches no database.
    r = run_conveyor({"validate", dir.file("missing.toml")});
    EXPECT_EQ(r.exit_code, 0) << r.err;

    // Nobody listening: a temporary failure (75) naming the host.
    const std::string nowhere = "host=127.0.0.1 port=1 user=x password=hunter2 dbname=x";
    r = run_conveyor({"run", dir.write("down.toml", pipeline(nowhere, "present")), "-q"});
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
    EXPECT_THAT(r.err, HasSubstr("stage 'db'"));
    EXPECT_THAT(r.err, Not(HasSubstr("hunter2")));
    r = run_conveyor({"validate", "--connect", dir.file("down.toml")});
    EXPECT_EQ(r.exit_code, 75) << r.err;

    // A connection string libpq cannot read: 78, without the pieces libpq quotes from it.
    r = run_conveyor(
        {"run", dir.write("bad.toml", pipeline("host=127.0.0.1 password=pass word", "present")),
         "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("malformed dsn: missing \"=\""));
    EXPECT_THAT(r.err, Not(HasSubstr("word")));
}

TEST(PostgresRun, ValidateConnectChecksTheRolesPrivilegesAsTheRunNeedsThem) {
    // A role that may connect but not write: validate --connect passed and the run then failed
    // at its first COPY with "permission denied". Now validate says which privilege is missing.
    PostgresServer pg;
    ASSERT_EQ(pg.error(), "");
    pg.psql("CREATE TABLE owned (id int PRIMARY KEY)");
    test::TempDir dir;
    const std::string in = dir.write("in.csv", "id\n1\n");
    const std::string as_pw = pg.password_dsn(PostgresServer::kPassword);
    auto pipeline = [&](const std::string& config) {
        return stage("in", "csv.read", "", "path = \"" + in + "\"") +
               stage("db", "postgres.write", "\"in\"", "dsn = '" + as_pw + "'\n" + config);
    };
    const std::string append = dir.write("append.toml", pipeline("table = \"owned\""));
    auto r = run_conveyor({"validate", "--connect", append});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("role 'conveyor_pw' may not INSERT on table 'owned'"));
    EXPECT_THAT(r.err, HasSubstr("stage 'db'"));
    EXPECT_EQ(run_conveyor({"run", append, "-q"}).exit_code, 78) << "as the run finds";

    pg.psql("GRANT INSERT ON owned TO conveyor_pw");
    r = run_conveyor({"validate", "--connect", append});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("may not create the progress table 'conveyor_progress'"));
    // Without checkpoint commits no progress table is needed; upsert also updates.
    EXPECT_EQ(run_conveyor({"validate", "--connect",
                            dir.write("end.toml", pipeline("table = \"owned\"\ncommit = \"end\""))})
                  .exit_code,
              0);
    r = run_conveyor(
        {"validate", "--connect",
         dir.write("upsert.toml", pipeline("table = \"owned\"\ncommit = \"end\"\nmode = "
                                           "\"upsert\"\nkey = [\"id\"]"))});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("may not UPDATE on table 'owned'"));
    pg.psql("CREATE TABLE conveyor_progress (sink text PRIMARY KEY, run text NOT NULL, records "
            "bigint NOT NULL, updated_at timestamptz NOT NULL)");
    pg.psql("GRANT SELECT, INSERT, UPDATE ON conveyor_progress TO conveyor_pw");
    r = run_conveyor({"validate", "--connect", append});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run_conveyor({"run", append, "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg.psql("SELECT count(*) FROM owned"), "1\n");
}

} // namespace
} // namespace conveyor
