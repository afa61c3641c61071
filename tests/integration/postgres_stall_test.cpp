// A PostgreSQL server that stops answering once connected: a statement waiting for a lock
// another session holds (as a stopped backend or a lost network would leave it), in a query
// and in the middle of a COPY. The run gives up
// after the stage's `timeout` (exit 75) and a stop ends it at once (143), committing nothing.

#include "support/pipelines.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace conveyor {
namespace {

using test::PostgresServer;
using test::run_conveyor;
using test::stage;
using ::testing::HasSubstr;

/// A statement that waits for a lock another session holds: it reads a file first, whose open
/// is an event (inotify IN_OPEN), so that the test knows when the server is in it, then waits
/// for an advisory lock a psql of the test holds until release().
class Stall {
public:
    Stall(const test::TempDir& dir, const PostgresServer& pg) : path_(dir.file("mark")) {
        // The server runs as another user: it must reach the file.
        ::chmod(dir.path().c_str(), 0755);
        dir.write("mark", "x");
        ::chmod(path_.c_str(), 0644);
        pg.psql("CREATE OR REPLACE FUNCTION conveyor_stall(path text) RETURNS int LANGUAGE "
                "plpgsql AS $$ BEGIN PERFORM pg_read_file(path); PERFORM "
                "pg_advisory_lock(4242); RETURN 1; END $$");
        holder_ = std::make_unique<test::Child>(
            std::vector<std::string>{"/usr/bin/psql", "-X", "-A", "-t", "-q", "-h", "127.0.0.1",
                                     "-p", std::to_string(pg.port()), "-U", PostgresServer::kUser,
                                     "-d", PostgresServer::kDatabase});
        holder_->write_stdin("SELECT pg_advisory_lock(4242); SELECT 'locked';\n");
        for (;;) {
            const auto line = holder_->read_line(std::chrono::seconds(30));
            EXPECT_TRUE(line.has_value()) << "the lock was never taken";
            if (!line || *line == "locked") break;
        }
        watch_ = ::inotify_init1(IN_CLOEXEC);
        EXPECT_GE(::inotify_add_watch(watch_, path_.c_str(), IN_OPEN), 0) << std::strerror(errno);
    }
    ~Stall() {
        release();
        ::close(watch_);
    }
    Stall(const Stall&) = delete;
    Stall& operator=(const Stall&) = delete;

    /// SQL that waits until release().
    [[nodiscard]] std::string call() const { return "conveyor_stall('" + path_ + "')"; }
    /// Whether the server came to the statement (and so waits in it) within `ms`.
    bool reached(int ms) const {
        pollfd p{watch_, POLLIN, 0};
        return ::poll(&p, 1, ms) == 1;
    }
    /// The holder's session ends, and with it its lock.
    void release() {
        if (!holder_) return;
        holder_->close_stdin();
        holder_->wait();
        holder_.reset();
    }

private:
    std::string path_;
    std::unique_ptr<test::Child> holder_;
    int watch_ = -1;
};

class PostgresStall : public ::testing::Test {
protected:
    static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override { ASSERT_EQ(server_->error(), ""); }

    static const PostgresServer& pg() { return *server_; }
    static std::string dsn() { return "dsn = '" + server_->dsn() + "'\n"; }

    /// json.read of 3 records -> postgres.write into `table`, whose rows wait for `stall`.
    std::string load_pipeline(const std::string& table, const Stall& stall,
                              const std::string& extra) {
        pg().psql("CREATE TABLE " + table + " (id int); CREATE FUNCTION " + table +
                  "_stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM " + stall.call() +
                  "; RETURN NEW; END $$; CREATE TRIGGER stall BEFORE INSERT ON " + table +
                  " FOR EACH ROW EXECUTE FUNCTION " + table + "_stall()");
        const std::string in = dir_.write("in.jsonl", "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
        return dir_.write("load.toml", stage("in", "json.read", "", "path = \"" + in + "\"") +
                                           stage("db", "postgres.write", "\"in\"",
                                                 dsn() + "table = \"" + table + "\"\n" + extra));
    }

    /// postgres.read of a query that waits for `stall` -> json.write into out.jsonl.
    std::string read_pipeline(const Stall& stall, const std::string& extra) {
        return dir_.write("read.toml",
                          stage("db", "postgres.read", "",
                                dsn() + "query = \"SELECT " + stall.call() + " AS id\"\n" + extra) +
                              stage("save", "json.write", "\"db\"", "path = \"out.jsonl\""));
    }

    test::TempDir dir_;

private:
    static inline std::unique_ptr<PostgresServer> server_;
};

TEST_F(PostgresStall, AServerThatStopsAnsweringMidCopyIsGivenUpAfterTheTimeout) {
    // Once connected, nothing timed a statement out: a server that stopped answering in the
    // middle of a COPY (a lock another session held, a stopped backend) kept the run waiting
    // for ever.
    Stall stall(dir_, pg());
    auto run =
        test::spawn_conveyor({"run", load_pipeline("stall_copy", stall, "timeout = \"2s\""), "-q"},
                             {.cwd = dir_.path()});
    ASSERT_TRUE(stall.reached(30000)) << "the server never reached the stall";
    const test::ProcessResult r = run->wait(std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_THAT(r.err, HasSubstr("stage 'db'"));
    EXPECT_THAT(r.err, HasSubstr("the server did not answer within 2 s (the stage's 'timeout'"));
    stall.release();
    EXPECT_EQ(pg().psql("SELECT count(*) FROM stall_copy"), "0\n");
}

TEST_F(PostgresStall, AQueryTheServerNeverAnswersIsGivenUpAfterTheTimeout) {
    Stall stall(dir_, pg());
    auto run = test::spawn_conveyor({"run", read_pipeline(stall, "timeout = 1.5"), "-q"},
                                    {.cwd = dir_.path()});
    ASSERT_TRUE(stall.reached(30000)) << "the server never reached the stall";
    const test::ProcessResult r = run->wait(std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 75) << r.err;
    EXPECT_THAT(r.err, HasSubstr("the server did not answer within 1.5 s"));
    EXPECT_FALSE(test::file_exists(dir_.file("out.jsonl")));
}

TEST_F(PostgresStall, AStopWhileTheServerStallsMidCopyEndsTheRunAtOnceCommittingNothing) {
    // SIGTERM while the server did not answer was not seen until it answered.
    Stall stall(dir_, pg());
    auto run = test::spawn_conveyor({"run", load_pipeline("stop_copy", stall, ""), "-q"},
                                    {.cwd = dir_.path()});
    ASSERT_TRUE(stall.reached(30000)) << "the server never reached the stall";
    const auto signalled = std::chrono::steady_clock::now();
    run->signal(SIGTERM);
    const test::ProcessResult r = run->wait(std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 143) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(6));
    stall.release();
    EXPECT_EQ(pg().psql("SELECT count(*) FROM stop_copy"), "0\n");
}

TEST_F(PostgresStall, AStopWhileAQueryStallsEndsTheRunAtOnceWritingNothing) {
    Stall stall(dir_, pg());
    auto run = test::spawn_conveyor({"run", read_pipeline(stall, ""), "-q"}, {.cwd = dir_.path()});
    ASSERT_TRUE(stall.reached(30000)) << "the server never reached the stall";
    const auto signalled = std::chrono::steady_clock::now();
    run->signal(SIGINT);
    const test::ProcessResult r = run->wait(std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(6));
    EXPECT_FALSE(test::file_exists(dir_.file("out.jsonl")));
}

} // namespace
} // namespace conveyor
