// postgres.write with many rows the server rejects: the stage's counts add up (in = out +
// dead-lettered) although the rejections are learnt at the end of the load, after the pushes
// that took the rows.

#include "support/postgres_server.hpp"
#include "support/process.hpp"

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

} // namespace
} // namespace conveyor
