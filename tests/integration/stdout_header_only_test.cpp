// A CSV input with a header and no rows: stdout.write's csv format prints the header line, as
// csv.write does, under every executor and with a limit; its table says there are no records.
// (The schema comes from csv.read's header when the stage opens.)

#include "support/pipelines.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

namespace conveyor {
namespace {

using test::stage_toml;

std::string header_only_to(const test::TempDir& dir, const std::string& executor,
                           const std::string& function, const std::string& config) {
    return "[global]\nexecutor = \"" + executor + "\"\n\n" +
           stage_toml("in", "csv.read", "", "path = \"" + dir.file("in.csv") + "\"") +
           stage_toml("out", function, "\"in\"", config);
}

TEST(StdoutHeaderOnly, CsvPrintsTheHeaderLineAsCsvWriteDoes) {
    test::TempDir dir;
    dir.write("in.csv", "id,name\n");
    for (const std::string executor : {"dag", "channel", "async"}) {
        for (const std::string config :
             {"format = \"csv\"", "format = \"csv\"\nlimit = 5", "format = \"csv\"\nlimit = 0"}) {
            auto r = test::run_conveyor(
                {"run", "-q",
                 dir.write("p.toml", header_only_to(dir, executor, "stdout.write", config))});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            EXPECT_EQ(r.out, "id,name\n") << executor << ": " << config;
        }
        auto w = test::run_conveyor(
            {"run", "-q",
             dir.write("w.toml", header_only_to(dir, executor, "csv.write", "path = \"-\""))});
        ASSERT_EQ(w.exit_code, 0) << w.err;
        EXPECT_EQ(w.out, "id,name\n") << executor;
    }
    auto t = test::run_conveyor(
        {"run", "-q",
         dir.write("t.toml", header_only_to(dir, "dag", "stdout.write", "format = \"table\""))});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_EQ(t.out, "(0 records)\n");
}

} // namespace
} // namespace conveyor
