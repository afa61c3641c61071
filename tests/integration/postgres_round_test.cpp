// What a new user meets loading and reading PostgreSQL (the database round): where in a query
// the server found its error, the types create_table picks for what it is given. One server
// for the suite (tests/support/postgres_server), each test with tables of its own.

#include "support/pipelines.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace conveyor {
namespace {

using test::numbered_csv;
using test::PostgresServer;
using test::run_conveyor;
using test::stage;
using ::testing::HasSubstr;

class PostgresRound : public ::testing::Test {
protected:
    static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { ASSERT_EQ(server_->error(), ""); }

    static const PostgresServer& pg() { return *server_; }
    static std::string dsn() { return "dsn = '" + server_->dsn() + "'\n"; }

    /// postgres.read of `query` (TOML text of the option) -> json.write into `out`.
    std::string read_pipeline(const std::string& query, const std::string& out) {
        return dir_.write("read.toml",
                          stage("db", "postgres.read", "", dsn() + "query = " + query) +
                              stage("save", "json.write", "\"db\"", "path = \"" + out + "\""));
    }

    test::TempDir dir_;

private:
    static inline std::unique_ptr<PostgresServer> server_;
};

TEST_F(PostgresRound, AQueryErrorSaysWhereInTheQueryItIs) {
    // The server's position counts from the start of the DECLARE conveyor sends, so it was
    // left out and 'syntax error at or near "id"' did not say which id of the query.
    pg().psql("CREATE TABLE pos_t (id int, name text)");
    const std::string out = dir_.file("out.jsonl");
    auto r = run_conveyor(
        {"run", read_pipeline("\"SELECT id, name FROM pos_t wher id > 0\"", out), "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("syntax error at or near \"id\" (SQLSTATE 42601) at line 1, "
                                 "column 33 of the query: \"id > 0\""));
    // Lines and columns of a multi-line query, in characters ('é' is one).
    r = run_conveyor({"run",
                      read_pipeline("'''\nSELECT id, 'é' AS e,\n       nosuch FROM pos_t'''", out),
                      "-q"});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("column \"nosuch\" does not exist (SQLSTATE 42703) at line 2, "
                                 "column 8 of the query: \"nosuch FROM pos_t\""));
    // validate --connect says the same.
    r = run_conveyor({"validate", "--connect", read_pipeline("\"SELECT nosuch FROM pos_t\"", out)});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("at line 1, column 8 of the query: \"nosuch FROM pos_t\""));
}

TEST_F(PostgresRound, CreateTableGivesNumberColumnsThatHoldTheFirstRecordsNumbers) {
    // The first non-null value decided: a 20-digit id went into a double precision column
    // (12345678901234567890 stored as 1.2345678901234567e+19), and a column whose first value
    // was 1 became bigint, refusing the 2.5 and the 20-digit id of the records after it.
    const std::string in = dir_.write("in.jsonl", R"({"a":1,"b":1,"c":"x","d":12345678901234567890}
{"a":2.5,"b":12345678901234567890,"c":"y","d":1.5}
{"a":3,"b":-9223372036854775809,"c":null,"d":null}
)");
    auto r = run_conveyor(
        {"run",
         dir_.write("load.toml",
                    stage("in", "json.read", "", "path = \"" + in + "\"") +
                        stage("db", "postgres.write", "\"in\"",
                              dsn() + "table = \"created_t\"\ncreate_table = true\ncommit = "
                                      "\"end\"")),
         "-q"},
        {.cwd = dir_.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg().psql("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = 'created_t'::regclass AND attnum > 0 ORDER BY attnum"),
              "a|double precision\nb|numeric\nc|text\nd|numeric\n");
    EXPECT_EQ(pg().psql("SELECT * FROM created_t ORDER BY a"),
              "1|1|x|12345678901234567890\n2.5|12345678901234567890|y|1.5\n"
              "3|-9223372036854775809||\n");
}

TEST_F(PostgresRound, ABooleanGoesIntoATextColumnAsTrueOrFalse) {
    // COPY got PostgreSQL's t and f, so JSON true landed in a text column as "t".
    pg().psql("CREATE TABLE bools_t (note text, ok boolean, flags text[], bools boolean[])");
    const std::string in =
        dir_.write("in.jsonl", R"({"note":true,"ok":true,"flags":[true,false],"bools":[false]}
{"note":false,"ok":false,"flags":[],"bools":[true,null]}
)");
    auto r = run_conveyor(
        {"run",
         dir_.write("load.toml", stage("in", "json.read", "", "path = \"" + in + "\"") +
                                     stage("db", "postgres.write", "\"in\"",
                                           dsn() + "table = \"bools_t\"\ncommit = \"end\"")),
         "-q"},
        {.cwd = dir_.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg().psql("SELECT note, ok, flags, bools FROM bools_t ORDER BY note DESC"),
              "true|t|{true,false}|{f}\nfalse|f|{}|{t,NULL}\n");
}

TEST_F(PostgresRound, AnIntegralNumberGoesIntoAnIntegerColumn) {
    // 1000.0 read from JSON, or computed (amount * 100 is a double), was sent as written and
    // an integer column refused it: 'invalid input syntax for type bigint'.
    pg().psql("CREATE TABLE ints_t (id int, qty smallint, amt bigint, note text)");
    const std::string in = dir_.write("in.jsonl", R"({"id":9.0,"qty":-7.00,"amt":1000.0,"note":1.0}
{"id":1.5,"qty":1,"amt":1,"note":2.0}
{"id":3,"qty":2,"amt":12345678901234567890,"note":3.0}
)");
    auto r = run_conveyor(
        {"run",
         dir_.write("load.toml",
                    "[error_handling]\nstrategy = \"continue\"\n" +
                        stage("in", "json.read", "", "path = \"" + in + "\"") +
                        stage("x100", "map.apply", "\"in\"", "columns = { amt = \"amt * 100\" }") +
                        stage("db", "postgres.write", "\"x100\"",
                              dsn() + "table = \"ints_t\"\ncommit = \"end\"")),
         "-q"},
        {.cwd = dir_.path()});
    // What has a fraction, or is beyond the column's range, is still refused.
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, HasSubstr("invalid input syntax for type integer (column id)"));
    EXPECT_THAT(r.err, HasSubstr("out of range"));
    EXPECT_EQ(pg().psql("SELECT * FROM ints_t"), "9|-7|100000|1.0\n");
}

TEST_F(PostgresRound, AnOffsetGoesIntoATimestampColumnAsUtcAndYearsPast9999ReadBackAsIso8601) {
    // A timestamp (without time zone) column dropped the offset: 03:04:05+02:00 was stored as
    // 03:04:05. And a timestamptz of year 10000 came back as the server's text.
    pg().psql("CREATE TABLE times_t (id int, t timestamp, tz timestamptz)");
    const std::string in =
        dir_.write("in.jsonl",
                   R"({"id":1,"t":"2024-01-02T03:04:05+02:00","tz":"10000-01-02T03:04:05Z"}
{"id":2,"t":"2024-01-02 03:04:05","tz":"2024-01-02T03:04:05-01:30"}
)");
    auto r = run_conveyor(
        {"run",
         dir_.write("load.toml", stage("in", "json.read", "", "path = \"" + in + "\"") +
                                     stage("db", "postgres.write", "\"in\"",
                                           dsn() + "table = \"times_t\"\ncommit = \"end\"")),
         "-q"},
        {.cwd = dir_.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(pg().psql("SELECT id, t, tz AT TIME ZONE 'UTC' FROM times_t ORDER BY id"),
              "1|2024-01-02 01:04:05|10000-01-02 03:04:05\n"
              "2|2024-01-02 03:04:05|2024-01-02 04:34:05\n");
    const std::string out = dir_.file("out.jsonl");
    r = run_conveyor({"run", read_pipeline("\"SELECT * FROM times_t ORDER BY id\"", out), "-q"},
                     {.cwd = dir_.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out),
              "{\"id\":1,\"t\":\"2024-01-02T01:04:05\",\"tz\":\"10000-01-02T03:04:05Z\"}\n"
              "{\"id\":2,\"t\":\"2024-01-02T03:04:05\",\"tz\":\"2024-01-02T04:34:05Z\"}\n");
}

TEST_F(PostgresRound, ASslModeTheServerCannotMeetIsTheConfigsToChange) {
    // sslmode=require against a server without SSL exited 75 ("try again later"), which no
    // retry mends.
    const std::string out = dir_.file("out.jsonl");
    const std::string p = dir_.write(
        "ssl.toml", stage("db", "postgres.read", "",
                          "dsn = '" + pg().dsn() + " sslmode=require'\nquery = \"SELECT 1\"") +
                        stage("save", "json.write", "\"db\"", "path = \"" + out + "\""));
    auto r = run_conveyor({"run", p, "-q"}, {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("server does not support SSL, but SSL was required"));
}

TEST_F(PostgresRound, AColumnNameTheResultRepeatsGetsASuffixAsInACsvHeader) {
    // "SELECT 1 AS a, 2 AS a" gave records {"a":1,"a":2}: JSON with a repeated key, whose
    // readers keep one of the two values.
    const std::string out = dir_.file("out.jsonl");
    auto r = run_conveyor({"run", read_pipeline("'SELECT 1 AS a, 2 AS a, 3 AS a_2, 4'", out), "-q"},
                          {.cwd = dir_.path()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(test::read_file(out), "{\"a\":1,\"a_3\":2,\"a_2\":3,\"?column?\":4}\n");
}

TEST_F(PostgresRound, AReadOnlyDatabaseIsAnOutputThatCannotBeWritten) {
    // A standby, or a role or database whose transactions are read-only by default, refuses
    // the COPY with SQLSTATE 25006, which exited 1 (a failed stage) rather than 73.
    pg().psql("CREATE TABLE ro_t (id int); CREATE ROLE ro_user LOGIN; "
              "ALTER ROLE ro_user SET default_transaction_read_only = on; "
              "GRANT SELECT, INSERT ON ro_t TO ro_user");
    const std::string in = dir_.write("in.jsonl", "{\"id\":1}\n");
    auto r = run_conveyor(
        {"run",
         dir_.write("load.toml",
                    stage("in", "json.read", "", "path = \"" + in + "\"") +
                        stage("db", "postgres.write", "\"in\"",
                              "dsn = 'host=127.0.0.1 port=" + std::to_string(pg().port()) +
                                  " user=ro_user dbname=" + PostgresServer::kDatabase +
                                  "'\ntable = \"ro_t\"\ncommit = \"end\"")),
         "-q"},
        {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 73) << r.err;
    EXPECT_THAT(r.err, HasSubstr("read-only transaction (SQLSTATE 25006)"));
    EXPECT_EQ(pg().psql("SELECT count(*) FROM ro_t"), "0\n");
}

TEST_F(PostgresRound, ParamsThatDoNotFitTheQueryAreTheConfigsToChange) {
    // One value for $1 and $2 was a protocol violation, exit 75 (temporary: retry later), and a
    // param not of its type exited 65 (bad input data); the pipeline file has to change.
    pg().psql("CREATE TABLE params_t (id int, qty int); INSERT INTO params_t VALUES (1, 0)");
    const std::string out = dir_.file("out.jsonl");
    auto read = [&](const std::string& params) {
        return dir_.write("read.toml",
                          stage("db", "postgres.read", "",
                                dsn() +
                                    "query = \"SELECT id / qty AS x FROM params_t WHERE id = $1 "
                                    "AND qty = $2\"\nparams = " +
                                    params) +
                              stage("save", "json.write", "\"db\"", "path = \"" + out + "\""));
    };
    auto r = run_conveyor({"run", read("[1]"), "-q"}, {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("bind message supplies 1 parameters"));
    r = run_conveyor({"run", read("[\"one\", 0]"), "-q"}, {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_THAT(r.err, HasSubstr("invalid input syntax for type integer (SQLSTATE 22P02) (in "
                                 "'query' or its 'params')"));
    r = run_conveyor({"validate", "--connect", read("[1]")}, {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 78) << r.err;
    // A row the query cannot compute is still bad data.
    r = run_conveyor({"run", read("[1, 0]"), "-q"}, {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("division by zero"));
}

/// A TCP listener on 127.0.0.1 that never accepts, so never answers: a connection to it is
/// established by the kernel and then waits. readable() says a client connected.
class SilentListener {
public:
    SilentListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            ADD_FAILURE() << "listener: " << std::strerror(errno);
        port_ = ntohs(a.sin_port);
    }
    ~SilentListener() { ::close(fd_); }
    SilentListener(const SilentListener&) = delete;
    SilentListener& operator=(const SilentListener&) = delete;
    [[nodiscard]] int port() const noexcept { return port_; }
    /// Waits until a client has connected (true) or `ms` pass.
    bool connected(int ms) const {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, ms) == 1;
    }

private:
    int fd_ = -1;
    int port_ = 0;
};

TEST_F(PostgresRound, AServerThatNeverAnswersIsGivenUpAndAStopEndsTheWait) {
    // libpq waits for a server's answer without end when the dsn sets no connect_timeout, and a
    // stop in that wait went unanswered: `timeout 30 conveyor run` was still there at 30 s.
    const std::string in = dir_.write("in.jsonl", "{\"id\":1}\n");
    auto pipeline = [&](const SilentListener& silent, const std::string& extra) {
        return dir_.write("load.toml",
                          stage("in", "json.read", "", "path = \"" + in + "\"") +
                              stage("db", "postgres.write", "\"in\"",
                                    "dsn = 'host=127.0.0.1 port=" + std::to_string(silent.port()) +
                                        " user=x dbname=y" + extra + "'\ntable = \"t\""));
    };
    SilentListener first;
    auto r =
        run_conveyor({"run", pipeline(first, " connect_timeout=2"), "-q"}, {.cwd = dir_.path()});
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cannot connect: no answer within 2 s"));

    // Another listener, so that the connection it sees is this run's.
    SilentListener silent;
    auto run = test::spawn_conveyor({"run", pipeline(silent, ""), "-q"}, {.cwd = dir_.path()});
    ASSERT_TRUE(silent.connected(30000)) << "the run never connected";
    const auto signalled = std::chrono::steady_clock::now();
    run->signal(SIGTERM);
    const test::ProcessResult stopped = run->wait(std::chrono::seconds(20));
    EXPECT_EQ(stopped.exit_code, 143) << stopped.err;
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(5));
}

TEST_F(PostgresRound, AFailedAppendIsNotAppendedAgainByItsRerun) {
    // A load that failed at record 5000 kept the checkpoints it had committed (as documented),
    // but its journal cannot continue it: `run --resume` (what the end of the failed run
    // suggests) started over and appended those rows a second time.
    pg().psql("CREATE TABLE rerun_t (id int, qty int)");
    const std::string in = dir_.write("in.csv", numbered_csv(6000, 5000));
    const std::string pipeline =
        dir_.write("load.toml", "[global]\ncheckpoint_interval = 1000\n" +
                                    stage("in", "csv.read", "", "path = \"" + in + "\"") +
                                    stage("db", "postgres.write", "\"in\"",
                                          dsn() + "table = \"rerun_t\"\ncommit_interval = 1000"));
    auto r = run_conveyor({"run", pipeline, "-q"}, {.cwd = dir_.path()});
    ASSERT_EQ(r.exit_code, 65) << r.err;
    const std::string committed = pg().psql("SELECT count(*) FROM rerun_t");
    ASSERT_NE(committed, "0\n");
    // The data fixed, the run again: refused, nothing added.
    dir_.write("in.csv", numbered_csv(6000, 0));
    for (const char* resume : {"--resume", "-q"}) {
        r = run_conveyor({"run", pipeline, "-q", resume}, {.cwd = dir_.path()});
        EXPECT_EQ(r.exit_code, 78) << r.err;
        EXPECT_THAT(r.err, HasSubstr("appending them again would add them twice"));
        EXPECT_EQ(pg().psql("SELECT count(*) FROM rerun_t"), committed);
    }
    // Once those rows are gone (or with upsert or replace) it runs, and a finished run may be
    // followed by another append.
    pg().psql("TRUNCATE rerun_t; DELETE FROM conveyor_progress WHERE sink = 'rerun_t:db'");
    for (int run = 1; run <= 2; ++run) {
        r = run_conveyor({"run", pipeline, "-q"}, {.cwd = dir_.path()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(pg().psql("SELECT count(*), count(DISTINCT id) FROM rerun_t"),
                  std::to_string(6000 * run) + "|6000\n");
    }
}

} // namespace
} // namespace conveyor
