// What a new user meets loading and reading PostgreSQL (the database round): where in a query
// the server found its error, the types create_table picks for what it is given. One server
// for the suite (tests/support/postgres_server), each test with tables of its own.

#include "support/postgres_server.hpp"
#include "support/process.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>

namespace conveyor {
namespace {

using test::PostgresServer;
using test::run_conveyor;
using ::testing::HasSubstr;

std::string stage(const std::string& id, const std::string& function, const std::string& inputs,
                  const std::string& config) {
    return "[[stages]]\nid = \"" + id + "\"\nfunction = \"" + function + "\"\ninputs = [" + inputs +
           "]\n[stages.config]\n" + config + "\n";
}

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

} // namespace
} // namespace conveyor
